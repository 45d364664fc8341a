package audit

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/mlattest/mlattest/internal/rekorv1replay"
	"github.com/mlattest/mlattest/internal/repotest"
)

const (
	beaconIdentity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
	githubIssuer   = "https://token.actions.githubusercontent.com"
	ibmIdentity    = "stefanb@us.ibm.com"
	ibmIssuer      = "https://sigstore.verify.ibm.com/oauth2"
)

// v1Cases are the public-good Rekor v1 entries recorded in
// the recording "publicgood", by the conformance bundle that carries each.
var v1Cases = []struct {
	name, bundle     string
	index            int64
	kind             string
	subject, issuer  string
	bundleTreeHeadSz uint64
}{
	{"hashedrekord v0.1 bundle", "sigstore-bundle-verify/happy-path-v0.1/bundle.sigstore.json", 27246492, KindHashedRekord, beaconIdentity, githubIssuer, 23083062},
	{"hashedrekord v0.3 bundle", "sigstore-bundle-verify/happy-path-v0.3/bundle.sigstore.json", 79571823, KindHashedRekord, beaconIdentity, githubIssuer, 75408393},
	{"dsse in-toto", "sigstore-bundle-verify/happy-path-intoto-in-dsse-v3/bundle.sigstore.json", 155690850, KindDSSE, beaconIdentity, githubIssuer, 33786589},
	{"model-signing v0.3.1", "model-signing/v0.3.1-sigstore/model.sig", 206342049, KindDSSE, ibmIdentity, ibmIssuer, 84437788},
	{"model-signing v1.0.0", "model-signing/v1.0.0-sigstore/model.sig", 206344181, KindDSSE, ibmIdentity, ibmIssuer, 84439920},
	{"model-signing v1.0.1", "model-signing/v1.0.1-sigstore/model.sig", 588939812, KindDSSE, ibmIdentity, ibmIssuer, 467035599},
	{"model-signing v1.1.0", "model-signing/v1.1.0-sigstore/model.sig", 598151086, KindDSSE, ibmIdentity, ibmIssuer, 476246825},
}

// serveV1 serves the recording NAME of rekorv1replay.Recordings, built from
// the conformance bundles into dir (tests may edit the files under dir to
// tamper with what the log serves).
func serveV1(t testing.TB, name string) (url, dir string) {
	t.Helper()
	dir = rekorv1replay.Conformance(t, name)
	srv := httptest.NewServer(rekorv1replay.Handler(dir))
	t.Cleanup(srv.Close)
	return srv.URL, dir
}

