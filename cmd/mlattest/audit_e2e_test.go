package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
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
	return signedEntriesIn(t, t.TempDir(), s, issuer, who, n)
}

// signedEntriesIn is signedEntries writing step i's bundles to dir/out<i>.
func signedEntriesIn(t *testing.T, dir string, s *stacktest.Stack, issuer int, who string, n int) []uint64 {
	t.Helper()
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
	// Chosen by the copied checkpoint's size, not by which files exist: the
	// log may have filled the tile after the checkpoint was copied, and a
	// reader of that checkpoint still reads the partial tile.
	full := fmt.Sprintf("%03d", i/256)
	cp, _ := os.ReadFile(filepath.Join(dir, "checkpoint"))
	n, _ := strconv.ParseUint(strings.Split(string(cp), "\n")[1], 10, 64)
	if n >= (i/256+1)*256 {
		return full
	}
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

type monitorOut struct {
	From, To           uint64
	FunctionaryEntries []struct{ Index uint64 }
	Alarms             []struct {
		Code  string
		Index uint64
	}
}

// TestE2EAuditMonitor watches the stack's log for a functionary: run
// twice, the second run reports only the new entries and raises the alarm
// for the functionary's entry no kept bundle holds; a log that is down, or
// rolled back, leaves the state as it was; runs killed at random points
// never commit part of a range.
func TestE2EAuditMonitor(t *testing.T) {
	s := stacktest.Get(t)
	readURL := s.ReadURL(t)
	tag := strconv.FormatInt(time.Now().UnixNano(), 36)
	alice, bob := "monitor-"+tag+"-alice@example.com", "monitor-"+tag+"-bob@example.com"
	work := t.TempDir()
	layout := filepath.Join(work, "layout.yaml")
	writeFile(t, layout, "serial: 1\nexpires: \"2099-01-01T00:00:00Z\"\nfunctionaries:\n  trainer:\n    keyless:\n      issuer: "+s.Issuer1+
		"\n      subject: "+alice+"\nsteps:\n  - name: s0\n    functionaries: [trainer]\nsubject:\n  step: s0\n")
	att := filepath.Join(work, "att")
	if err := os.MkdirAll(att, 0o755); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(work, "state.json")
	env := []string{"MLATTEST_TRUSTED_ROOT=" + s.TrustedRoot, "MLATTEST_REKOR_READ_URL=" + readURL}
	monitor := func(t *testing.T, args ...string) (cliResult, monitorOut) {
		t.Helper()
		r := mlattest(t, work, env, append([]string{"audit", "monitor", "--json", "--state", state, "--layout", layout, "--attestations", att}, args...)...)
		var out monitorOut
		if r.code < 2 && r.stdout != "" {
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
				t.Fatalf("%v: %v", err, r)
			}
		}
		return r, out
	}
	snapshot := copyLogDir(t, filepath.Join(s.Dir, "rekor-log"))

	r, first := monitor(t)
	if r.code != 0 || first.From != 0 || len(first.FunctionaryEntries) != 0 {
		t.Fatalf("first run: %v", r)
	}
	signs := filepath.Join(work, "signs")
	aliceIdx := signedEntriesIn(t, signs, s, 1, alice, 2)
	_ = signedEntries(t, s, 2, bob, 1)
	// The pipeline kept step 0's bundles only.
	kept, _ := filepath.Glob(filepath.Join(signs, "out0", "*.sigstore.json"))
	for _, f := range kept {
		b, _ := os.ReadFile(f)
		writeFile(t, filepath.Join(att, filepath.Base(f)), string(b))
	}
	unkept := map[uint64]bool{}
	lost, _ := filepath.Glob(filepath.Join(signs, "out1", "*.sigstore.json"))
	for _, f := range lost {
		unkept[bundleLogIndex(t, f)] = true
	}

	r, second := monitor(t)
	if r.code != 1 || second.From != first.To || second.To < aliceIdx[len(aliceIdx)-1]+1 {
		t.Fatalf("second run: want exit 1 from %d: %v", first.To, r)
	}
	var got []uint64
	for _, e := range second.FunctionaryEntries {
		got = append(got, e.Index)
	}
	if fmt.Sprint(got) != fmt.Sprint(aliceIdx) {
		t.Fatalf("functionary entries %v, want %v", got, aliceIdx)
	}
	for _, a := range second.Alarms {
		if a.Code != "unknown-attestation" || !unkept[a.Index] {
			t.Fatalf("unexpected alarm %+v (unkept %v): %v", a, unkept, r)
		}
		delete(unkept, a.Index)
	}
	if len(unkept) != 0 {
		t.Fatalf("no alarm for %v: %v", unkept, r)
	}

	r, third := monitor(t)
	if r.code != 0 || third.From != second.To {
		t.Fatalf("third run: want exit 0 from %d: %v", second.To, r)
	}

	t.Run("report", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "audit")
		r := mlattest(t, work, env, "audit", "report", "--layout", layout, "--attestations", att, "--state", state,
			"--since", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "--out", out)
		md, _ := os.ReadFile(out + ".md")
		svg, _ := os.ReadFile(out + ".svg")
		if r.code != 1 || !strings.Contains(string(md), "| "+strings.ReplaceAll(alice, "_", `\_`)+" from "+s.Issuer1+" | "+fmt.Sprint(len(aliceIdx))+" |") ||
			!strings.Contains(string(md), ": proven") || !strings.Contains(string(md), "**unknown-attestation**") ||
			strings.Count(string(svg), "<title>entry") != len(aliceIdx) {
			t.Fatalf("%v\n%s\n%s", r, md, svg)
		}
	})
	before, _ := os.ReadFile(state)
	t.Run("log down", func(t *testing.T) {
		start := time.Now()
		r, _ := monitor(t, "--log", "http://127.0.0.1:1", "--retry-deadline", "1s")
		if r.code != 2 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "log unavailable") || time.Since(start) > 20*time.Second {
			t.Fatalf("%v", r)
		}
	})
	t.Run("rolled back", func(t *testing.T) {
		srv := httptest.NewServer(tileserve.Handler(snapshot))
		defer srv.Close()
		r, _ := monitor(t, "--log", srv.URL)
		if r.code != 1 || !strings.Contains(r.stderr, "rolled back") {
			t.Fatalf("%v", r)
		}
	})
	if after, _ := os.ReadFile(state); !bytes.Equal(before, after) {
		t.Fatal("a failed run changed the state")
	}

	t.Run("killed", func(t *testing.T) {
		h := tileserve.Handler(snapshot)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(100 * time.Millisecond)
			h.ServeHTTP(w, r)
		}))
		defer srv.Close()
		kstate := filepath.Join(t.TempDir(), "state.json")
		var committed [][2]uint64
		var last []byte
		note := func() {
			b, err := os.ReadFile(kstate)
			if err != nil || bytes.Equal(b, last) {
				return
			}
			last = b
			var st struct {
				LastRun struct{ From, To uint64 } `json:"lastRun"`
			}
			if err := json.Unmarshal(b, &st); err != nil {
				t.Fatalf("state not whole after a kill: %v", err)
			}
			committed = append(committed, [2]uint64{st.LastRun.From, st.LastRun.To})
		}
		for range 5 {
			cmd := exec.Command(binPath, "audit", "monitor", "--log", srv.URL, "--state", kstate, "--layout", layout)
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(rand.IntN(1500)) * time.Millisecond)
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			note()
		}
		r := mlattest(t, work, env, "audit", "monitor", "--log", srv.URL, "--state", kstate, "--layout", layout)
		if r.code > 1 {
			t.Fatalf("%v", r)
		}
		note()
		size := logSizeIn(t, snapshot)
		next := uint64(0)
		for _, c := range committed {
			if c[0] != next {
				t.Fatalf("committed ranges %v do not follow each other", committed)
			}
			next = c[1]
		}
		if next != size {
			t.Fatalf("committed ranges %v end at %d, log size %d", committed, next, size)
		}
		t.Logf("committed ranges %v", committed)
	})
}

