package verify

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/repotest"
	"github.com/mlattest/mlattest/trust"
)

const (
	conformanceIdentity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
	conformanceIssuer   = "https://token.actions.githubusercontent.com"
)

// conformanceCase is one folder of the suite, resolved to file paths by the
// suite's README conventions.
type conformanceCase struct {
	name        string
	dir         string
	wantFail    bool
	bundle      string
	artifact    string
	trustedRoot string
	key         string // "" unless key.pub exists
	identity    Identity
}

func conformanceCases(t testing.TB) []conformanceCase {
	t.Helper()
	base := conformanceDir(t)
	ents, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	var cases []conformanceCase
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(base, e.Name())
		c := conformanceCase{
			name:        e.Name(),
			dir:         dir,
			wantFail:    strings.HasSuffix(e.Name(), "_fail"),
			bundle:      filepath.Join(dir, "bundle.sigstore.json"),
			artifact:    firstExisting(filepath.Join(dir, "artifact"), filepath.Join(base, "a.txt")),
			trustedRoot: firstExisting(filepath.Join(dir, "trusted_root.json"), filepath.Join(base, "..", "trusted_root.public-good.json")),
			identity: Identity{
				Subject: readOr(t, filepath.Join(dir, "identity"), conformanceIdentity),
				Issuer:  readOr(t, filepath.Join(dir, "issuer"), conformanceIssuer),
			},
		}
		if _, err := os.Stat(filepath.Join(dir, "key.pub")); err == nil {
			c.key = filepath.Join(dir, "key.pub")
		}
		cases = append(cases, c)
	}
	if len(cases) < 70 {
		t.Fatalf("found %d conformance cases in %s, want at least 70", len(cases), base)
	}
	return cases
}

func firstExisting(paths ...string) string {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return paths[len(paths)-1]
}

