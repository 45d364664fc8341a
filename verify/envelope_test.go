package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/repotest"
	"github.com/mlattest/mlattest/internal/witnesstest"
	"github.com/mlattest/mlattest/trust"
)

func witnessEnvelope(t testing.TB, k *ecdsa.PrivateKey) witnesstest.Envelope {
	t.Helper()
	s := witnesstest.Step{Name: "evaluate", RunID: "r1", Command: []string{"python", "eval.py"},
		Materials: map[string][]byte{"model.bin": []byte("w")}, Products: map[string][]byte{"report.json": []byte("{}")}}
	return witnesstest.Sign(t, k, s.Payload(t))
}

func ecdsaKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestParseEnvelope: a bare DSSE envelope as witness writes it becomes a
// bundle that sigstore-go verifies with the signer's key (and with no other);
// malformed envelopes are rejections at the bundle stage, naming why.
func TestParseEnvelope(t *testing.T) {
	k, other := ecdsaKey(t), ecdsaKey(t)
	good := witnessEnvelope(t, k)
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good.JSON(t), &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	sig0 := func(m map[string]any) map[string]any { return m["signatures"].([]any)[0].(map[string]any) }
	two := good
	two.Signatures = append(append([]witnesstest.Signature(nil), good.Signatures...), good.Signatures...)
	for _, tc := range []struct {
		name   string
		data   []byte
		reason string // "" = parses
	}{
		{"witness envelope", good.JSON(t), ""},
		{"empty", []byte(""), "not a valid DSSE envelope"},
		{"not JSON", []byte("{"), "not a valid DSSE envelope"},
		{"a Sigstore bundle", []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`), `unknown field "mediaType"`},
		{"duplicate key", []byte(`{"payloadType":"a","payloadType":"b"}`), "duplicate"},
		{"another payload type", edit(func(m map[string]any) { m["payloadType"] = "text/plain" }), `payload type "text/plain"`},
		{"no payload", edit(func(m map[string]any) { delete(m, "payload") }), "no payload"},
		{"no signature", edit(func(m map[string]any) { m["signatures"] = []any{} }), "0 signatures"},
		{"two signatures", two.JSON(t), "2 signatures"},
		{"empty signature", edit(func(m map[string]any) { sig0(m)["sig"] = "" }), "signature is empty"},
		{"certificate not PEM", edit(func(m map[string]any) { sig0(m)["certificate"] = "bm90IFBFTQ==" }), "not one PEM CERTIFICATE block"},
		{"intermediates without certificate", edit(func(m map[string]any) { sig0(m)["intermediates"] = []any{"eA=="} }), "intermediates but no certificate"},
		{"timestamp of another type", edit(func(m map[string]any) {
			sig0(m)["timestamps"] = []any{map[string]any{"type": "rekor", "data": "eA=="}}
		}), `type "rekor"`},
		{"unknown signature field", edit(func(m map[string]any) { sig0(m)["extra"] = 1 }), `unknown field "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := ParseEnvelope(tc.data)
			if tc.reason != "" {
				if !errors.Is(err, ErrRejected) || StageOf(err) != StageBundle || !strings.Contains(err.Error(), tc.reason) {
					t.Fatalf("want a bundle-stage rejection with %q, got %v", tc.reason, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res, err := mustVerifier(t, WithKey(&k.PublicKey)).Verify(context.Background(), b, SkipArtifact())
			if err != nil {
				t.Fatalf("the signer's key: %v", err)
			}
			if res.Statement.GetPredicateType() != "https://witness.testifysec.com/attestation-collection/v0.1" || !res.KeyOnly {
				t.Errorf("result = %+v", res)
			}
			_, err = mustVerifier(t, WithKey(&other.PublicKey)).Verify(context.Background(), b, SkipArtifact())
			if StageOf(err) != StageSignature {
				t.Fatalf("another key: want a signature rejection, got %v", err)
			}
		})
	}
}

// FuzzParseEnvelope: parsing a bare DSSE envelope never panics, every
// failure is a rejection, and whatever parses goes through a key-only
// Verifier without panicking. Seeds: testdata/fuzz/FuzzParseEnvelope.
func FuzzParseEnvelope(f *testing.F) {
	k := ecdsaKey(f)
	f.Add(witnessEnvelope(f, k).JSON(f))
	f.Add([]byte(`{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"keyid":"","sig":"eA==","certificate":"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCmVBPT0KLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=","timestamps":[{"type":"tsp","data":"eA=="}]}]}`))
	v := mustVerifier(f, WithKey(&k.PublicKey))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseEnvelope(data)
		if err != nil {
			if !errors.Is(err, ErrRejected) {
				t.Fatalf("parse error is not a rejection: %v", err)
			}
			return
		}
		_, _ = v.Verify(context.Background(), b, SkipArtifact())
	})
}

// TestParseRecordedEnvelope: an envelope go-witness itself signed
// (testdata/witness at the repository root) verifies with its key, and
// only with it.
func TestParseRecordedEnvelope(t *testing.T) {
	dir := filepath.Join(repotest.Root(t), "testdata", "witness")
	data, err := os.ReadFile(filepath.Join(dir, "evaluate.dsse.json"))
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err := os.ReadFile(filepath.Join(dir, "evaluate.pub"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := trust.ParsePublicKey(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseEnvelope(data)
	if err != nil {
		t.Fatal(err)
	}
	res, err := mustVerifier(t, WithKey(pub)).Verify(context.Background(), b, SkipArtifact())
	if err != nil || res.Statement.GetPredicateType() != "https://witness.testifysec.com/attestation-collection/v0.1" {
		t.Fatalf("witness's key: %v", err)
	}
	if _, err := mustVerifier(t, WithKey(&ecdsaKey(t).PublicKey)).Verify(context.Background(), b, SkipArtifact()); StageOf(err) != StageSignature {
		t.Fatalf("another key: want a signature rejection, got %v", err)
	}
}
