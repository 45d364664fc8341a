package audit

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	rekornote "github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// entrySeeds are real Rekor v2 entries of the private stack's log.
func entrySeeds(t testing.TB) [][]byte {
	t.Helper()
	files, _ := filepath.Glob("testdata/entries/*.json")
	if len(files) == 0 {
		t.Fatal("no testdata/entries")
	}
	var seeds [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

func TestParseEntrySeeds(t *testing.T) {
	for _, b := range entrySeeds(t) {
		e, err := ParseEntry(7, b)
		if err != nil {
			t.Fatal(err)
		}
		s := e.Signers[0]
		if e.Kind != KindHashedRekord || e.Digest.Algorithm != "sha256" || len(e.Digest.Hex) != 64 || (s.Subject == "") == (s.KeyID == "") {
			t.Fatalf("%+v %+v", e, s)
		}
	}
}

func TestParseEntryRefuses(t *testing.T) {
	good := string(entrySeeds(t)[0])
	tests := map[string]string{
		"not json":               "{",
		"trailing data":          good + "{}",
		"api version":            `{"kind":"hashedrekord","apiVersion":"0.0.1","spec":{}}`,
		"kind without spec":      `{"kind":"hashedrekord","apiVersion":"0.0.2","spec":{}}`,
		"spec of the other kind": `{"kind":"dsse","apiVersion":"0.0.2","spec":{"hashedRekordV002":{}}}`,
		"digest algorithm":       `{"kind":"hashedrekord","apiVersion":"0.0.2","spec":{"hashedRekordV002":{"data":{"algorithm":"MD5","digest":"AAAA"}}}}`,
		"digest length":          `{"kind":"hashedrekord","apiVersion":"0.0.2","spec":{"hashedRekordV002":{"data":{"algorithm":"SHA2_256","digest":"AAAA"}}}}`,
		"no signature":           `{"kind":"dsse","apiVersion":"0.0.2","spec":{"dsseV002":{"payloadHash":{"algorithm":"SHA2_256","digest":"` + b64zero(32) + `"}}}}`,
		"bad certificate": `{"kind":"hashedrekord","apiVersion":"0.0.2","spec":{"hashedRekordV002":{"data":{"algorithm":"SHA2_256","digest":"` + b64zero(32) +
			`"},"signature":{"content":"AQ==","verifier":{"x509Certificate":{"rawBytes":"AQ=="}}}}}}`,
		"no verifier": `{"kind":"hashedrekord","apiVersion":"0.0.2","spec":{"hashedRekordV002":{"data":{"algorithm":"SHA2_256","digest":"` + b64zero(32) +
			`"},"signature":{"content":"AQ==","verifier":{}}}}}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseEntry(3, []byte(in)); err == nil || !bytes.Contains([]byte(err.Error()), []byte("unreadable log entry 3")) {
				t.Fatalf("err %v", err)
			}
		})
	}
}

func b64zero(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }

func FuzzParseEntry(f *testing.F) {
	for _, b := range entrySeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEntry(1, data)
		if err != nil {
			return
		}
		if len(e.Signers) == 0 || len(e.Digest.Hex) < 64 || len(e.LeafHash) != 32 {
			t.Fatalf("accepted %q as %+v", data, e)
		}
	})
}

// FuzzVerifyCheckpoint: any bytes; what verifies was signed by the key.
func FuzzVerifyCheckpoint(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	sv, err := signature.LoadECDSASignerVerifier(key, crypto.SHA256)
	if err != nil {
		f.Fatal(err)
	}
	ns, err := rekornote.NewNoteSigner(context.Background(), testOrigin, sv)
	if err != nil {
		f.Fatal(err)
	}
	signed, err := note.Sign(&note.Note{Text: string(log.Checkpoint{Origin: testOrigin, Size: 5, Hash: make([]byte, 32)}.Marshal())}, ns)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add([]byte(testOrigin + "\n5\nAAAA\n\n— " + testOrigin + " AAAA\n"))
	tm := trustedRootFor(f, &key.PublicKey)
	lg, err := Open("http://127.0.0.1:1", tm)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		cp, err := lg.VerifyCheckpoint(raw)
		if err != nil {
			return
		}
		if cp.Origin != testOrigin || len(cp.Hash) != 32 || !bytes.Equal(cp.Raw, raw) {
			t.Fatalf("accepted %q as %+v", raw, cp)
		}
	})
}

// FuzzBase64Needles: whatever surrounds s, the base64 encoding of the
// whole contains one of s's needles (a miss would hide an entry from search).
func FuzzBase64Needles(f *testing.F) {
	f.Add([]byte("alice@example.com"), []byte{1, 2}, []byte{3})
	f.Add([]byte("a"), []byte{}, []byte{})
	f.Add([]byte("https://issuer"), []byte{0}, []byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, s, pre, post []byte) {
		if len(s) == 0 {
			return
		}
		enc := []byte(base64.StdEncoding.EncodeToString(append(append(append([]byte(nil), pre...), s...), post...)))
		m := &matcher{needles: base64Needles(s)}
		if !m.prefilter(enc) {
			t.Fatalf("%q inside %q %q: no needle of %q in %s", s, pre, post, m.needles, enc)
		}
	})
}
