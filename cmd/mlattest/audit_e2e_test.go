package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlattest/mlattest/internal/stacktest"
	"github.com/mlattest/mlattest/internal/tileserve"
)

// signedEntries has who sign n one-file steps keylessly with issuer and
// returns the Rekor log index of every bundle written.
func signedEntries(t *testing.T, s *stacktest.Stack, issuer int, who string, n int) []uint64 {
	t.Helper()
	dir := t.TempDir()
	env := stackEnv(s, s.Token(t, issuer, who))
	var idx []uint64
	for i := range n {
		f := fmt.Sprintf("f%d.txt", i)
		writeFile(t, filepath.Join(dir, f), who+f)
		out := filepath.Join(dir, fmt.Sprintf("out%d", i))
		if r := mlattest(t, dir, env, "attest", "--step", fmt.Sprintf("s%d", i), "--run-id", "audit-e2e", "--out", out,
			"--products", f, "--exit-code", "0"); r.code != 0 {
			t.Fatalf("attest: %v", r)
		}
		files, _ := filepath.Glob(filepath.Join(out, "*.sigstore.json"))
		if len(files) == 0 {
			t.Fatalf("no bundle in %s", out)
		}
		for _, b := range files {
			idx = append(idx, bundleLogIndex(t, b))
		}
	}
	slices.Sort(idx)
	return idx
}

