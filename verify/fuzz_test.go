package verify

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
)

// FuzzLoadBundle: parsing bundle JSON never panics, and every failure is a
// rejection (malformed content is a policy answer, not an input error).
// Whatever parses is also run through a key-only Verifier, which must not
// panic either. Seeds: testdata/fuzz/FuzzLoadBundle, written by
// TestWriteFuzzCorpus from bundles made in-process.
func FuzzLoadBundle(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	fx := makeFixture(f, protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256, true)
	v := mustVerifier(f, WithKey(fx.pub))
	sum := sha256.Sum256([]byte("model weights v1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			if !errors.Is(err, ErrRejected) {
				t.Fatalf("parse error is not a rejection: %v", err)
			}
			return
		}
		// Any answer will do (a message signature with SkipArtifact is an
		// input error, most else a rejection); it must not panic.
		for _, art := range []Artifact{SkipArtifact(), ArtifactDigest("sha256", sum[:])} {
			_, _ = v.Verify(context.Background(), b, art)
		}
	})
}

// TestWriteFuzzCorpus regenerates the seed corpus when MLATTEST_WRITE_FUZZ_CORPUS=1.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("MLATTEST_WRITE_FUZZ_CORPUS") != "1" {
		t.Skip("set MLATTEST_WRITE_FUZZ_CORPUS=1 to regenerate testdata/fuzz/FuzzLoadBundle")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzLoadBundle")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	seeds := map[string][]byte{}
	for _, ka := range keyAlgs {
		seeds["dsse-"+ka.name] = makeFixture(t, ka.alg, true).json
		if ka.name != "ed25519" {
			seeds["message-"+ka.name] = makeFixture(t, ka.alg, false).json
		}
	}
	d := seeds["dsse-ecdsa-p256"]
	seeds["truncated"] = d[:len(d)/2]
	for name, data := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(data)))
		if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
