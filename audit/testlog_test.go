package audit

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	rekornote "github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"

	"github.com/mlattest/mlattest/internal/tileserve"
)

// testOrigin is the checkpoint origin of test logs: the host of the trusted
// root's base URL.
const testOrigin = "log.test"

// testLog is a real tessera POSIX log in a temp directory, served read-only
// by tileserve over httptest, with the trusted root holding its key.
type testLog struct {
	dir      string
	key      *ecdsa.PrivateKey
	tm       root.TrustedMaterial
	srv      *httptest.Server
	appender *tessera.Appender
	awaiter  *tessera.PublicationAwaiter
	shutdown func(context.Context) error
}

// newTestLog starts an empty log signed with key (a new key when nil).
func newTestLog(t testing.TB, key *ecdsa.PrivateKey) *testLog {
	t.Helper()
	if key == nil {
		var err error
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	driver, err := posix.New(ctx, posix.Config{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadECDSASignerVerifier(key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := rekornote.NewNoteSigner(ctx, testOrigin, sv)
	if err != nil {
		t.Fatal(err)
	}
	opts := tessera.NewAppendOptions().WithCheckpointSigner(ns).
		WithBatching(256, 20*time.Millisecond).WithCheckpointInterval(100 * time.Millisecond)
	app, shutdown, reader, err := tessera.NewAppender(ctx, driver, opts)
	if err != nil {
		t.Fatal(err)
	}
	l := &testLog{dir: dir, key: key, appender: app, shutdown: shutdown,
		awaiter: tessera.NewPublicationAwaiter(ctx, reader.ReadCheckpoint, 20*time.Millisecond)}
	l.tm = trustedRootFor(t, &key.PublicKey)
	l.srv = httptest.NewServer(tileserve.Handler(dir))
	t.Cleanup(func() {
		l.srv.Close()
		_ = shutdown(context.Background())
		cancel()
	})
	return l
}

// trustedRootFor is a trusted root whose one Rekor log has key pub.
func trustedRootFor(t testing.TB, pub crypto.PublicKey) root.TrustedMaterial {
	t.Helper()
	tl := &root.TransparencyLog{
		BaseURL: "https://" + testOrigin, ID: []byte("test"), HashFunc: crypto.SHA256,
		PublicKey: pub, SignatureHashFunc: crypto.SHA256, ValidityPeriodStart: time.Unix(0, 0),
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, nil, nil, nil, map[string]*root.TransparencyLog{"test": tl})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// add appends entries and waits until a checkpoint covers them all.
func (l *testLog) add(t testing.TB, entries ...[]byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	futures := make([]tessera.IndexFuture, len(entries))
	for i, e := range entries {
		futures[i] = l.appender.Add(ctx, tessera.NewEntry(e))
	}
	for _, f := range futures {
		if _, _, err := l.awaiter.Await(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
}

// open reads the log with fast retries.
func (l *testLog) open(t testing.TB, opts ...Option) *Log {
	t.Helper()
	opts = append([]Option{WithRetry(2*time.Second, 10*time.Millisecond, 100*time.Millisecond)}, opts...)
	lg, err := Open(l.srv.URL, l.tm, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return lg
}

// copyDir serves a copy of the log's files, for tampering.
func (l *testLog) copyServed(t testing.TB) (dir, url string) {
	t.Helper()
	dir = t.TempDir()
	err := filepath.WalkDir(l.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(l.dir, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tileserve.Handler(dir))
	t.Cleanup(srv.Close)
	return dir, srv.URL
}

// fakeSigstore issues Fulcio-like certificates for test entries.
func fakeSigstore(t testing.TB) *ca.VirtualSigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// hashedRekordEntry is a Rekor v2 hashedrekord entry for digest, signed by a
// fresh certificate for identity at issuer (the signature is not checked by
// the auditor, so random bytes do).
func hashedRekordEntry(t testing.TB, vs *ca.VirtualSigstore, identity, issuer string, digest []byte) []byte {
	t.Helper()
	cert, _, err := vs.GenerateLeafCert(identity, issuer)
	if err != nil {
		t.Fatal(err)
	}
	return hashedRekordEntryFromCert(t, cert.Raw, digest)
}

// hashedRekordEntryFromCert is a hashedrekord entry signed by certDER.
func hashedRekordEntryFromCert(t testing.TB, certDER, digest []byte) []byte {
	t.Helper()
	sig := make([]byte, 64)
	_, _ = rand.Read(sig)
	e := map[string]any{
		"apiVersion": "0.0.2", "kind": "hashedrekord",
		"spec": map[string]any{"hashedRekordV002": map[string]any{
			"data": map[string]any{"algorithm": "SHA2_256", "digest": digest},
			"signature": map[string]any{"content": sig, "verifier": map[string]any{
				"keyDetails": "PKIX_ECDSA_P256_SHA_256", "x509Certificate": map[string]any{"rawBytes": certDER}}},
		}},
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sha(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}
