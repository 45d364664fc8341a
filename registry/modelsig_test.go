package registry

import (
	"bytes"
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

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/mlattest/mlattest/internal/repotest"
	"github.com/mlattest/mlattest/internal/witnesstest"
	"github.com/mlattest/mlattest/modelsig"
	"github.com/mlattest/mlattest/sign"
	"github.com/mlattest/mlattest/verify"
)

// signModel writes an OMS signature of dir (method files, the signature
// file itself ignored) to sig.
func signModel(t *testing.T, dir, sig string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := modelsig.Serialization{Method: modelsig.MethodFiles, HashType: modelsig.HashSHA256}
	if rel, ok := modelsig.Inside(dir, sig); ok {
		s.IgnorePaths = []string{rel}
	}
	m, err := modelsig.Hash(context.Background(), dir, s)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := m.Statement()
	if err != nil {
		t.Fatal(err)
	}
	sg, err := sign.New(sign.WithKey(k), sign.WithOffline())
	if err != nil {
		t.Fatal(err)
	}
	b, err := sg.SignStatement(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	data, err := protojson.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sig, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPushModelSignature: an OMS signature is attached as a referrer of its
// own artifact type, fetched only as KindModelSignature, and never pushed as
// a model file; a signature of other files, or a bundle that is no model
// signature, is refused before anything is sent.
func TestPushModelSignature(t *testing.T) {
	ctx := context.Background()
	bundles := testBundles(t, 1)
	for _, referrers := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers API", false: "referrers tag schema"}[referrers], func(t *testing.T) {
			reg := startRegistry(t, referrers, nil)
			src := t.TempDir()
			writeFiles(t, src, modelFiles)
			sig := filepath.Join(src, modelsig.DefaultSignatureName)
			signModel(t, src, sig)
			c := newClient(t)
			tag := reg.tag(t, "acme/model:v1")
			pushed, err := c.Push(ctx, src, tag, bundles, WithModelSignature(sig))
			if err != nil {
				t.Fatal(err)
			}
			if len(pushed.Files) != len(modelFiles) {
				t.Fatalf("pushed %d files, want %d (model.sig is no model file): %+v", len(pushed.Files), len(modelFiles), pushed.Files)
			}
			if len(pushed.Referrers) != 2 || pushed.Referrers[1].Kind != KindModelSignature || pushed.Referrers[1].Title != "model.sig.sigstore.json" {
				t.Fatalf("referrers %+v", pushed.Referrers)
			}
			m, err := c.Resolve(ctx, tag)
			if err != nil {
				t.Fatal(err)
			}
			for kind, want := range map[string]int{KindAttestation: 1, KindModelSignature: 1, KindVSA: 0} {
				got, err := c.Bundles(ctx, m, kind)
				if err != nil || len(got) != want {
					t.Fatalf("%s: %d bundles (%v), want %d", kind, len(got), err, want)
				}
			}
			got, _ := c.Bundles(ctx, m, KindModelSignature)
			if data, _ := os.ReadFile(sig); !bytes.Equal(got[0].Data, data) || got[0].Title != "model.sig.sigstore.json" {
				t.Fatalf("fetched model signature %q differs from the one pushed", got[0].Title)
			}
		})
	}

	reg := startRegistry(t, true, nil)
	src := t.TempDir()
	writeFiles(t, src, modelFiles)
	other := t.TempDir()
	writeFiles(t, other, modelFiles)
	writeFiles(t, other, map[string]string{"config.json": `{"hidden": 5}`})
	otherSig := filepath.Join(t.TempDir(), "other.sig")
	signModel(t, other, otherSig)
	for _, tc := range []struct {
		name, sig, want string
	}{
		{"a signature of other files", otherSig, "is not a signature of this model: model does not match its signature: changed: config.json"},
		{"an attestation, not a model signature", bundles[0], "not a valid model signing manifest"},
		{"no such file", filepath.Join(src, "absent.sig"), "absent.sig"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newClient(t).Push(ctx, src, reg.tag(t, "acme/refused:v1"), bundles, WithModelSignature(tc.sig))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
}

// TestParseModelSignatureReferrer: the artifact type routes a model
// signature; a kind annotation that disagrees with it is an error.
func TestParseModelSignatureReferrer(t *testing.T) {
	subject := "sha256:" + strings.Repeat("a", 64)
	layer := v1.Descriptor{MediaType: ArtifactTypeBundle, Size: 10, Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("b", 64)},
		Annotations: map[string]string{AnnotationTitle: "model.sig.sigstore.json"}}
	manifest := func(artifactType, kind string) []byte {
		sub, _ := v1.NewHash(subject)
		m := v1.Manifest{SchemaVersion: 2, MediaType: "application/vnd.oci.image.manifest.v1+json", ArtifactType: artifactType,
			Config: v1.Descriptor{MediaType: MediaTypeEmpty, Size: 2, Digest: layer.Digest},
			Layers: []v1.Descriptor{layer}, Subject: &v1.Descriptor{Digest: sub}}
		if kind != "" {
			m.Annotations = map[string]string{AnnotationKind: kind}
		}
		raw, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	for _, tc := range []struct {
		name, artifactType, kind, wantKind, wantErr string
	}{
		{"model signature", ArtifactTypeModelSignature, KindModelSignature, KindModelSignature, ""},
		{"model signature without kind", ArtifactTypeModelSignature, "", KindModelSignature, ""},
		{"model signature labelled an attestation", ArtifactTypeModelSignature, KindAttestation, "", "with kind \"attestation\""},
		{"bundle labelled a model signature", ArtifactTypeBundle, KindModelSignature, "", "with kind \"model-signature\""},
		{"bundle without kind", ArtifactTypeBundle, "", KindAttestation, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseBundleReferrer(manifest(tc.artifactType, tc.kind), subject)
			if tc.wantErr != "" {
				if err == nil || errors.Is(err, errOtherReferrer) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want an error with %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil || r.kind != tc.wantKind || r.title != "model.sig.sigstore.json" {
				t.Fatalf("got %+v, %v", r, err)
			}
		})
	}
}

// TestPushEnvelope: a bare DSSE envelope (witness) is attached as the
// Sigstore bundle verify.ParseEnvelope makes of it, under a .sigstore.json
// title; a malformed one is refused before anything is sent.
func TestPushEnvelope(t *testing.T) {
	ctx := context.Background()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := witnesstest.Step{Name: "evaluate", RunID: "r1", Command: []string{"true"}, Products: map[string][]byte{"r.json": []byte("{}")}}
	att := t.TempDir()
	good := filepath.Join(att, "evaluate.dsse.json")
	if err := os.WriteFile(good, witnesstest.Sign(t, k, s.Payload(t)).JSON(t), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(att, "bad.dsse.json")
	if err := os.WriteFile(bad, []byte(`{"payloadType":"text/plain"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := startRegistry(t, true, nil)
	src := t.TempDir()
	writeFiles(t, src, modelFiles)
	c := newClient(t)
	if _, err := c.Push(ctx, src, reg.tag(t, "acme/bad:v1"), []string{bad}); err == nil || !strings.Contains(err.Error(), "envelope "+bad) {
		t.Fatalf("a malformed envelope: %v", err)
	}
	tag := reg.tag(t, "acme/model:v1")
	if _, err := c.Push(ctx, src, tag, []string{good}); err != nil {
		t.Fatal(err)
	}
	m, err := c.Resolve(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Bundles(ctx, m, KindAttestation)
	if err != nil || len(got) != 1 || got[0].Title != "evaluate.sigstore.json" {
		t.Fatalf("bundles %+v, %v", got, err)
	}
	b, err := verify.ParseBundle(got[0].Data)
	if err != nil || b.GetDsseEnvelope() == nil {
		t.Fatalf("attached bundle: %v", err)
	}
	res, err := mustKeyVerifier(t, &k.PublicKey).Verify(ctx, b, verify.SkipArtifact())
	if err != nil || res.Statement.GetPredicateType() != "https://witness.testifysec.com/attestation-collection/v0.1" {
		t.Fatalf("the attached bundle does not verify with witness's key: %v", err)
	}
}

func mustKeyVerifier(t *testing.T, pub *ecdsa.PublicKey) *verify.Verifier {
	t.Helper()
	v, err := verify.New(verify.WithKey(pub))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestPushConformanceModelSignature: a model.sig the model_signing tool
// wrote (v1.0.1, with its pre-1.1 key material) is attached as written.
func TestPushConformanceModelSignature(t *testing.T) {
	dir := filepath.Join(repotest.Conformance(t, "model-signing"), "v1.0.1-elliptic-key")
	src := t.TempDir()
	for _, n := range []string{"signme-1", "signme-2", "model.sig"} {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		writeFiles(t, src, map[string]string{n: string(data)})
	}
	reg := startRegistry(t, true, nil)
	pushed, err := newClient(t).Push(context.Background(), src, reg.tag(t, "acme/oms:v1"), testBundles(t, 1), WithModelSignature(filepath.Join(src, "model.sig")))
	if err != nil {
		t.Fatal(err)
	}
	if len(pushed.Files) != 2 || len(pushed.Referrers) != 2 || pushed.Referrers[1].Kind != KindModelSignature {
		t.Fatalf("pushed %+v", pushed)
	}
}
