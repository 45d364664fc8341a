package verify

// End-to-end: keyless signing with sigstore-go against the real private
// Sigstore stack (Fulcio, Rekor v2, TSA, OIDC on 127.0.0.1; see
// scripts/stack.sh), then verification with this package.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/mlattest/mlattest/internal/stacktest"
	"github.com/mlattest/mlattest/predicates"
)

// signKeyless signs content against the stack as subject (issuer 1) and
// returns the bundle.
func signKeyless(t *testing.T, s *stacktest.Stack, subject string, content sign.Content) *bundle.Bundle {
	t.Helper()
	b, _ := signOnStack(t, s, subject, content)
	return b
}

// signOnStack signs content with a fresh key, logged in Rekor v2 and
// timestamped by the TSA; with a subject, keylessly through Fulcio, else
// with the bare key. It returns the bundle and the key pair.
func signOnStack(t *testing.T, s *stacktest.Stack, subject string, content sign.Content) (*bundle.Bundle, sign.Keypair) {
	t.Helper()
	tr, err := root.NewTrustedRootFromPath(s.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts := sign.BundleOptions{
		Context:              ctx,
		TimestampAuthorities: []*sign.TimestampAuthority{sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: s.TSAURL, Timeout: 30 * time.Second})},
		TransparencyLogs:     []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: s.RekorURL, Timeout: 30 * time.Second, Version: 2})},
	}
	if subject != "" {
		opts.CertificateProvider = sign.NewFulcio(&sign.FulcioOptions{BaseURL: s.FulcioURL, Timeout: 30 * time.Second})
		opts.CertificateProviderOptions = &sign.CertificateProviderOptions{IDToken: s.Token(t, 1, subject)}
		opts.TrustedRoot = tr // sigstore-go checks what it made
	}
	pb, err := sign.Bundle(content, kp, opts)
	if err != nil {
		t.Fatalf("signing against the stack: %v", err)
	}
	b, err := bundle.NewBundle(pb)
	if err != nil {
		t.Fatal(err)
	}
	return b, kp
}

