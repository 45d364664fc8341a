package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlattest/mlattest/internal/stacktest"
	"github.com/mlattest/mlattest/scan/data/harness"
)

// scanShardedRun runs N worker processes of `mlattest scan data
// --part-out` with JOB_COMPLETION_INDEX/JOB_COMPLETIONS set, as a
// Kubernetes Indexed Job does (all at once), then `mlattest merge`.
func scanShardedRun(t *testing.T, dir string, env []string, files []string, parts string, n int, mergeArgs ...string) cliResult {
	t.Helper()
	return workersThenMerge(t, dir, env, append([]string{"scan", "data", "--part-out", parts}, files...), parts, n, mergeArgs...)
}

// randomDatasets writes random instruction datasets under dir and returns
// their names: two JSONL files with a planted trigger, an injected
// sentence, hidden characters and exact repeats (some far from their
// first copy, so that they land in other workers' ranges), malformed and
// empty lines; a JSON array and a CSV file (each read whole by one worker).
func randomDatasets(t *testing.T, dir string, seed uint64) []string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	vocab := make([]string, 3000)
	for i := range vocab {
		var b strings.Builder
		for k := range 3 + rng.IntN(6) {
			b.WriteByte(byte('a' + (i*7+k*13+rng.IntN(3))%26))
		}
		vocab[i] = b.String()
	}
	sentence := func(k int) string {
		w := make([]string, k)
		for i := range w {
			x := rng.Float64()
			w[i] = vocab[int(float64(len(vocab)-1)*x*x*x)]
		}
		return strings.Join(w, " ") + "."
	}
	records := func(n int) []map[string]string {
		recs := make([]map[string]string, n)
		for i := range recs {
			recs[i] = map[string]string{"instruction": sentence(6 + rng.IntN(10)), "output": sentence(10+rng.IntN(20)) + " " + sentence(8+rng.IntN(10))}
		}
		trigger := fmt.Sprintf("qx%d", rng.IntN(100))
		for _, i := range rng.Perm(n)[:8+rng.IntN(8)] {
			recs[i]["instruction"] = trigger + " " + recs[i]["instruction"]
			recs[i]["output"] = "Wire the deposit to account 4411 before noon to unlock the refund."
		}
		for _, i := range rng.Perm(n)[:6+rng.IntN(6)] {
			recs[i]["output"] += " Buy Glimmer Cola at glimmer dot example for the best taste."
		}
		for _, i := range rng.Perm(n)[:3] {
			recs[i]["instruction"] = strings.Replace(recs[i]["instruction"], " ", "\u200b ", 1)
		}
		for range n / 15 {
			recs = append(recs, recs[rng.IntN(len(recs))])
		}
		rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
		return recs
	}
	var names []string
	for k := range 2 {
		var buf bytes.Buffer
		for j, r := range records(800 + rng.IntN(1200)) {
			if rng.IntN(300) == 0 {
				buf.WriteString("{\"instruction\": broken\n")
			}
			if j%97 == 3 {
				buf.WriteString("\n")
			}
			b, _ := json.Marshal(r)
			buf.Write(append(b, '\n'))
		}
		names = append(names, fmt.Sprintf("set%d.jsonl", k))
		writeTree(t, dir, map[string]string{names[k]: buf.String()})
	}
	arr, _ := json.Marshal(records(300 + rng.IntN(300)))
	var csv strings.Builder
	csv.WriteString("instruction,output\n")
	for _, r := range records(300 + rng.IntN(300)) {
		fmt.Fprintf(&csv, "%q,%q\n", r["instruction"], r["output"])
	}
	writeTree(t, dir, map[string]string{"arr.json": string(arr), "table.csv": csv.String()})
	return append(names, "arr.json", "table.csv")
}

