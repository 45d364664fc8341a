package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/sign"
	"github.com/mlattest/mlattest/verify"
)

// memBundles and memLimit are issue 10's acceptance: verify over 16 bundles
// of 60 MB each peaks under 300 MB RSS.
const (
	memBundles = 16
	memLimit   = 300 << 20
)

// TestVerifyMemoryHostileBundles measures the peak RSS of `mlattest verify`
// (the real binary, as a child: rusage maxrss) over 16 large hostile
// bundles, each signed offline with a key (not the functionary's) so that
// it is decoded, strictly checked and signature-checked, not refused early:
//
//   - "60MB": a 32 MiB statement (the statement limit) padded with
//     whitespace to 60 MB of bundle: over verify.MaxBundleSize (about
//     46.7 MiB), refused by its stat size unread;
//   - "under-limit": the same padded to just under MaxBundleSize;
//   - "under-limit-oversize-payload": a 36 MB payload (over the statement
//     limit, refused once decoded) just under MaxBundleSize.
//
// "under-limit-functionary" is "under-limit" signed with the functionary's
// key: every statement verifies and is kept for evaluation, so memory grows
// with their sum; its figure is printed, not held to the limit (a
// functionary can exhaust a verifier by signing huge statements, hostile
// input cannot).
//
// It writes about 1 GB per variant, so it runs only with
// MLATTEST_MEMTEST=1 (scripts/bench.sh sets it).
func TestVerifyMemoryHostileBundles(t *testing.T) {
	if os.Getenv("MLATTEST_MEMTEST") != "1" {
		t.Skip("set MLATTEST_MEMTEST=1 (writes ~1 GB per variant; run by make bench)")
	}
	timePath, err := exec.LookPath("/usr/bin/time")
	if err != nil {
		t.Skip("needs GNU time (/usr/bin/time) to measure the child's peak RSS")
	}
	owner, fn, attacker := memKey(t), memKey(t), memKey(t)
	dir := t.TempDir()
	layout := filepath.Join(dir, "layout.yaml")
	y := fmt.Sprintf(`serial: 1
expires: "2099-01-01T00:00:00Z"
functionaries:
  a:
    key: |
%s
steps:
  - name: train
    functionaries: [a]
subject:
  step: train
`, memIndent(memPEM(t, &fn.PublicKey)))
	writeFile(t, layout, y)
	ownerPub := filepath.Join(dir, "owner.pub")
	writeFile(t, ownerPub, memPEM(t, &owner.PublicKey))
	writeFile(t, layout+".sigstore.json", string(memSign(t, owner, []byte(y), true)))
	model := filepath.Join(dir, "model")
	writeFile(t, filepath.Join(model, "model.bin"), "weights")

	for _, v := range []struct {
		name              string
		payload, bundleSz int
		signer            *ecdsa.PrivateKey
	}{
		{"60MB", predicates.MaxStatementSize, 60_000_000, attacker},
		{"under-limit", predicates.MaxStatementSize, verify.MaxBundleSize - 4096, attacker},
		{"under-limit-oversize-payload", 36_000_000, verify.MaxBundleSize - 4096, attacker},
		{"under-limit-functionary", predicates.MaxStatementSize, verify.MaxBundleSize - 4096, fn},
	} {
		t.Run(v.name, func(t *testing.T) {
			att := filepath.Join(t.TempDir(), "att")
			if err := os.Mkdir(att, 0o755); err != nil {
				t.Fatal(err)
			}
			b := memSign(t, v.signer, memStatement(t, v.payload), false)
			if len(b) > v.bundleSz {
				t.Fatalf("bundle of %d bytes before padding, want %d", len(b), v.bundleSz)
			}
			// Whitespace before the closing brace: still one valid bundle.
			end := bytes.LastIndexByte(b, '}')
			padded := append(append(append(make([]byte, 0, v.bundleSz), b[:end]...), bytes.Repeat([]byte(" "), v.bundleSz-len(b))...), b[end:]...)
			for i := range memBundles {
				if err := os.WriteFile(filepath.Join(att, fmt.Sprintf("b%02d.sigstore.json", i)), padded, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// GNU time forks the child from its own small process: a child
			// of this test would start with the test's high-water RSS (Linux
			// keeps it across exec), which holds the bundles just built.
			rssFile := filepath.Join(t.TempDir(), "rss")
			cmd := exec.Command(timePath, "-f", "%M", "-o", rssFile, binPath, "verify", "--layout", layout, "--layout-key", ownerPub,
				"--attestations", att, "--model", model, "--json")
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			if cmd.ProcessState == nil {
				t.Fatalf("verify did not run: %v", err)
			}
			if code := cmd.ProcessState.ExitCode(); code != exitRejected {
				t.Fatalf("want exit 1, got %d\n%s\n%s", code, out.String(), errb.String())
			}
			kb, err := os.ReadFile(rssFile)
			if err != nil {
				t.Fatal(err)
			}
			// The last line (GNU time first notes a non-zero exit status).
			lines := strings.Split(strings.TrimSpace(string(kb)), "\n")
			rss, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
			if err != nil {
				t.Fatalf("time -f %%M: %q: %v", kb, err)
			}
			rss *= 1024
			t.Logf("%d bundles of %d bytes (payload %d): peak RSS %d MiB (limit %d MiB)",
				memBundles, v.bundleSz, v.payload, rss>>20, memLimit>>20)
			fmt.Printf("acceptance: verify over %d bundles of %d bytes (%s): peak RSS %d MiB, limit %d MiB\n",
				memBundles, v.bundleSz, v.name, rss>>20, memLimit>>20)
			if rss >= memLimit && v.signer != fn {
				t.Errorf("peak RSS %d MiB, want under %d MiB", rss>>20, memLimit>>20)
			}
		})
	}
}

func memKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func memPEM(t *testing.T, pub *ecdsa.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func memIndent(s string) string {
	return "      " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n      ")
}

// memStatement is a statement of exactly size bytes: an unknown predicate
// type (accepted unchecked) whose predicate is one long string.
func memStatement(t *testing.T, size int) []byte {
	t.Helper()
	st := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       []*intoto.ResourceDescriptor{{Name: "model.bin", Digest: map[string]string{"sha256": strings.Repeat("a", 64)}}},
		PredicateType: "https://example.com/padding/v1",
		Predicate:     &structpb.Struct{Fields: map[string]*structpb.Value{"pad": structpb.NewStringValue("")}},
	}
	p, err := predicates.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(p, []byte(`"pad":""`)) + len(`"pad":"`)
	return append(append(append(make([]byte, 0, size), p[:i]...), bytes.Repeat([]byte("x"), size-len(p))...), p[i:]...)
}

// memSign signs a statement (or a blob) offline with k.
func memSign(t *testing.T, k *ecdsa.PrivateKey, data []byte, blob bool) []byte {
	t.Helper()
	sg, err := sign.New(sign.WithKey(k), sign.WithOffline())
	if err != nil {
		t.Fatal(err)
	}
	f := sg.SignStatement
	if blob {
		f = sg.SignBlob
	}
	pb, err := f(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	out, err := sign.MarshalBundle(pb)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