func bundleLogIndex(t *testing.T, path string) uint64 {
	t.Helper()
	var b struct {
		VerificationMaterial struct {
			TlogEntries []struct {
				LogIndex string `json:"logIndex"`
			} `json:"tlogEntries"`
		} `json:"verificationMaterial"`
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &b); err != nil || len(b.VerificationMaterial.TlogEntries) != 1 {
		t.Fatalf("%s: %v, %d tlog entries", path, err, len(b.VerificationMaterial.TlogEntries))
	}
	i, err := strconv.ParseUint(b.VerificationMaterial.TlogEntries[0].LogIndex, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// searchIndices runs audit search --json and returns the indices listed.
func searchIndices(t *testing.T, env []string, args ...string) []uint64 {
	t.Helper()
	r := mlattest(t, t.TempDir(), env, append([]string{"audit", "search", "--json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("audit search %v: %v", args, r)
	}
	var out struct {
		Entries []struct {
			Index uint64 `json:"index"`
		} `json:"entries"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	idx := []uint64{}
	for _, e := range out.Entries {
		idx = append(idx, e.Index)
	}
	return idx
}

// TestE2EAuditSearch signs with the stack's two issuers and finds exactly
// each identity's entries in the private Rekor v2 through its read URL;
// a served copy with an edited checkpoint or entry fails with the reason.
func TestE2EAuditSearch(t *testing.T) {
	s := stacktest.Get(t)
	readURL := s.ReadURL(t)
	tag := strconv.FormatInt(time.Now().UnixNano(), 36)
	alice, bob := "audit-"+tag+"-alice@example.com", "audit-"+tag+"-bob@example.com"
	// Only the first search reads the whole (shared, growing) log.
	start := fmt.Sprint(logSize(t, s))
	aliceIdx := signedEntries(t, s, 1, alice, 3)
	bobIdx := signedEntries(t, s, 2, bob, 2)
	env := []string{"MLATTEST_TRUSTED_ROOT=" + s.TrustedRoot, "MLATTEST_REKOR_READ_URL=" + readURL}

	tests := []struct {
		name string
		args []string
		want []uint64
	}{
		{"alice", []string{"--identity", alice}, aliceIdx},
		{"bob", []string{"--identity", bob, "--issuer", s.Issuer2, "--from", start}, bobIdx},
		{"bob is not issuer 1's", []string{"--identity", bob, "--issuer", s.Issuer1, "--from", start}, []uint64{}},
		{"both by regexp, from alice's first", []string{"--identity-regexp", "audit-" + tag + "-.*", "--from", fmt.Sprint(aliceIdx[0])},
			slices.Sorted(slices.Values(append(slices.Clone(aliceIdx), bobIdx...)))},
		{"range stops before bob", []string{"--identity-regexp", "audit-" + tag + "-.*", "--from", start, "--to", fmt.Sprint(aliceIdx[len(aliceIdx)-1] + 1)}, aliceIdx},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := searchIndices(t, env, tc.args...)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("human output", func(t *testing.T) {
		r := mlattest(t, t.TempDir(), env, "audit", "search", "--identity", bob, "--from", start)
		if r.code != 0 || strings.Count(r.stdout, bob+" ("+s.Issuer2+")") != len(bobIdx) || !strings.Contains(r.stderr, "verified") {
			t.Fatalf("%v", r)
		}
	})

	// Tampering with a served copy of the log's storage.
	tamper := []struct {
		name   string
		edit   func(t *testing.T, dir string)
		reason string
	}{
		{"checkpoint", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "checkpoint")
			b, _ := os.ReadFile(p)
			lines := bytes.SplitN(b, []byte("\n"), 3)
			n, _ := strconv.Atoi(string(lines[1]))
			lines[1] = []byte(strconv.Itoa(n + 1))
			writeFile(t, p, string(bytes.Join(lines, []byte("\n"))))
		}, "checkpoint rejected: failed to verify signatures"},
		{"entry", func(t *testing.T, dir string) {
			// alice's first entry: her subject in the certificate is
			// base64, so change a byte of the signed digest instead.
			i := aliceIdx[0]
			p := filepath.Join(dir, "tile", "entries", entriesName(t, dir, i))
			b, _ := os.ReadFile(p)
			k := bytes.Index(b, []byte(`"digest":"`))
			for range i % 256 {
				k += 1 + bytes.Index(b[k+1:], []byte(`"digest":"`))
			}
			c := &b[k+len(`"digest":"`)]
			*c = map[bool]byte{true: 'B', false: 'A'}[*c == 'A']
			writeFile(t, p, string(b))
		}, "does not hash to the level-0 hash tile"},
	}
	for _, tc := range tamper {
		t.Run("tampered "+tc.name, func(t *testing.T) {
			dir := copyLogDir(t, filepath.Join(s.Dir, "rekor-log"))
			tc.edit(t, dir)
			srv := httptest.NewServer(tileserve.Handler(dir))
			defer srv.Close()
			r := mlattest(t, t.TempDir(), env, "audit", "search", "--log", srv.URL, "--identity", alice, "--from", fmt.Sprint(aliceIdx[0]/256*256))
			if r.code != 1 || !strings.Contains(r.stderr, tc.reason) || r.stdout != "" {
				t.Fatalf("want exit 1 with %q and no entries: %v", tc.reason, r)
			}
		})
	}
}

// logSize is the size of the stack's log's latest checkpoint.
func logSize(t *testing.T, s *stacktest.Stack) uint64 {
	t.Helper()
	cp, err := os.ReadFile(filepath.Join(s.Dir, "rekor-log", "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(strings.Split(string(cp), "\n")[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// entriesName is the file of the entry bundle holding entry i in dir
// (full, or the partial the log has written).
func entriesName(t *testing.T, dir string, i uint64) string {
	t.Helper()
	full := fmt.Sprintf("%03d", i/256)
	if _, err := os.Stat(filepath.Join(dir, "tile", "entries", full)); err == nil {
		return full
	}
	cp, _ := os.ReadFile(filepath.Join(dir, "checkpoint"))
	n, _ := strconv.ParseUint(strings.Split(string(cp), "\n")[1], 10, 64)
	return filepath.Join(full+".p", fmt.Sprint(n%256))
}

// copyLogDir copies a log's checkpoint and tiles (the log keeps writing
// its own; the copy is a consistent snapshot once its checkpoint is copied
// first: tiles are only ever added).
func copyLogDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	cp, err := os.ReadFile(filepath.Join(src, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(filepath.Join(src, "tile"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dst, "checkpoint"), string(cp))
	return dst
}