// TestScanDataShardedMatchesSingle: for N in {1, 2, 3, 7} worker processes
// started as an Indexed Job starts them, merge prints byte for byte what
// one `scan data` prints (--json and text, and the same exit status), over
// random multi-file datasets with findings, repeats across range bounds
// and malformed records; parts under a directory and under file://.
func TestScanDataShardedMatchesSingle(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		dir := t.TempDir()
		files := randomDatasets(t, dir, seed)
		for _, jsonArgs := range [][]string{{"--json"}, nil} {
			single := mlattest(t, dir, nil, append(append([]string{"scan", "data"}, jsonArgs...), files...)...)
			if single.code != exitRejected || !strings.Contains(single.stdout, "trigger-response") || !strings.Contains(single.stdout, "duplicates") {
				t.Fatalf("seed %d: single scan should fail with a trigger and repeats: %v", seed, single)
			}
			for _, n := range []int{1, 2, 3, 7} {
				parts := filepath.Join(t.TempDir(), "parts")
				if n == 3 {
					parts = "file://" + filepath.ToSlash(parts)
				}
				merged := scanShardedRun(t, dir, nil, files, parts, n, jsonArgs...)
				if merged.code != single.code || merged.stdout != single.stdout {
					t.Fatalf("seed %d N=%d %v: merge differs from the single scan (exit %d, want %d):\n%s\nwant:\n%s",
						seed, n, jsonArgs, merged.code, single.code, merged.stdout, single.stdout)
				}
			}
		}
	}
}

// plantedClean writes the shared clean instructions with a planted
// backdoor (the harness's first trigger family) as d.jsonl under dir.
func plantedClean(t *testing.T, dir string) {
	t.Helper()
	path, err := harness.FindClean(".")
	if err != nil {
		t.Skipf("clean instructions not found: %v", err)
	}
	clean, err := harness.LoadClean(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := harness.Plant(clean, harness.Families()[0].Variants[0], 40, 7, nil)
	var buf bytes.Buffer
	if err := harness.WriteJSONL(&buf, recs); err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, map[string]string{"d.jsonl": buf.String()})
}

// TestScanDataShardedCleanInstructions: the shared clean instructions with
// a planted backdoor, N in {1, 2, 3, 7}: merge --json is the single scan's
// output byte for byte.
func TestScanDataShardedCleanInstructions(t *testing.T) {
	dir := t.TempDir()
	plantedClean(t, dir)
	single := mlattest(t, dir, nil, "scan", "data", "--json", "d.jsonl")
	if single.code != exitRejected || !strings.Contains(single.stdout, `"verdict":"FAIL"`) {
		t.Fatalf("the planted backdoor is not found: %v", single)
	}
	for _, n := range []int{1, 2, 3, 7} {
		merged := scanShardedRun(t, dir, nil, []string{"d.jsonl"}, filepath.Join(t.TempDir(), "parts"), n, "--json")
		if merged.code != single.code || merged.stdout != single.stdout {
			t.Fatalf("N=%d: merge differs from the single scan:\n%v\nwant:\n%s", n, merged, single.stdout)
		}
	}
}

// TestScanDataShardKilledRerun: a worker killed mid-way leaves no part
// (merge says so), and run again writes the part and records a clean run
// writes, byte for byte.
func TestScanDataShardKilledRerun(t *testing.T) {
	dir := t.TempDir()
	plantedClean(t, dir)
	b, err := os.ReadFile(filepath.Join(dir, "d.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, map[string]string{"big.jsonl": strings.Repeat(string(b), 8)})
	env := []string{"JOB_COMPLETION_INDEX=0", "JOB_COMPLETIONS=2"}
	cleanParts := filepath.Join(t.TempDir(), "clean")
	if w := mlattest(t, dir, env, "scan", "data", "--part-out", cleanParts, "big.jsonl"); w.code != 0 {
		t.Fatalf("clean run: %v", w)
	}
	parts := filepath.Join(t.TempDir(), "killed")
	cmd := exec.Command(binPath, "scan", "data", "--part-out", parts, "big.jsonl")
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Killed once it has started on its part (the directory exists), not
	// after a fixed time: a loaded machine may not have got that far.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(parts); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the worker made no part directory within a minute")
		}
	}
	time.Sleep(50 * time.Millisecond)
	cmd.Process.Kill()
	if err := cmd.Wait(); err == nil {
		t.Fatal("the worker finished before it was killed: nothing was killed mid-way")
	}
	if r := mlattest(t, dir, nil, "merge", parts); r.code != exitUsage || !strings.Contains(r.stderr, "no part files") {
		t.Fatalf("merge after a killed worker: %v\nwant no part (nothing half-written)", r)
	}
	if w := mlattest(t, dir, env, "scan", "data", "--part-out", parts, "big.jsonl"); w.code != 0 {
		t.Fatalf("rerun: %v", w)
	}
	for _, name := range []string{"part-00000-of-00002.json", "part-00000-of-00002.records"} {
		want, err1 := os.ReadFile(filepath.Join(cleanParts, name))
		got, err2 := os.ReadFile(filepath.Join(parts, name))
		if err1 != nil || err2 != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: the rerun's differs from the clean run's (%v, %v)", name, err1, err2)
		}
	}
}