func logSizeIn(t *testing.T, dir string) uint64 {
	t.Helper()
	cp, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(strings.Split(string(cp), "\n")[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestE2EAuditEntry re-verifies a bundle's entry online; a bundle pointing
// at another entry, or a forged inclusion checkpoint, fails.
func TestE2EAuditEntry(t *testing.T) {
	s := stacktest.Get(t)
	readURL := s.ReadURL(t)
	dir := t.TempDir()
	idx := signedEntriesIn(t, dir, s, 1, "entry-"+strconv.FormatInt(time.Now().UnixNano(), 36)+"@example.com", 1)
	bundles, _ := filepath.Glob(filepath.Join(dir, "out0", "*.sigstore.json"))
	env := []string{"MLATTEST_TRUSTED_ROOT=" + s.TrustedRoot, "MLATTEST_REKOR_READ_URL=" + readURL}
	r := mlattest(t, dir, env, "audit", "entry", "--json", bundles[0])
	var out struct {
		Entry    struct{ Index uint64 }
		Included bool
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &out) != nil || out.Entry.Index != idx[0] || !out.Included {
		t.Fatalf("want entry %d included: %v", idx[0], r)
	}
	data, _ := os.ReadFile(bundles[0])
	edits := []struct {
		name   string
		edit   func(tle map[string]any)
		reason string
	}{
		{"other index", func(tle map[string]any) { tle["logIndex"] = fmt.Sprint(idx[0] - 1) }, "the inclusion proof of entry"},
		{"forged checkpoint", func(tle map[string]any) {
			cp := tle["inclusionProof"].(map[string]any)["checkpoint"].(map[string]any)
			cp["envelope"] = strings.Replace(cp["envelope"].(string), "\n", "\n1", 1)
		}, "checkpoint rejected"},
	}
	for _, e := range edits {
		t.Run(e.name, func(t *testing.T) {
			var b map[string]any
			if err := json.Unmarshal(data, &b); err != nil {
				t.Fatal(err)
			}
			e.edit(b["verificationMaterial"].(map[string]any)["tlogEntries"].([]any)[0].(map[string]any))
			edited, _ := json.Marshal(b)
			p := filepath.Join(t.TempDir(), "b.sigstore.json")
			writeFile(t, p, string(edited))
			r := mlattest(t, dir, env, "audit", "entry", p)
			if r.code != 1 || !strings.Contains(r.stderr, e.reason) {
				t.Fatalf("want exit 1 with %q: %v", e.reason, r)
			}
		})
	}
}
