// Package witnesstest writes what `witness run` signs, for tests: an
// in-toto Statement v0.1 carrying a witness attestation collection
// (environment, material, command-run and product attestors), in a bare
// DSSE envelope signed with an ECDSA key.
//
// The witness CLI cannot be installed here (its module is not served by the
// module proxy this project builds from), so tests that vary a step build
// its bytes from go-witness's structure, checked against an envelope
// go-witness itself signed (testdata/witness at the repository root,
// TestParseRecordedWitness): attestation.Collection and
// CollectionAttestation (name, attestations[type, attestation, starttime,
// endtime]), the attestors' JSON (material: path -> digest set; product:
// path -> {mime_type, digest}; command-run: cmd, exitcode; environment:
// os, hostname, username, variables), intoto.Statement v0.1 with subjects
// "<product type>/file:<path>", dsse.Envelope (payload, payloadType,
// signatures[keyid, sig]) and witness's key id (hex SHA-256 of the PEM
// public key). Digest sets list sha256, gitoid:sha256 and gitoid:sha1, as
// witness's default hashes do.
package witnesstest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"
)

// Step is one `witness run --step Name -- Command` as the collection
// records it.
type Step struct {
	Name      string
	RunID     string // recorded as MLATTEST_RUN_ID by the environment attestor; "" leaves it out
	Command   []string
	ExitCode  int
	Materials map[string][]byte // path -> content
	Products  map[string][]byte
	// NoCommandRun leaves the command-run attestor out.
	NoCommandRun bool
}

// DigestSet is witness's default digest set of content.
func DigestSet(content []byte) map[string]string {
	sum := sha256.Sum256(content)
	g := sha256.New()
	fmt.Fprintf(g, "blob %d\x00", len(content))
	g.Write(content)
	g1 := sha1.New()
	fmt.Fprintf(g1, "blob %d\x00", len(content))
	g1.Write(content)
	return map[string]string{
		"sha256":        hex.EncodeToString(sum[:]),
		"gitoid:sha256": "gitoid:blob:sha256:" + hex.EncodeToString(g.Sum(nil)),
		"gitoid:sha1":   "gitoid:blob:sha1:" + hex.EncodeToString(g1.Sum(nil)),
	}
}

type attestation struct {
	Type        string    `json:"type"`
	Attestation any       `json:"attestation"`
	StartTime   time.Time `json:"starttime"`
	EndTime     time.Time `json:"endtime"`
}

type product struct {
	MimeType string            `json:"mime_type"`
	Digest   map[string]string `json:"digest"`
}

// Payload is the statement witness signs for s.
func (s Step) Payload(t testing.TB) []byte {
	t.Helper()
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	vars := map[string]string{"PATH": "/usr/bin:/bin", "HOME": "/home/ci"}
	if s.RunID != "" {
		vars["MLATTEST_RUN_ID"] = s.RunID
	}
	mats := map[string]map[string]string{}
	for n, c := range s.Materials {
		mats[n] = DigestSet(c)
	}
	prods := map[string]product{}
	for n, c := range s.Products {
		prods[n] = product{MimeType: "application/octet-stream", Digest: DigestSet(c)}
	}
	atts := []attestation{
		{Type: "https://witness.dev/attestations/environment/v0.1", Attestation: map[string]any{
			"os": "linux", "hostname": "runner-1", "username": "ci", "variables": vars}},
		{Type: "https://witness.dev/attestations/material/v0.1", Attestation: mats},
	}
	if !s.NoCommandRun {
		atts = append(atts, attestation{Type: "https://witness.dev/attestations/command-run/v0.1", Attestation: map[string]any{
			"cmd": s.Command, "stdout": "done\n", "exitcode": s.ExitCode}})
	}
	atts = append(atts, attestation{Type: "https://witness.dev/attestations/product/v0.1", Attestation: prods})
	for i := range atts {
		atts[i].StartTime, atts[i].EndTime = start.Add(time.Duration(i)*time.Second), start.Add(time.Duration(i+1)*time.Second)
	}
	type subject struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	}
	subjects := []subject{}
	for _, n := range slices.Sorted(maps.Keys(prods)) {
		subjects = append(subjects, subject{Name: "https://witness.dev/attestations/product/v0.1/file:" + n, Digest: prods[n].Digest})
	}
	st := map[string]any{
		"_type":         "https://in-toto.io/Statement/v0.1",
		"subject":       subjects,
		"predicateType": "https://witness.testifysec.com/attestation-collection/v0.1",
		"predicate":     map[string]any{"name": s.Name, "attestations": atts},
	}
	out, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Envelope is go-witness's dsse.Envelope JSON.
type Envelope struct {
	Payload     []byte      `json:"payload"`
	PayloadType string      `json:"payloadType"`
	Signatures  []Signature `json:"signatures"`
}

// Signature is go-witness's dsse.Signature JSON.
type Signature struct {
	KeyID         string      `json:"keyid"`
	Sig           []byte      `json:"sig"`
	Certificate   []byte      `json:"certificate,omitempty"`
	Intermediates [][]byte    `json:"intermediates,omitempty"`
	Timestamps    []Timestamp `json:"timestamps,omitempty"`
}

// Timestamp is go-witness's dsse.SignatureTimestamp JSON ("tsp": an
// RFC 3161 timestamp token over the signature).
type Timestamp struct {
	Type string `json:"type"`
	Data []byte `json:"data"`
}

// KeyID is witness's key id of k: hex SHA-256 of its PEM public key.
func KeyID(t testing.TB, k *ecdsa.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return hex.EncodeToString(sum[:])
}

// Sign signs payload as witness's ECDSA signer does: ASN.1 signature over
// the SHA-256 of the DSSE pre-authentication encoding.
func Sign(t testing.TB, k *ecdsa.PrivateKey, payload []byte) Envelope {
	t.Helper()
	const pt = "application/vnd.in-toto+json"
	pae := fmt.Sprintf("DSSEv1 %d %s %d %s", len(pt), pt, len(payload), payload)
	sum := sha256.Sum256([]byte(pae))
	sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return Envelope{Payload: payload, PayloadType: pt, Signatures: []Signature{{KeyID: KeyID(t, &k.PublicKey), Sig: sig}}}
}

// JSON is the envelope as `witness run -o FILE` writes it.
func (e Envelope) JSON(t testing.TB) []byte {
	t.Helper()
	out, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