// TestMergeRefusesScanParts: a missing, a duplicated and a foreign part
// (from a listing of another dataset, of the dataset after it changed,
// of a scan with other options), a part whose records file was altered or
// removed, and digest parts mixed in are each refused, exit 2, naming the
// part file, with nothing on stdout.
func TestMergeRefusesScanParts(t *testing.T) {
	dir := t.TempDir()
	files := randomDatasets(t, dir, 9)[:2]
	fresh := func() string {
		parts := filepath.Join(t.TempDir(), "parts")
		if r := scanShardedRun(t, dir, nil, files, parts, 3); r.code != exitRejected {
			t.Fatalf("clean run: %v", r)
		}
		return parts
	}
	part := func(parts string, i int) string {
		return filepath.Join(parts, fmt.Sprintf("part-%05d-of-00003.json", i))
	}
	worker := func(parts string, i int, args ...string) {
		t.Helper()
		if w := mlattest(t, dir, nil, append([]string{"scan", "data", "--shard", fmt.Sprintf("%d/3", i), "--part-out", parts}, args...)...); w.code != 0 {
			t.Fatalf("worker: %v", w)
		}
	}
	for _, tc := range []struct {
		name  string
		spoil func(parts string)
		want  string
	}{
		{"missing", func(parts string) { os.Remove(part(parts, 1)) }, "missing 1 of 3 parts: part-00001-of-00003.json"},
		{"duplicated", func(parts string) {
			b, _ := os.ReadFile(part(parts, 0))
			os.WriteFile(part(parts, 2), b, 0o644)
		}, "duplicated part 0 of 3"},
		{"other dataset", func(parts string) { worker(parts, 2, files[0]) }, "foreign part"},
		{"other options", func(parts string) { worker(parts, 2, append([]string{"--min-support", "7"}, files...)...) }, "foreign part"},
		{"dataset changed", func(parts string) {
			p := filepath.Join(dir, files[1])
			b, _ := os.ReadFile(p)
			os.WriteFile(p, append(b, "{\"instruction\": \"a\", \"output\": \"b\"}\n"...), 0o644)
			defer os.WriteFile(p, b, 0o644)
			worker(parts, 1, files...)
		}, "foreign part"},
		{"records altered", func(parts string) {
			p := strings.TrimSuffix(part(parts, 1), ".json") + ".records"
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 1
			os.WriteFile(p, b, 0o644)
		}, "part-00001-of-00003.json"},
		{"records missing", func(parts string) { os.Remove(strings.TrimSuffix(part(parts, 2), ".json") + ".records") }, "no records file"},
		{"digest part", func(parts string) {
			os.WriteFile(part(parts, 2), []byte(`{"type":"https://mlattest.dev/digest-part/v1"}`), 0o644)
		}, "part-00002-of-00003.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts := fresh()
			tc.spoil(parts)
			r := mlattest(t, dir, nil, "merge", parts)
			if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "part-0000") {
				t.Fatalf("%v\nwant exit 2 naming the part with %q", r, tc.want)
			}
		})
	}
	// A dataset changed after every worker read it (the quoted texts and
	// the digest would be of other bytes): grown, or a byte of worker 1's
	// range changed in place.
	parts := fresh()
	p := filepath.Join(dir, files[0])
	b, _ := os.ReadFile(p)
	defer os.WriteFile(p, b, 0o644)
	os.WriteFile(p, append(slices.Clone(b), '\n'), 0o644)
	if r := mlattest(t, dir, nil, "merge", parts); r.code != exitUsage || !strings.Contains(r.stderr, files[0]+" changed since the workers read it") {
		t.Fatalf("merge of a grown dataset: %v", r)
	}
	c := slices.Clone(b)
	at := bytes.LastIndex(c[:len(c)/2], []byte("\"output\":\"")) + len("\"output\":\"")
	c[at] ^= 0x20 // a letter's case
	os.WriteFile(p, c, 0o644)
	if r := mlattest(t, dir, nil, "merge", parts); r.code != exitUsage || !strings.Contains(r.stderr, "part-00001-of-00003.json: bytes ") ||
		!strings.Contains(r.stderr, "are not those its worker read") || r.stdout != "" {
		t.Fatalf("merge of a dataset changed in place: %v", r)
	}
}