// rootWithout writes a copy of the stack's trusted root without key.
func rootWithout(t *testing.T, s *stacktest.Stack, key string) string {
	t.Helper()
	data, err := os.ReadFile(s.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m[key]; !ok {
		t.Fatalf("the stack's trusted root has no %s", key)
	}
	delete(m, key)
	out, _ := json.Marshal(m)
	return writeFile(t, t.TempDir(), "trusted_root.json", out)
}

func TestE2EKeyless(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local Sigstore stack")
	}
	s := stacktest.Get(t)
	const who = "trainer@example.com"
	dir := t.TempDir()
	content := []byte("fine-tuned weights\n")
	model := writeFile(t, dir, "model.safetensors", content)
	otherModel := writeFile(t, dir, "other.safetensors", []byte("fine-tuned weights!\n"))

	dsse := signKeyless(t, s, who, &sign.DSSEData{Data: statementFor(t, "model/model.safetensors", content), PayloadType: predicates.PayloadType})
	msg := signKeyless(t, s, who, &sign.PlainData{Data: content})

	// The same bundle with its DSSE payload changed after signing.
	raw, err := protojson.Marshal(dsse.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	var bm map[string]any
	if err := json.Unmarshal(raw, &bm); err != nil {
		t.Fatal(err)
	}
	env := bm["dsseEnvelope"].(map[string]any)
	payload, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
	env["payload"] = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"train"`, `"evil!"`, 1)))
	tamperedJSON, _ := json.Marshal(bm)
	tampered, err := ParseBundle(tamperedJSON)
	if err != nil {
		t.Fatal(err)
	}

	right := Identity{Subject: who, Issuer: s.Issuer1}
	v := mustVerifier(t, WithTrustedRootFile(s.TrustedRoot))
	noTSA := mustVerifier(t, WithTrustedRootFile(rootWithout(t, s, "timestampAuthorities")))
	noCA := mustVerifier(t, WithTrustedRootFile(rootWithout(t, s, "certificateAuthorities")))

	t.Run("right identity", func(t *testing.T) {
		for name, tc := range map[string]struct {
			b   *bundle.Bundle
			art Artifact
		}{"dsse": {dsse, ArtifactFile(model)}, "message": {msg, ArtifactFile(model)}} {
			res, err := v.Verify(context.Background(), tc.b, tc.art, right)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if res.Signer.Subject != who || res.Signer.Issuer != s.Issuer1 || res.LogEntries != 1 || res.KeyOnly {
				t.Errorf("%s: result %+v", name, res)
			}
			var tsa bool
			for _, ts := range res.Timestamps {
				tsa = tsa || ts.Kind == "tsa"
			}
			if !tsa {
				t.Errorf("%s: no RFC 3161 timestamp among %v (Rekor v2 has no integrated time)", name, res.Timestamps)
			}
		}
		// An anchored regexp over the real identity.
		if _, err := v.Verify(context.Background(), dsse, ArtifactFile(model), Identity{SubjectRegexp: `[a-z]+@example\.com`, Issuer: s.Issuer1}); err != nil {
			t.Errorf("regexp identity: %v", err)
		}
	})

	for _, tc := range []struct {
		name  string
		v     *Verifier
		b     *bundle.Bundle
		art   Artifact
		id    Identity
		stage Stage
	}{
		{"wrong identity", v, dsse, ArtifactFile(model), Identity{Subject: "mallory@example.com", Issuer: s.Issuer1}, StageIdentity},
		{"identity suffix regexp", v, dsse, ArtifactFile(model), Identity{SubjectRegexp: `example\.com`, Issuer: s.Issuer1}, StageIdentity},
		{"wrong issuer", v, dsse, ArtifactFile(model), Identity{Subject: who, Issuer: s.Issuer2}, StageIdentity},
		{"tampered payload", v, tampered, ArtifactFile(model), right, StageSignature},
		{"tampered artifact (dsse)", v, dsse, ArtifactFile(otherModel), right, StageArtifact},
		{"tampered artifact (message)", v, msg, ArtifactFile(otherModel), right, StageSignature},
		{"trusted root without the TSA", noTSA, dsse, ArtifactFile(model), right, StageTimestamp},
		{"trusted root without the TSA (message)", noTSA, msg, ArtifactFile(model), right, StageTimestamp},
		{"trusted root without Fulcio", noCA, dsse, ArtifactFile(model), right, StageCertificate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.v.Verify(context.Background(), tc.b, tc.art, tc.id)
			wantRejected(t, err, tc.stage)
		})
	}

	t.Run("key with the trusted root's log and TSA", func(t *testing.T) {
		kb, kp := signOnStack(t, s, "", &sign.DSSEData{Data: statementFor(t, "model/model.safetensors", content), PayloadType: predicates.PayloadType})
		kv := mustVerifier(t, WithKey(kp.GetPublicKey()), WithTrustedRootFile(s.TrustedRoot))
		res, err := kv.Verify(context.Background(), kb, ArtifactFile(model))
		if err != nil {
			t.Fatal(err)
		}
		if res.KeyOnly || res.LogEntries != 1 || len(res.Timestamps) == 0 || res.Signer.KeyID == "" {
			t.Errorf("result %+v", res)
		}
		other, _ := signOnStack(t, s, "", &sign.DSSEData{Data: statementFor(t, "model/model.safetensors", content), PayloadType: predicates.PayloadType})
		_, err = kv.Verify(context.Background(), other, ArtifactFile(model))
		wantRejected(t, err, StageSignature)
		_, err = mustVerifier(t, WithKey(kp.GetPublicKey()), WithTrustedRootFile(rootWithout(t, s, "timestampAuthorities"))).
			Verify(context.Background(), kb, ArtifactFile(model))
		wantRejected(t, err, StageTimestamp)
	})

	t.Run("bundle file round trip", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "train.link.sigstore.json")
		if err := os.WriteFile(p, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), mustLoad(t, p), ArtifactFile(model), right); err != nil {
			t.Fatal(err)
		}
	})
}