func readOr(t testing.TB, path, def string) string {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return def
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// inputErrorCases are _fail cases whose defect is in the verifier's own
// input rather than in the bundle; mlattest treats those as unusable input
// (exit 2), not as an answer about the bundle. They are still not accepted.
var inputErrorCases = map[string]string{
	"trust-root-tlog-missing-validity-start_fail": "the trusted root is malformed (tlog validFor without start)",
	"managed-key-wrong-key_fail":                  "key.pub is not a valid key (P-256 point not on the curve)",
}

// wantStage pins the reason of every rejected case: the check that catches
// the defect first in sigstore-go v1.3.0's order (log, timestamps,
// certificate, signature, identity), or the bundle parser.
var wantStage = map[string]Stage{
	"bundle-empty-certificate-chain_fail":                       StageBundle,
	"bundle-from-wrong-instance_fail":                           StageLog,
	"bundle-invalid-base64-signature_fail":                      StageBundle,
	"bundle-malformed-json_fail":                                StageBundle,
	"bundle-negative-log-index_fail":                            StageBundle,
	"bundle-unknown-version_fail":                               StageBundle,
	"bundle-with-root-cert_fail":                                StageBundle,
	"checkpoint-bad-keyhint_fail":                               StageLog,
	"checkpoint-wrong-roothash_fail":                            StageLog,
	"dsse-invalid-sig_fail":                                     StageSignature,
	"dsse-mismatch-envelope_fail":                               StageLog,
	"dsse-mismatch-sig_fail":                                    StageLog,
	"inclusion-proof-corrupted-hash_fail":                       StageLog,
	"incorrect-public-key_fail":                                 StageBundle,
	"integrated-time-in-future_fail":                            StageLog,
	"intoto-expired-certificate_fail":                           StageLog,
	"intoto-log-entry-mismatch_fail":                            StageBundle,
	"intoto-missing-inclusion-proof_fail":                       StageBundle,
	"intoto-set-outside-signing-cert-validity_fail":             StageLog,
	"intoto-tsa-timestamp-outside-cert-validity_fail":           StageCertificate,
	"invalid-checkpoint-signature_fail":                         StageLog,
	"invalid-ct-key_fail":                                       StageCertificate,
	"invalid-inclusion-proof_fail":                              StageBundle,
	"managed-key-no-key_fail":                                   StageLog,
	"message-digest-mismatch_fail":                              StageLog,
	"rekor2-checkpoint-missing-log-signature_fail":              StageLog,
	"rekor2-checkpoint-missing-origin_fail":                     StageLog,
	"rekor2-checkpoint-missing-root-hash_fail":                  StageLog,
	"rekor2-checkpoint-missing-size_fail":                       StageLog,
	"rekor2-checkpoint-no-matching-signature_fail":              StageLog,
	"rekor2-dsse-invalid-sig_fail":                              StageSignature,
	"rekor2-dsse-mismatch-envelope_fail":                        StageLog,
	"rekor2-dsse-mismatch-sig_fail":                             StageLog,
	"rekor2-no-inclusion-proof_fail":                            StageBundle,
	"rekor2-no-timestamp_fail":                                  StageTimestamp,
	"rekor2-timestamp-outside-trust-root-tsa-validity_fail":     StageTimestamp,
	"rekor2-timestamp-outside-tsa-cert-validity_fail":           StageTimestamp,
	"rekor2-timestamp-payload-mismatch_fail":                    StageTimestamp,
	"rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail":    StageTimestamp,
	"rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail": StageTimestamp,
	"rekor2-timestamp-with-incorrect-time_fail":                 StageBundle,
	"set-invalid-signature_fail":                                StageLog,
	"signature-mismatch_fail":                                   StageLog,
	"wrong-hashedrekord-artifact_fail":                          StageLog,
	"wrong-hashedrekord-cert-and-sig_fail":                      StageLog,
	"wrong-hashedrekord-entry_fail":                             StageLog,
	"wrong-material_fail":                                       StageSignature,
}

// verifyCase runs one case through the library.
func verifyCase(c conformanceCase) (*Result, error) {
	opts := []Option{WithTrustedRootFile(c.trustedRoot)}
	var ids []Identity
	if c.key != "" {
		pub, err := trust.LoadPublicKey(c.key)
		if err != nil {
			return nil, err
		}
		opts = append(opts, WithKey(pub))
	} else {
		ids = []Identity{c.identity}
	}
	v, err := New(opts...)
	if err != nil {
		return nil, err
	}
	b, err := LoadBundle(c.bundle)
	if err != nil {
		return nil, err
	}
	return v.Verify(context.Background(), b, ArtifactFile(c.artifact), ids...)
}

func TestConformance(t *testing.T) {
	for _, c := range conformanceCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res, err := verifyCase(c)
			if !c.wantFail {
				if err != nil {
					t.Fatalf("want accepted, got %v", err)
				}
				if len(res.Timestamps) == 0 || res.LogEntries == 0 {
					t.Errorf("accepted without a timestamp (%d) or log entry (%d)", len(res.Timestamps), res.LogEntries)
				}
				if c.key == "" && res.Signer.Subject != c.identity.Subject {
					t.Errorf("signer %q, want %q", res.Signer.Subject, c.identity.Subject)
				}
				return
			}
			if err == nil {
				t.Fatal("want rejected, got accepted")
			}
			if why, ok := inputErrorCases[c.name]; ok {
				if errors.Is(err, ErrRejected) {
					t.Fatalf("want an input error (%s), got rejection %v", why, err)
				}
				return
			}
			if !errors.Is(err, ErrRejected) {
				t.Fatalf("want a rejection, got input error %v", err)
			}
			if want, ok := wantStage[c.name]; ok && StageOf(err) != want {
				t.Errorf("rejected at stage %q, want %q: %v", StageOf(err), want, err)
			}
			t.Logf("rejected: %v", err)
		})
	}
}

// conformanceDir is ../shared/conformance/sigstore-bundle-verify beside the repository, read in place.
func conformanceDir(t testing.TB) string { return repotest.Conformance(t, "sigstore-bundle-verify") }