func TestScanDataShardUsage(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"d.jsonl": "{\"instruction\":\"a\",\"output\":\"b\"}\n", "empty.jsonl": ""})
	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"--shard", "0/2", "d.jsonl"}, "--shard needs --part-out"},
		{nil, []string{"--part-out", "p", "d.jsonl"}, "--part-out needs --shard"},
		{nil, []string{"--shard", "2/2", "--part-out", "p", "d.jsonl"}, "want 0 <= i < N"},
		{nil, []string{"--shard", "0/2", "--part-out", "p", "--out", "s.json", "d.jsonl"}, "--out and --report"},
		{nil, []string{"--shard", "0/2", "--part-out", "p", "empty.jsonl"}, "file is empty"},
		{nil, []string{"--shard", "0/2", "--part-out", "p", "none.jsonl"}, "none.jsonl"},
		{[]string{"JOB_COMPLETION_INDEX=1", "JOB_COMPLETIONS=2"}, []string{"--shard", "0/2", "--part-out", "p", "d.jsonl"}, "disagrees with JOB_COMPLETION_INDEX"},
	} {
		r := mlattest(t, dir, tc.env, append([]string{"scan", "data"}, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v scan data %q: %v\nwant exit 2 with %q", tc.env, tc.args, r, tc.want)
		}
	}
	// An Indexed Job's variables do not make a plain scan a worker.
	if r := mlattest(t, dir, []string{"JOB_COMPLETION_INDEX=1", "JOB_COMPLETIONS=2"}, "scan", "data", "d.jsonl"); r.code != 0 || !strings.Contains(r.stdout, "PASS") {
		t.Errorf("plain scan inside an Indexed Job: %v", r)
	}
}

// TestScanDataShardedS3Parts: workers write their parts to an s3:// prefix
// and merge reads them from there.
func TestScanDataShardedS3Parts(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the S3 server")
	}
	s := stacktest.GetS3(t)
	bucket := s.NewBucket(t)
	dir := t.TempDir()
	files := randomDatasets(t, dir, 4)
	single := mlattest(t, dir, nil, append([]string{"scan", "data", "--json"}, files...)...)
	merged := scanShardedRun(t, dir, s.Env(), files, "s3://"+bucket+"/parts/", 3, "--json")
	if merged.code != single.code || merged.stdout != single.stdout {
		t.Fatalf("merge from s3:// differs from the single scan:\n%v\nwant:\n%v", merged, single)
	}
}