func loadRoot(t testing.TB, path string) root.TrustedMaterial {
	t.Helper()
	tr, err := root.NewTrustedRootFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func publicGood(t testing.TB) root.TrustedMaterial {
	return loadRoot(t, repotest.Conformance(t, "trusted_root.public-good.json"))
}

func openV1(t testing.TB, url string, tm root.TrustedMaterial) *RekorV1 {
	t.Helper()
	l, err := OpenRekorV1(url, tm, WithRetry(time.Second, 10*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func loadConformanceBundle(t testing.TB, rel string) *bundle.Bundle {
	t.Helper()
	b, err := bundle.LoadJSONFromPath(repotest.Conformance(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signedDigest is what a Rekor v1 entry of the bundle records as signed:
// the message digest, or the DSSE payload's SHA-256.
func signedDigest(b *bundle.Bundle) string {
	if env := b.GetDsseEnvelope(); env != nil {
		h := sha256.Sum256(env.GetPayload())
		return hex.EncodeToString(h[:])
	}
	return hex.EncodeToString(b.GetMessageSignature().GetMessageDigest().GetDigest())
}

// TestRekorV1Entries: every recorded public-good entry is fetched by index
// and by UUID, proven (inclusion, tree head signature, SET with the
// public-good log key), parsed into the entry model, and its bundle
// re-verified against it.
func TestRekorV1Entries(t *testing.T) {
	url, _ := serveV1(t, "publicgood")
	l := openV1(t, url, publicGood(t))
	ctx := context.Background()
	for _, c := range v1Cases {
		t.Run(c.name, func(t *testing.T) {
			b := loadConformanceBundle(t, c.bundle)
			tle := b.GetVerificationMaterial().GetTlogEntries()[0]
			e, cp, err := l.EntryByIndex(ctx, c.index)
			if err != nil {
				t.Fatal(err)
			}
			if e.Index != uint64(c.index) || e.Kind != c.kind || e.APIVersion != "0.0.1" || len(e.Signers) != 1 {
				t.Fatalf("entry %+v", e)
			}
			if s := e.Signers[0]; s.Subject != c.subject || s.Issuer != c.issuer || s.NotBefore == nil {
				t.Errorf("signer %+v, want %s (%s)", s.Signer, c.subject, c.issuer)
			}
			if e.Digest != (Digest{"sha256", signedDigest(b)}) {
				t.Errorf("digest %s, want the bundle's %s", e.Digest, signedDigest(b))
			}
			if e.IntegratedTime == nil || e.IntegratedTime.Unix() != tle.GetIntegratedTime() || len(e.UUID) != 80 {
				t.Errorf("integrated %v uuid %q", e.IntegratedTime, e.UUID)
			}
			if cp.Size != c.bundleTreeHeadSz || !strings.HasPrefix(cp.Origin, "rekor.sigstore.dev - ") {
				t.Errorf("tree head %s size %d", cp.Origin, cp.Size)
			}
			for _, id := range []string{e.UUID, e.UUID[16:], strings.ToUpper(e.UUID)} {
				byUUID, _, err := l.EntryByUUID(ctx, id)
				if err != nil || byUUID.Index != e.Index {
					t.Errorf("by UUID %s: %v", id, err)
				}
			}
			be, err := l.VerifyBundle(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			if be.BundleCheckpoint == nil || be.BundleCheckpoint.Size != c.bundleTreeHeadSz || be.Entry.Index != uint64(c.index) {
				t.Errorf("bundle entry %+v", be)
			}
		})
	}
}

// TestRekorV1IntotoEntry: the intoto 0.0.2 kind, in the conformance suite's
// own log with its own trusted root.
func TestRekorV1IntotoEntry(t *testing.T) {
	url, _ := serveV1(t, "intoto-custom-root")
	dir := "sigstore-bundle-verify/intoto-with-custom-trust-root/"
	l := openV1(t, url, loadRoot(t, repotest.Conformance(t, dir+"trusted_root.json")))
	b := loadConformanceBundle(t, dir+"bundle.sigstore.json")
	be, err := l.VerifyBundle(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if e := be.Entry; e.Kind != KindIntoto || e.APIVersion != "0.0.2" || e.Digest.Hex != signedDigest(b) || len(e.Signers) != 1 || e.Signers[0].Subject == "" {
		t.Fatalf("entry %+v %+v", e, e.Signers)
	}
	// The same entry under the public-good root: a log it does not know.
	_, err = openV1(t, url, publicGood(t)).VerifyBundle(context.Background(), b)
	if !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), "not a log of the trusted root") {
		t.Fatalf("err %v", err)
	}
}

func TestRekorV1Search(t *testing.T) {
	url, _ := serveV1(t, "publicgood")
	l := openV1(t, url, publicGood(t))
	aTxt := signedDigest(loadConformanceBundle(t, v1Cases[1].bundle))
	tests := []struct {
		name string
		q    Query
		want []uint64
	}{
		{"email", Query{Subject: ibmIdentity}, []uint64{206342049, 206344181, 588939812, 598151086}},
		{"workflow URI", Query{Subject: beaconIdentity}, []uint64{27246492, 79571823, 155690850}},
		{"sha256", Query{Digest: "sha256:" + aTxt}, []uint64{27246492, 79571823}},
		{"bare sha256", Query{Digest: aTxt}, []uint64{27246492, 79571823}},
		{"identity and digest", Query{Subject: beaconIdentity, Digest: aTxt}, []uint64{27246492, 79571823}},
		{"issuer narrows", Query{Subject: ibmIdentity, Issuer: githubIssuer}, nil},
		{"regexp narrows", Query{Subject: ibmIdentity, SubjectRegexp: "nobody@.*"}, nil},
		{"unknown email", Query{Subject: "nobody@example.com"}, nil},
		{"digest of another kind of entry", Query{Subject: ibmIdentity, Digest: aTxt}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := l.Search(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []uint64
			for _, e := range res.Matches {
				got = append(got, e.Index)
			}
			if !slices.Equal(got, tc.want) || len(res.Unreadable) != 0 {
				t.Fatalf("matches %v unreadable %v, want %v", got, res.Unreadable, tc.want)
			}
			if res.Checkpoint.Size != 476246825 {
				t.Errorf("current tree head size %d", res.Checkpoint.Size)
			}
		})
	}
	for _, q := range []Query{{SubjectRegexp: ".*"}, {Issuer: githubIssuer}, {KeyID: "sha256:00"}, {Digest: "sha384:" + strings.Repeat("0", 96)}} {
		if _, err := l.Search(context.Background(), q); !errors.Is(err, ErrQuery) {
			t.Errorf("%+v: err %v, want ErrQuery", q, err)
		}
	}
}

// editEntry rewrites the recorded answer for entry id in dir.
func editEntry(t testing.TB, dir, id string, edit func(e *models.LogEntryAnon)) {
	t.Helper()
	p := filepath.Join(dir, "entries", id+".json")
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var le models.LogEntry
	if err := json.Unmarshal(raw, &le); err != nil {
		t.Fatal(err)
	}
	e := le[id]
	edit(&e)
	le[id] = e
	if raw, err = json.Marshal(le); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readEntry(t testing.TB, dir, id string) models.LogEntryAnon {
	t.Helper()
	var e models.LogEntryAnon
	editEntry(t, dir, id, func(le *models.LogEntryAnon) { e = *le })
	return e
}

// publicGoodWithKey is the public-good trusted root with the key of its
// Rekor v1 log replaced (same log id and URL).
func publicGoodWithKey(t testing.TB) root.TrustedMaterial {
	t.Helper()
	raw, err := os.ReadFile(repotest.Conformance(t, "trusted_root.public-good.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tr map[string]any
	if err := json.Unmarshal(raw, &tr); err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	for _, tl := range tr["tlogs"].([]any) {
		if tl.(map[string]any)["baseUrl"] == "https://rekor.sigstore.dev" {
			tl.(map[string]any)["publicKey"].(map[string]any)["rawBytes"] = base64.StdEncoding.EncodeToString(der)
		}
	}
	raw, _ = json.Marshal(tr)
	tm, err := root.NewTrustedRootFromJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// TestRekorV1Rejects: what a log serves wrong is refused for the right
// reason: each case edits one recorded answer of the entry of the v0.3
// bundle (index 79571823).
func TestRekorV1Rejects(t *testing.T) {
	const id = "24296fb24b8ad77aaee3c920bb1132e929ed20e1c194579a60e95849f7a554e0033fdd26ee221629"
	const other = "24296fb24b8ad77a86407f5cc9c6f0d1a84fede6cfe1265fe0b3e1a4e21b4c0695e4a021ec11338f" // the v0.1 bundle's, same tree
	tests := []struct {
		name   string
		edit   func(t *testing.T, dir string)
		root   func(t testing.TB) root.TrustedMaterial
		want   error
		reason string
	}{
		{"tampered body", func(t *testing.T, dir string) {
			editEntry(t, dir, id, func(e *models.LogEntryAnon) {
				body, _ := base64.StdEncoding.DecodeString(e.Body.(string))
				body = []byte(strings.Replace(string(body), `"sha256"`, `"sha512"`, 1))
				e.Body = base64.StdEncoding.EncodeToString(body)
			})
		}, nil, ErrTampered, "does not hash to the entry's UUID"},
		{"body of another entry", func(t *testing.T, dir string) {
			o := readEntry(t, dir, other)
			editEntry(t, dir, id, func(e *models.LogEntryAnon) { e.Body = o.Body })
		}, nil, ErrTampered, "does not hash to the entry's UUID"},
		{"wrong inclusion proof", func(t *testing.T, dir string) {
			editEntry(t, dir, id, func(e *models.LogEntryAnon) {
				h := e.Verification.InclusionProof.Hashes
				h[3], h[4] = h[4], h[3]
			})
		}, nil, ErrNotInLog, "inclusion proof does not verify"},
		{"proof of another tree size", func(t *testing.T, dir string) {
			editEntry(t, dir, id, func(e *models.LogEntryAnon) { *e.Verification.InclusionProof.TreeSize-- })
		}, nil, ErrNotInLog, "under a tree head of size 75408393"},
		{"proof under another entry's tree head", func(t *testing.T, dir string) {
			o := readEntry(t, dir, other)
			editEntry(t, dir, id, func(e *models.LogEntryAnon) {
				e.Verification.InclusionProof.Checkpoint = o.Verification.InclusionProof.Checkpoint
			})
		}, nil, ErrNotInLog, "under a tree head of size 23083062"},
		{"tampered tree head", func(t *testing.T, dir string) {
			editEntry(t, dir, id, func(e *models.LogEntryAnon) {
				cp := *e.Verification.InclusionProof.Checkpoint
				*e.Verification.InclusionProof.Checkpoint = strings.Replace(cp, "\n75408393\n", "\n75408394\n", 1)
			})
		}, nil, ErrCheckpoint, "not signed by the key of that log"},
		{"signed entry timestamp of another entry", func(t *testing.T, dir string) {
			o := readEntry(t, dir, other)
			editEntry(t, dir, id, func(e *models.LogEntryAnon) {
				e.Verification.SignedEntryTimestamp = o.Verification.SignedEntryTimestamp
			})
		}, nil, ErrTampered, "signed entry timestamp does not verify"},
		{"integrated time changed", func(t *testing.T, dir string) {
			editEntry(t, dir, id, func(e *models.LogEntryAnon) { *e.IntegratedTime++ })
		}, nil, ErrTampered, "signed entry timestamp does not verify"},
		{"no inclusion proof", func(t *testing.T, dir string) {
			editEntry(t, dir, id, func(e *models.LogEntryAnon) { e.Verification.InclusionProof = nil })
		}, nil, ErrNotInLog, "without an inclusion proof"},
		{"entry missing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "entries", id+".json"))
		}, nil, ErrNotInLog, "the log has no entry 79571823"},
		{"wrong log key", nil, publicGoodWithKey, ErrCheckpoint, "not signed by the key of that log"},
		{"log not in the trusted root", nil, func(t testing.TB) root.TrustedMaterial {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			return trustedRootFor(t, &k.PublicKey)
		}, ErrCheckpoint, "not a log of the trusted root"},
	}
	b := loadConformanceBundle(t, v1Cases[1].bundle)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url, dir := serveV1(t, "publicgood")
			if tc.edit != nil {
				tc.edit(t, dir)
			}
			tm := publicGood(t)
			if tc.root != nil {
				tm = tc.root(t)
			}
			_, err := openV1(t, url, tm).VerifyBundle(context.Background(), b)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("err %v, want %v: %q", err, tc.want, tc.reason)
			}
		})
	}
}

// TestRekorV1LogInfoRejects: the current tree heads Search reports are
// verified too.
func TestRekorV1LogInfoRejects(t *testing.T) {
	for name, edit := range map[string]func(s string) string{
		"tree head":        func(s string) string { return strings.Replace(s, `\n476246825\n`, `\n476246826\n`, 1) },
		"size beside it":   func(s string) string { return strings.Replace(s, `"treeSize": 476246825`, `"treeSize": 476246826`, 1) },
		"inactive shard":   func(s string) string { return strings.Replace(s, `\n75408393\n`, `\n75408392\n`, 1) },
		"not a log at all": func(string) string { return `{"checkpoint": "x"}` },
		"tree id beside it": func(s string) string {
			return strings.Replace(s, `"treeID": "1193050959916656506"`, `"treeID": "1193050959916656507"`, 1)
		},
	} {
		t.Run(name, func(t *testing.T) {
			url, dir := serveV1(t, "publicgood")
			p := filepath.Join(dir, "log.json")
			raw, _ := os.ReadFile(p)
			edited := edit(string(raw))
			if edited == string(raw) {
				t.Fatal("edit changed nothing")
			}
			os.WriteFile(p, []byte(edited), 0o644)
			_, err := openV1(t, url, publicGood(t)).Search(context.Background(), Query{Subject: ibmIdentity})
			if !errors.Is(err, ErrCheckpoint) && !errors.Is(err, ErrTampered) {
				t.Fatalf("err %v", err)
			}
		})
	}
}

// TestRekorV1Unavailable: a log that answers 503 or not at all is
// ErrUnavailable after the retry deadline, with the URL.
func TestRekorV1Unavailable(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for name, url := range map[string]string{"503": down.URL, "closed": closed.URL} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, err := openV1(t, url, publicGood(t)).LogInfo(context.Background())
			var ue *UnavailableError
			if !errors.Is(err, ErrUnavailable) || !errors.As(err, &ue) || !strings.Contains(ue.URL, "/api/v1/log") {
				t.Fatalf("err %v", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("gave up after %s, deadline 1s", d)
			}
		})
	}
}
