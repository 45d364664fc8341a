package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/trust"
)

// fixture is an offline, key-only bundle made in-process with sigstore-go's
// signer: no Fulcio, no log, no TSA.
type fixture struct {
	artifact string // path of the signed file / statement subject
	bundle   string // path of the bundle JSON
	json     []byte
	pub      crypto.PublicKey
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func statementFor(t testing.TB, name string, content []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(content)
	pred, err := structpb.NewStruct(map[string]any{"name": "train", "command": []any{"python", "train.py"}})
	if err != nil {
		t.Fatal(err)
	}
	st := &intoto.Statement{
		Type:          predicates.StatementTypeV1,
		Subject:       []*intoto.ResourceDescriptor{{Name: name, Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])}}},
		PredicateType: predicates.LinkV03,
		Predicate:     pred,
	}
	b, err := protojson.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// makeFixture signs content (dsse: an in-toto statement about it; else the
// file itself) with a fresh key of alg.
func makeFixture(t testing.TB, alg protocommon.PublicKeyDetails, dsse bool) fixture {
	t.Helper()
	dir := t.TempDir()
	content := []byte("model weights v1\n")
	f := fixture{artifact: writeFile(t, dir, "model.safetensors", content)}
	kp, err := sign.NewEphemeralKeypair(&sign.EphemeralKeypairOptions{Algorithm: alg})
	if err != nil {
		t.Fatal(err)
	}
	f.pub = kp.GetPublicKey()
	var c sign.Content = &sign.PlainData{Data: content}
	if dsse {
		c = &sign.DSSEData{Data: statementFor(t, "model.safetensors", content), PayloadType: predicates.PayloadType}
	}
	pb, err := sign.Bundle(c, kp, sign.BundleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.json, err = protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	f.bundle = writeFile(t, dir, "bundle.sigstore.json", f.json)
	return f
}

func mustVerifier(t testing.TB, opts ...Option) *Verifier {
	t.Helper()
	v, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustLoad(t testing.TB, path string) *bundle.Bundle {
	t.Helper()
	b, err := LoadBundle(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantRejected(t *testing.T, err error, stage Stage) {
	t.Helper()
	if err == nil {
		t.Fatalf("want rejection at %s, got success", stage)
	}
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("want rejection at %s, got input error: %v", stage, err)
	}
	if got := StageOf(err); got != stage {
		t.Fatalf("rejected at %s, want %s: %v", got, stage, err)
	}
}

func wantInputError(t *testing.T, err error, substr string) {
	t.Helper()
	if err == nil {
		t.Fatal("want input error, got success")
	}
	if errors.Is(err, ErrRejected) {
		t.Fatalf("want input error, got rejection: %v", err)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %q does not mention %q", err, substr)
	}
}

var keyAlgs = []struct {
	name string
	alg  protocommon.PublicKeyDetails
}{
	{"ecdsa-p256", protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256},
	{"ecdsa-p384", protocommon.PublicKeyDetails_PKIX_ECDSA_P384_SHA_384},
	{"ed25519", protocommon.PublicKeyDetails_PKIX_ED25519},
	{"rsa-2048", protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_2048_SHA256},
}

func TestKeyRoundTrip(t *testing.T) {
	for _, ka := range keyAlgs {
		for _, dsse := range []bool{true, false} {
			name := ka.name + "/message"
			if dsse {
				name = ka.name + "/dsse"
			}
			t.Run(name, func(t *testing.T) {
				if ka.name == "ed25519" && !dsse {
					// sigstore-go v1.3.0 signs pure-Ed25519 message
					// signatures it cannot verify (no digest algorithm);
					// real Ed25519 hashedrekords use Ed25519ph.
					t.Skip("pure Ed25519 message signatures unsupported by sigstore-go")
				}
				f := makeFixture(t, ka.alg, dsse)
				// Through a PEM file, as the CLI does.
				pemBytes, err := cryptoutils.MarshalPublicKeyToPEM(f.pub)
				if err != nil {
					t.Fatal(err)
				}
				pub, err := trust.LoadPublicKey(writeFile(t, t.TempDir(), "key.pub", pemBytes))
				if err != nil {
					t.Fatal(err)
				}
				v := mustVerifier(t, WithKey(pub))
				res, err := v.Verify(context.Background(), mustLoad(t, f.bundle), ArtifactFile(f.artifact))
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if !res.KeyOnly || res.LogEntries != 0 || len(res.Timestamps) != 0 {
					t.Errorf("key-only result: KeyOnly=%v LogEntries=%d Timestamps=%v", res.KeyOnly, res.LogEntries, res.Timestamps)
				}
				if !strings.HasPrefix(res.Signer.KeyID, "sha256:") || res.Signer.Subject != "" {
					t.Errorf("signer = %+v, want a key id and no subject", res.Signer)
				}
				if dsse {
					if res.PayloadType != predicates.PayloadType || res.Statement.GetPredicateType() != predicates.LinkV03 {
						t.Errorf("payload %q predicate %q", res.PayloadType, res.Statement.GetPredicateType())
					}
					if n := res.Statement.GetSubject()[0].GetName(); n != "model.safetensors" {
						t.Errorf("subject %q", n)
					}
				} else if res.Statement != nil || res.PayloadType != "" {
					t.Errorf("message signature has a statement")
				}
				// And by digest: a message signature over SHA-384 needs the
				// SHA-384 digest, and says so when given another.
				data, _ := os.ReadFile(f.artifact)
				alg := "sha256"
				if ka.name == "ecdsa-p384" && !dsse {
					alg = "sha384"
					sum := sha256.Sum256(data)
					_, err := v.Verify(context.Background(), mustLoad(t, f.bundle), ArtifactDigest("sha256", sum[:]))
					wantInputError(t, err, "signs a sha384 digest")
				}
				h := digest.NewHash(alg)
				h.Write(data)
				if _, err := v.Verify(context.Background(), mustLoad(t, f.bundle), ArtifactDigest(alg, h.Sum(nil))); err != nil {
					t.Errorf("verify by digest: %v", err)
				}
			})
		}
	}
}

func TestWrongKey(t *testing.T) {
	for _, dsse := range []bool{true, false} {
		f := makeFixture(t, protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256, dsse)
		other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		_, err = mustVerifier(t, WithKey(other.Public())).Verify(context.Background(), mustLoad(t, f.bundle), ArtifactFile(f.artifact))
		wantRejected(t, err, StageSignature)
	}
}

func TestTamperedDSSEPayload(t *testing.T) {
	f := makeFixture(t, protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256, true)
	var raw map[string]any
	if err := json.Unmarshal(f.json, &raw); err != nil {
		t.Fatal(err)
	}
	env := raw["dsseEnvelope"].(map[string]any)
	payload, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	// Same subject, different predicate: only the signature can tell.
	tampered := strings.Replace(string(payload), `"train"`, `"evil!"`, 1)
	if tampered == string(payload) {
		t.Fatal("payload not changed")
	}
	env["payload"] = base64.StdEncoding.EncodeToString([]byte(tampered))
	data, _ := json.Marshal(raw)
	b, err := ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	_, err = mustVerifier(t, WithKey(f.pub)).Verify(context.Background(), b, ArtifactFile(f.artifact))
	wantRejected(t, err, StageSignature)
}

func TestWrongArtifact(t *testing.T) {
	other := writeFile(t, t.TempDir(), "other.bin", []byte("not the model\n"))
	wrong := sha256.Sum256([]byte("nope"))
	for _, tc := range []struct {
		name  string
		dsse  bool
		art   Artifact
		stage Stage
	}{
		{"dsse/file", true, ArtifactFile(other), StageArtifact},
		{"dsse/digest", true, ArtifactDigest("sha256", wrong[:]), StageArtifact},
		{"message/file", false, ArtifactFile(other), StageSignature},
		{"message/digest", false, ArtifactDigest("sha256", wrong[:]), StageSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := makeFixture(t, protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256, tc.dsse)
			_, err := mustVerifier(t, WithKey(f.pub)).Verify(context.Background(), mustLoad(t, f.bundle), tc.art)
			wantRejected(t, err, tc.stage)
		})
	}
}

func TestArtifactRequired(t *testing.T) {
	dsse := makeFixture(t, protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256, true)
	msg := makeFixture(t, protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256, false)
	ctx := context.Background()

	_, err := mustVerifier(t, WithKey(dsse.pub)).Verify(ctx, mustLoad(t, dsse.bundle), Artifact{})
	wantInputError(t, err, "no artifact")

	res, err := mustVerifier(t, WithKey(dsse.pub)).Verify(ctx, mustLoad(t, dsse.bundle), SkipArtifact())
	if err != nil || res.ArtifactChecked {
		t.Fatalf("SkipArtifact on DSSE: %v, ArtifactChecked=%v", err, res != nil && res.ArtifactChecked)
	}
	_, err = mustVerifier(t, WithKey(msg.pub)).Verify(ctx, mustLoad(t, msg.bundle), SkipArtifact())
	wantInputError(t, err, "without its artifact")

	_, err = mustVerifier(t, WithKey(msg.pub)).Verify(ctx, mustLoad(t, msg.bundle), ArtifactFile(filepath.Join(t.TempDir(), "missing")))
	wantInputError(t, err, "missing")
}

func TestStatementChecks(t *testing.T) {
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	v := mustVerifier(t, WithKey(kp.GetPublicKey()))
	for name, tc := range map[string]struct {
		payloadType, payload string
	}{
		"unknown statement type": {predicates.PayloadType, `{"_type":"https://example.com/Statement","subject":[{"name":"a","digest":{"sha256":"00"}}],"predicateType":"x"}`},
		"no subject":             {predicates.PayloadType, `{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"x"}`},
		"not JSON":               {predicates.PayloadType, `not json`},
		"other payload type":     {"application/octet-stream", `{}`},
	} {
		t.Run(name, func(t *testing.T) {
			pb, err := sign.Bundle(&sign.DSSEData{Data: []byte(tc.payload), PayloadType: tc.payloadType}, kp, sign.BundleOptions{})
			if err != nil {
				t.Fatal(err)
			}
			b, err := bundle.NewBundle(pb)
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(context.Background(), b, SkipArtifact())
			wantRejected(t, err, StageStatement)
		})
	}
}

func TestKeyWithTrustedRootNeedsLog(t *testing.T) {
	// An offline bundle has no log entry, so with a trusted root it must
	// fail: the key does not waive the log.
	f := makeFixture(t, protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256, true)
	tr := filepath.Join(conformanceDir(t), "..", "trusted_root.public-good.json")
	v := mustVerifier(t, WithKey(f.pub), WithTrustedRootFile(tr))
	if v.KeyOnly() {
		t.Fatal("KeyOnly with a trusted root")
	}
	_, err := v.Verify(context.Background(), mustLoad(t, f.bundle), ArtifactFile(f.artifact))
	wantRejected(t, err, StageLog)
}

func TestKeylessBundleRejectedByKeyVerifier(t *testing.T) {
	c := findCase(t, "happy-path-v0.3")
	pub, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, err = mustVerifier(t, WithKey(pub.Public())).Verify(context.Background(), mustLoad(t, c.bundle), ArtifactFile(c.artifact))
	wantRejected(t, err, StageCertificate)
}

func TestOptionErrors(t *testing.T) {
	if _, err := New(); err == nil {
		t.Error("New() without trust material succeeded")
	}
	if _, err := New(WithTrustedRootFile(filepath.Join(t.TempDir(), "nope.json"))); err == nil || !strings.Contains(err.Error(), "nope.json") {
		t.Errorf("missing trusted root: %v", err)
	}
	bad := writeFile(t, t.TempDir(), "root.json", []byte(`{"mediaType": 1}`))
	if _, err := New(WithTrustedRootFile(bad)); err == nil || errors.Is(err, ErrRejected) {
		t.Errorf("unparseable trusted root: %v", err)
	}
	f := makeFixture(t, protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256, true)
	_, err := mustVerifier(t, WithKey(f.pub)).Verify(context.Background(), mustLoad(t, f.bundle), ArtifactFile(f.artifact),
		Identity{Subject: "a", Issuer: "b"})
	wantInputError(t, err, "identity")
	tr := filepath.Join(conformanceDir(t), "..", "trusted_root.public-good.json")
	_, err = mustVerifier(t, WithTrustedRootFile(tr)).Verify(context.Background(), mustLoad(t, f.bundle), ArtifactFile(f.artifact))
	wantInputError(t, err, "identity")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := mustVerifier(t, WithKey(f.pub)).Verify(ctx, mustLoad(t, f.bundle), ArtifactFile(f.artifact)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestLoadBundle(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadBundle(filepath.Join(dir, "missing.json"))
	wantInputError(t, err, "missing.json")

	_, err = LoadBundle(writeFile(t, dir, "garbage.json", []byte("{not json")))
	wantRejected(t, err, StageBundle)
	if !strings.Contains(err.Error(), "garbage.json") {
		t.Errorf("error does not name the file: %v", err)
	}
	_, err = LoadBundle(writeFile(t, dir, "empty.json", []byte(`{}`)))
	wantRejected(t, err, StageBundle)

	big := make([]byte, MaxBundleSize+1)
	_, err = ParseBundle(big)
	wantRejected(t, err, StageBundle)
}

func TestParseArtifactDigest(t *testing.T) {
	good := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"sha256:" + good, true},
		{"SHA256:" + strings.ToUpper(good), true},
		{"sha512:" + strings.Repeat("ab", 64), true},
		{"sha256:" + good[:62], false},
		{"sha256:" + strings.Repeat("zz", 32), false},
		{"md5:" + strings.Repeat("ab", 16), false},
		{good, false},
	} {
		a, err := ParseArtifactDigest(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseArtifactDigest(%q) = %v, %v", tc.in, a, err)
		}
	}
}

// TestConcurrentVerify: one Verifier, many goroutines (run with -race).
func TestConcurrentVerify(t *testing.T) {
	f := makeFixture(t, protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256, true)
	v := mustVerifier(t, WithKey(f.pub))
	b := mustLoad(t, f.bundle)
	c := findCase(t, "rekor2-dsse-happy-path")
	kv := mustVerifier(t, WithTrustedRootFile(c.trustedRoot))
	kb := mustLoad(t, c.bundle)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := v.Verify(context.Background(), b, ArtifactFile(f.artifact))
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := kv.Verify(context.Background(), kb, ArtifactFile(c.artifact), c.identity)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func findCase(t testing.TB, name string) conformanceCase {
	t.Helper()
	for _, c := range conformanceCases(t) {
		if c.name == name {
			return c
		}
	}
	t.Fatalf("conformance case %s not found", name)
	return conformanceCase{}
}

// LoadBundle (verify-bundle's reader) refuses a regular file over the limit
// by its size: a rejection, as a malformed bundle is.
func TestLoadBundleRefusesBySize(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.sigstore.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(1 << 40); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	if _, err := LoadBundle(p); !errors.Is(err, ErrRejected) || StageOf(err) != StageBundle || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("want a bundle-stage rejection by size, got %v", err)
	}
}