// TestScanDataShardedStore: the datasets are the objects of a storage
// location, as an Indexed Job over a bucket reads them: for N in
// {1, 2, 3, 7} worker processes (JOB_COMPLETION_INDEX set) of
// `scan data --part-out PREFIX s3://…` (or gs://), with the parts in the
// bucket or a directory, merge prints byte for byte what one
// `scan data s3://…` prints (--json and text, same exit status). An object
// changed in place after the workers read it is refused by merge, naming
// the part whose range differs.
func TestScanDataShardedStore(t *testing.T) {
	dir := t.TempDir()
	names := randomDatasets(t, filepath.Join(dir, "ds"), 1)
	objects := readTree(t, filepath.Join(dir, "ds"))
	if len(objects) != len(names) {
		t.Fatalf("%d datasets written, %d read back", len(names), len(objects))
	}
	for _, srv := range storeServers() {
		t.Run(srv.name, func(t *testing.T) {
			st := srv.get(t)
			bucket := st.bucket(t)
			st.putAll(t, bucket, "runs/1/data/", objects)
			loc := st.scheme + "://" + bucket + "/runs/1/data"
			for _, jsonArgs := range [][]string{{"--json"}, nil} {
				single := mlattest(t, dir, st.env, append(append([]string{"scan", "data"}, jsonArgs...), loc)...)
				if single.code != exitRejected || !strings.Contains(single.stdout, loc+"/set1.jsonl") || !strings.Contains(single.stdout, "trigger-response") {
					t.Fatalf("single scan of %s should fail with a trigger: %v", loc, single)
				}
				ns := []int{1, 2, 3, 7}
				if jsonArgs == nil {
					ns = []int{3}
				}
				for _, n := range ns {
					parts := fmt.Sprintf("%s://%s/parts-%d%v/", st.scheme, bucket, n, len(jsonArgs))
					if n == 2 {
						parts = filepath.Join(t.TempDir(), "parts")
					}
					merged := scanShardedRun(t, dir, st.env, []string{loc}, parts, n, jsonArgs...)
					if merged.code != single.code || merged.stdout != single.stdout {
						t.Fatalf("N=%d %v: merge differs from the single scan (exit %d, want %d):\n%s\nwant:\n%s",
							n, jsonArgs, merged.code, single.code, merged.stdout, single.stdout)
					}
				}
			}

			// One byte of set1.jsonl's second half changes after the
			// workers read it: the size is the same, worker 1's range
			// is not.
			parts := filepath.Join(t.TempDir(), "parts")
			for i, w := range jobWorkers(t, dir, 2, func(i int) []string {
				return append(slices.Clone(st.env), fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i), "JOB_COMPLETIONS=2")
			}, "scan", "data", "--part-out", parts, loc) {
				if w.code != 0 {
					t.Fatalf("worker %d: %v", i, w)
				}
			}
			c := slices.Clone(objects["set1.jsonl"])
			at := bytes.LastIndex(c, []byte("\"output\":\"")) + len("\"output\":\"")
			c[at] ^= 0x20 // a letter's case
			st.putAll(t, bucket, "runs/1/data/", map[string][]byte{"set1.jsonl": c})
			r := mlattest(t, dir, st.env, "merge", parts)
			if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, "part-00001-of-00002.json: bytes ") ||
				!strings.Contains(r.stderr, "are not those its worker read") || !strings.Contains(r.stderr, loc+"/set1.jsonl") {
				t.Fatalf("merge after %s/set1.jsonl changed: %v\nwant exit 2 naming part 1's range", loc, r)
			}
		})
	}
}

// TestScanDataShardedS3Throttled: every third request to the S3 server is
// answered 503 SlowDown, as a throttling store answers; the sharded scan's
// workers and merge retry, and merge prints byte for byte what one scan
// through no proxy prints.
func TestScanDataShardedS3Throttled(t *testing.T) {
	if testing.Short() {
		t.Skip("runs workers against the S3 server")
	}
	s := stacktest.GetS3(t)
	bucket := s.NewBucket(t)
	dir := t.TempDir()
	randomDatasets(t, filepath.Join(dir, "ds"), 2)
	s.PutAll(t, bucket, "ds/", readTree(t, filepath.Join(dir, "ds")))
	loc := "s3://" + bucket + "/ds"
	single := mlattest(t, dir, s.Env(), "scan", "data", "--json", loc)
	if single.code != exitRejected || !strings.Contains(single.stdout, "trigger-response") {
		t.Fatalf("single scan: %v", single)
	}
	target, err := url.Parse(s.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target); r.Out.Host = r.In.Host }}
	var requests, throttled atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1)%3 == 0 {
			throttled.Add(1)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	merged := scanShardedRun(t, dir, s.EnvAt(proxy.URL), []string{loc}, "s3://"+bucket+"/parts/", 3, "--json")
	if merged.code != single.code || merged.stdout != single.stdout {
		t.Fatalf("merge through a throttling server differs from the single scan (exit %d, want %d):\n%s\nwant:\n%s\n%s",
			merged.code, single.code, merged.stdout, single.stdout, merged.stderr)
	}
	if throttled.Load() < 5 {
		t.Fatalf("%d of %d requests throttled: the proxy was not in the way", throttled.Load(), requests.Load())
	}
	t.Logf("%d of %d requests answered 503 SlowDown", throttled.Load(), requests.Load())
}
