package audit

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/go-openapi/strfmt"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"github.com/mlattest/mlattest/internal/rekorv1replay"
)

// v1TestLog is an in-process Rekor v1 log with a test key: it writes the
// answers a Rekor v1 server gives (tree heads, entries with inclusion
// proofs and SETs, consistency proofs between published sizes) as a
// recording served by rekorv1replay, so a test can publish several tree
// sizes, which no recorded public-good data has proofs between.
type v1TestLog struct {
	dir       string
	url       string
	signer    signature.Signer
	logID     string
	tm        root.TrustedMaterial
	tree      *testonly.Tree
	bodies    [][]byte
	published []uint64
	index     map[string][]string
}

const (
	v1TestHost = "rekor.test"
	v1TestTree = int64(42)
)

func newV1TestLog(t testing.TB) *v1TestLog {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signature.LoadECDSASignerVerifier(key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	id := sha256.Sum256(der)
	l := &v1TestLog{dir: t.TempDir(), signer: signer, logID: hex.EncodeToString(id[:]),
		tree: testonly.New(rfc6962.DefaultHasher), index: map[string][]string{}}
	tl := &root.TransparencyLog{BaseURL: "https://" + v1TestHost, ID: id[:], HashFunc: crypto.SHA256,
		PublicKey: &key.PublicKey, SignatureHashFunc: crypto.SHA256, ValidityPeriodStart: time.Unix(0, 0)}
	if l.tm, err = root.NewTrustedRoot(root.TrustedRootMediaType01, nil, nil, nil, map[string]*root.TransparencyLog{l.logID: tl}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rekorv1replay.Handler(l.dir))
	t.Cleanup(srv.Close)
	l.url = srv.URL
	return l
}

func (l *v1TestLog) entryID(i int) string {
	return fmt.Sprintf("%016x%x", v1TestTree, rfc6962.DefaultHasher.HashLeaf(l.bodies[i]))
}

// add appends entry bodies; indexKey, when set, lists them under that key
// of the index.
func (l *v1TestLog) add(indexKey string, bodies ...[]byte) {
	for _, b := range bodies {
		l.bodies = append(l.bodies, b)
		l.tree.AppendData(b)
		if indexKey != "" {
			l.index[indexKey] = append(l.index[indexKey], l.entryID(len(l.bodies)-1))
		}
	}
}

// treeHead signs a tree head for size with root hash.
func (l *v1TestLog) treeHead(t testing.TB, size uint64, hash []byte) string {
	t.Helper()
	raw, err := util.CreateAndSignCheckpoint(context.Background(), v1TestHost, v1TestTree, size, hash, l.signer)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// publish makes the current tree the log's: its tree head in log.json,
// every entry proven in it, and consistency proofs to it from every size
// published before. It returns the tree head.
func (l *v1TestLog) publish(t testing.TB) string {
	t.Helper()
	size := l.tree.Size()
	sth := l.treeHead(t, size, l.tree.Hash())
	rootHex := hex.EncodeToString(l.tree.Hash())
	treeID, isize := fmt.Sprint(v1TestTree), int64(size)
	write := func(name string, v any) {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(l.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("log.json", models.LogInfo{RootHash: &rootHex, SignedTreeHead: &sth, TreeID: &treeID, TreeSize: &isize})
	for i, body := range l.bodies {
		p, err := l.tree.InclusionProof(uint64(i), size)
		if err != nil {
			t.Fatal(err)
		}
		hashes := make([]string, len(p))
		for j, h := range p {
			hashes[j] = hex.EncodeToString(h)
		}
		b64, integrated, idx := base64.StdEncoding.EncodeToString(body), int64(1_700_000_000+i), int64(i)
		canonical, err := jsoncanonicalizer.Transform(must(json.Marshal(map[string]any{
			"body": b64, "integratedTime": integrated, "logID": l.logID, "logIndex": idx})))
		if err != nil {
			t.Fatal(err)
		}
		set, err := l.signer.SignMessage(bytes.NewReader(canonical))
		if err != nil {
			t.Fatal(err)
		}
		write("entries/"+l.entryID(i)+".json", models.LogEntry{l.entryID(i): {
			Body: b64, IntegratedTime: &integrated, LogID: &l.logID, LogIndex: &idx,
			Verification: &models.LogEntryAnonVerification{
				InclusionProof:       &models.InclusionProof{Checkpoint: &sth, Hashes: hashes, LogIndex: &idx, RootHash: &rootHex, TreeSize: &isize},
				SignedEntryTimestamp: strfmt.Base64(set),
			},
		}})
	}
	for _, old := range l.published {
		p, err := l.tree.ConsistencyProof(old, size)
		if err != nil {
			t.Fatal(err)
		}
		hashes := make([]string, len(p))
		for j, h := range p {
			hashes[j] = hex.EncodeToString(h)
		}
		write(fmt.Sprintf("proofs/%d-%d-%d.json", v1TestTree, old, size), models.ConsistencyProof{Hashes: hashes, RootHash: &rootHex})
	}
	write("index.json", l.index)
	l.published = append(l.published, size)
	return sth
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// realBodies are the canonicalized bodies of the recorded public-good entries.
func realBodies(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, c := range v1Cases {
		b := loadConformanceBundle(t, c.bundle)
		out = append(out, b.GetVerificationMaterial().GetTlogEntries()[0].GetCanonicalizedBody())
	}
	return out
}

func TestRekorV1Consistency(t *testing.T) {
	bodies := realBodies(t)
	l := newV1TestLog(t)
	l.add("", bodies[:3]...)
	sth3 := l.publish(t)
	l.add("", bodies[3:]...)
	sth7 := l.publish(t)
	r := openV1(t, l.url, l.tm)
	cp := func(raw string) *Checkpoint {
		c, err := r.VerifyCheckpoint([]byte(raw), nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cp3, cp7 := cp(sth3), cp(sth7)
	other := testonly.New(rfc6962.DefaultHasher)
	other.AppendData(bodies[3:6]...)
	forked3 := cp(l.treeHead(t, 3, other.Hash()))
	ctx := context.Background()
	if err := r.Consistency(ctx, cp3, cp7); err != nil {
		t.Fatalf("consistent tree heads: %v", err)
	}
	if err := r.Consistency(ctx, cp7, cp7); err != nil {
		t.Fatalf("same tree head: %v", err)
	}
	proof := filepath.Join(l.dir, "proofs", fmt.Sprintf("%d-3-7.json", v1TestTree))
	tests := []struct {
		name           string
		older, newer   *Checkpoint
		edit           func(t *testing.T)
		reason         string
		serverAnswered bool
	}{
		{"rolled back", cp7, cp3, nil, "smaller than the 7 seen before (rolled back)", false},
		{"forked at the same size", cp3, forked3, nil, "two different roots for tree size 3", false},
		{"forked history", forked3, cp7, nil, "does not verify", true},
		{"tampered proof", cp3, cp7, func(t *testing.T) {
			raw, _ := os.ReadFile(proof)
			var p models.ConsistencyProof
			json.Unmarshal(raw, &p)
			p.Hashes[0] = strings.Repeat("00", 32)
			os.WriteFile(proof, must(json.Marshal(p)), 0o644)
		}, "does not verify", true},
		{"no proof served", cp3, cp7, func(t *testing.T) { os.Remove(proof) }, "does not verify", true},
		{"another tree", cp3, &Checkpoint{Origin: v1TestHost + " - 43", Size: 7, Hash: cp7.Hash}, nil, "tree heads of two trees", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.edit != nil {
				tc.edit(t)
			}
			err := r.Consistency(ctx, tc.older, tc.newer)
			if !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("err %v, want ErrInconsistent: %q", err, tc.reason)
			}
		})
	}
}

// TestRekorV1BundleConsistency: a bundle issued with an older tree head is
// re-proven included in the log's current one, and its tree head proven
// consistent with it; a bundle whose tree head the log's history denies is
// refused.
func TestRekorV1BundleConsistency(t *testing.T) {
	bodies := realBodies(t)
	l := newV1TestLog(t)
	l.add("", bodies[:3]...)
	sth3 := l.publish(t)
	l.add("", bodies[3:]...)
	l.publish(t)
	other := testonly.New(rfc6962.DefaultHasher)
	other.AppendData(bodies[3:6]...)
	for name, tc := range map[string]struct {
		treeHead string
		want     error
	}{
		"consistent": {sth3, nil},
		"forked":     {l.treeHead(t, 3, other.Hash()), ErrInconsistent},
		"unsigned":   {strings.Replace(sth3, "\n3\n", "\n4\n", 1), ErrCheckpoint},
	} {
		t.Run(name, func(t *testing.T) {
			b := loadConformanceBundle(t, v1Cases[1].bundle) // bodies[1]
			tle := b.GetVerificationMaterial().GetTlogEntries()[0]
			tle.LogIndex = 1
			tle.InclusionProof.Checkpoint.Envelope = tc.treeHead
			be, err := openV1(t, l.url, l.tm).VerifyBundle(context.Background(), b)
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err == nil && (be.BundleCheckpoint.Size != 3 || be.Checkpoint.Size != 7) {
				t.Fatalf("tree heads %d, %d", be.BundleCheckpoint.Size, be.Checkpoint.Size)
			}
		})
	}
}

// TestRekorV1UnknownKind: an entry proven in the log but of a kind mlattest
// does not read is ErrEntry naming the kind, and Search lists it as
// unreadable beside the entries it can read.
func TestRekorV1UnknownKind(t *testing.T) {
	bodies := realBodies(t)
	l := newV1TestLog(t)
	l.add("stefanb@us.ibm.com", bodies[3])
	l.add("stefanb@us.ibm.com", []byte(`{"apiVersion":"0.0.1","kind":"helm","spec":{}}`), []byte(`{"apiVersion":"9.9.9","kind":"hashedrekord","spec":{}}`))
	l.publish(t)
	r := openV1(t, l.url, l.tm)
	for i, reason := range map[int64]string{1: `kind "helm"`, 2: `kind "hashedrekord"`} {
		_, _, err := r.EntryByIndex(context.Background(), i)
		if !errors.Is(err, ErrEntry) || !strings.Contains(err.Error(), reason) {
			t.Errorf("entry %d: err %v, want ErrEntry naming %s", i, err, reason)
		}
	}
	res, err := r.Search(context.Background(), Query{Subject: ibmIdentity})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matches) != 1 || res.Matches[0].Index != 0 || len(res.Unreadable) != 2 || res.Unreadable[0].Index != 1 || res.Unreadable[1].Index != 2 {
		t.Fatalf("matches %v unreadable %v", res.Matches, res.Unreadable)
	}
}

// TestRekorV1SearchForkedTreeHeads: a log whose current tree head and the
// tree head its entries are proven in have one size but different roots
// shows two histories: Search refuses it.
func TestRekorV1SearchForkedTreeHeads(t *testing.T) {
	bodies := realBodies(t)
	l := newV1TestLog(t)
	l.add(ibmIdentity, bodies[3:]...)
	l.publish(t)
	other := testonly.New(rfc6962.DefaultHasher)
	other.AppendData(bodies[:4]...)
	forked := l.treeHead(t, 4, other.Hash())
	p := filepath.Join(l.dir, "log.json")
	var li models.LogInfo
	json.Unmarshal(must(os.ReadFile(p)), &li)
	rootHex := hex.EncodeToString(other.Hash())
	li.SignedTreeHead, li.RootHash = &forked, &rootHex
	os.WriteFile(p, must(json.Marshal(li)), 0o644)
	_, err := openV1(t, l.url, l.tm).Search(context.Background(), Query{Subject: ibmIdentity})
	if !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), "different roots (forked)") {
		t.Fatalf("err %v", err)
	}
}
