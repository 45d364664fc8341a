package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log"
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
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mlattest/mlattest/internal/stacktest"
)

// patternBytes returns n deterministic bytes seeded by seed.
func patternBytes(seed uint64, n int) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	binary.LittleEndian.PutUint64(key[8:], uint64(n))
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

// TestDigestS3MatchesLocal: `mlattest digest s3://BUCKET/PREFIX` prints
// byte for byte what `mlattest digest .` prints inside a directory holding
// the same files, for thousands of objects with empty
// ones, odd names, a deep prefix, ignored directories and a 256 MiB object.
func TestDigestS3MatchesLocal(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 256 MiB and thousands of objects")
	}
	s := stacktest.GetS3(t)
	bucket := s.NewBucket(t)
	files := map[string][]byte{
		"weights/model-00001.safetensors": patternBytes(1, 256<<20),
		"empty":                           {},
		"odd/with space":                  []byte("space"),
		"odd/ünïcode/日本":                  []byte("unicode"),
		"odd/..dots":                      []byte("dots"),
		"odd/-dash":                       []byte("dash"),
		".git/HEAD":                       []byte("ignored"),
		"x/.cache/huggingface/meta":       []byte("ignored"),
		strings.Repeat("deep/", 30) + "f": []byte("deep"),
	}
	for i := range 2000 {
		files[fmt.Sprintf("data/%03d/rec-%05d.jsonl", i%101, i)] = patternBytes(uint64(i), (i*7919)%5000)
	}
	dir := t.TempDir()
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	s.PutAll(t, bucket, "runs/7/", files)
	t.Logf("uploaded %d objects (256 MiB + %d small) in %v", len(files), len(files)-1, time.Since(start))

	// The binary, not in-process: the race detector's cost is not the
	// point here. --json goes through the same writer
	// (TestDigestShardedMatchesSingle compares it).
	for _, args := range [][]string{nil} {
		local := mlattest(t, dir, nil, append(args, "digest", ".")...)
		if local.code != 0 {
			t.Fatalf("local: %v", local)
		}
		start := time.Now()
		remote := mlattest(t, dir, s.Env(), append(args, "digest", "s3://"+bucket+"/runs/7")...)
		t.Logf("digest %v s3:// in %v", args, time.Since(start))
		if remote.code != 0 || remote.stderr != "" {
			t.Fatalf("s3: %v", remote)
		}
		if remote.stdout != local.stdout {
			t.Fatalf("s3 output differs from the local one (%d vs %d bytes)", len(remote.stdout), len(local.stdout))
		}
		if n := strings.Count(remote.stdout, "\n"); n != len(files)-2 {
			t.Fatalf("%d lines, want %d (two files ignored)", n, len(files)-2)
		}
	}
}

// TestDigestStoreUsage: a location is the only PATH, takes none of the
// local-tree flags, and is a plain URL; each exit 2
// with the reason.
func TestDigestStoreUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"s3://b/p", "local"}, "must be the only PATH"},
		{[]string{"--root", ".", "s3://b/p"}, "--root does not apply"},
		{[]string{"--hash-cache", "c", "s3://b/p"}, "--hash-cache does not apply"},
		{[]string{"--follow-symlinks", "s3://b/p"}, "--follow-symlinks does not apply"},
		{[]string{"gs://b/p?generation=1"}, "no query"},
		{[]string{"s3:///p"}, "no bucket"},
		{[]string{"file://relative"}, "file:///DIR"},
	} {
		r := digestCLI(t, dir, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("digest %q: %v\nwant exit 2 with %q", tc.args, r, tc.want)
		}
	}
}

// TestDigestFileURL: file:///DIR names files relative to DIR.
func TestDigestFileURL(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"a/b": "x", "c": "y"})
	want := digestCLI(t, dir, ".")
	got := digestCLI(t, t.TempDir(), "file://"+filepath.ToSlash(dir))
	if got.code != 0 || got.stdout != want.stdout {
		t.Fatalf("file:// gives %v\nwant %v", got, want)
	}
}

// shardedRun runs N worker processes of `mlattest digest --part-out` with
// JOB_COMPLETION_INDEX/JOB_COMPLETIONS set, as a Kubernetes Indexed Job
// does (all at once), then `mlattest merge`.
func shardedRun(t *testing.T, dir string, env []string, loc, parts string, n int, mergeArgs ...string) cliResult {
	t.Helper()
	return shardedRunWith(t, dir, env, nil, loc, parts, n, mergeArgs...)
}

// shardedRunWith is shardedRun with more flags for the workers.
func shardedRunWith(t *testing.T, dir string, env, workerArgs []string, loc, parts string, n int, mergeArgs ...string) cliResult {
	t.Helper()
	return workersThenMerge(t, dir, env, append(append(append([]string{"digest"}, workerArgs...), "--part-out", parts), loc), parts, n, mergeArgs...)
}

// jobWorkers runs n worker processes of args at once, as the pods of a
// Kubernetes Indexed Job run, worker i with the environment env(i).
func jobWorkers(t *testing.T, dir string, n int, env func(i int) []string, args ...string) []cliResult {
	t.Helper()
	results := make([]cliResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = mlattest(t, dir, env(i), args...) })
	}
	wg.Wait()
	return results
}

// workersThenMerge runs n workers of workerArgs with
// JOB_COMPLETION_INDEX/JOB_COMPLETIONS set (see jobWorkers), each of which
// must write its part and print nothing, then `mlattest merge` of parts.
func workersThenMerge(t *testing.T, dir string, env, workerArgs []string, parts string, n int, mergeArgs ...string) cliResult {
	t.Helper()
	results := jobWorkers(t, dir, n, func(i int) []string {
		return append(slices.Clone(env), fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i), fmt.Sprintf("JOB_COMPLETIONS=%d", n))
	}, workerArgs...)
	for i, w := range results {
		if w.code != 0 || w.stdout != "" || !strings.Contains(w.stderr, fmt.Sprintf("part %d of %d", i, n)) {
			t.Fatalf("worker %d/%d: %v", i, n, w)
		}
	}
	return mlattest(t, dir, env, append([]string{"merge"}, append(mergeArgs, parts)...)...)
}

// TestDigestShardedMatchesSingle: for N in {1, 2, 3, 7} worker processes
// over a file:// location, merge prints byte for byte the single digest
// (text and --json).
func TestDigestShardedMatchesSingle(t *testing.T) {
	dir := t.TempDir()
	tree := map[string]string{"empty": "", "odd/with space": "s", "odd/ünï": "u", ".git/HEAD": "ignored"}
	for i := range 300 {
		tree[fmt.Sprintf("d/%02d/f%04d", i%13, i)] = strings.Repeat("x", (i*977)%20000)
	}
	writeTree(t, filepath.Join(dir, "data"), tree)
	loc := "file://" + filepath.ToSlash(filepath.Join(dir, "data"))
	for _, jsonArgs := range [][]string{nil, {"--json"}} {
		single := mlattest(t, dir, nil, append([]string{"digest"}, append(jsonArgs, loc)...)...)
		if single.code != 0 || strings.Count(single.stdout, "\n") != len(tree)-1 {
			t.Fatalf("single: %v", single)
		}
		for _, n := range []int{1, 2, 3, 7} {
			parts := filepath.Join(t.TempDir(), "parts")
			merged := shardedRun(t, dir, nil, loc, parts, n, jsonArgs...)
			if merged.code != 0 || merged.stdout != single.stdout {
				t.Fatalf("N=%d %v: merge differs from the single digest:\n%v", n, jsonArgs, merged)
			}
		}
	}
}

// TestMergeRefusesParts: a missing, a duplicated and a foreign part (from
// a listing taken after a file changed) are each refused, exit 2, naming
// the part file, with nothing on stdout.
func TestMergeRefusesParts(t *testing.T) {
	dir := t.TempDir()
	tree := map[string]string{}
	for i := range 40 {
		tree[fmt.Sprintf("f%02d", i)] = strings.Repeat("y", i*100)
	}
	writeTree(t, filepath.Join(dir, "data"), tree)
	loc := "file://" + filepath.ToSlash(filepath.Join(dir, "data"))
	fresh := func() string {
		parts := filepath.Join(t.TempDir(), "parts")
		if r := shardedRun(t, dir, nil, loc, parts, 3); r.code != 0 {
			t.Fatalf("clean run: %v", r)
		}
		return parts
	}
	part := func(parts string, i int) string {
		return filepath.Join(parts, fmt.Sprintf("part-%05d-of-00003.json", i))
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
		{"foreign", func(parts string) {
			writeTree(t, filepath.Join(dir, "data"), map[string]string{"f07": "changed"})
			defer writeTree(t, filepath.Join(dir, "data"), map[string]string{"f07": tree["f07"]})
			if w := mlattest(t, dir, nil, "digest", "--shard", "2/3", "--part-out", parts, loc); w.code != 0 {
				t.Fatalf("rerun: %v", w)
			}
		}, "foreign part"},
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
}

func TestDigestShardUsage(t *testing.T) {
	dir := t.TempDir()
	loc := "file://" + filepath.ToSlash(dir)
	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"--shard", "0/2", loc}, "--shard needs --part-out"},
		{nil, []string{"--part-out", "p", loc}, "--part-out needs --shard"},
		{nil, []string{"--shard", "2/2", "--part-out", "p", loc}, "want 0 <= i < N"},
		{nil, []string{"--shard", "x", "--part-out", "p", loc}, "want i/N"},
		{nil, []string{"--shard", "0/2", "--part-out", "p", "."}, "one storage location"},
		{[]string{"JOB_COMPLETION_INDEX=1", "JOB_COMPLETIONS=2"}, []string{"--shard", "0/2", "--part-out", "p", loc}, "disagrees with JOB_COMPLETION_INDEX"},
		{[]string{"JOB_COMPLETION_INDEX=1"}, []string{"--part-out", "p", loc}, "JOB_COMPLETIONS is not"},
	} {
		r := mlattest(t, dir, tc.env, append([]string{"digest"}, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v digest %q: %v\nwant exit 2 with %q", tc.env, tc.args, r, tc.want)
		}
	}
	// An Indexed Job's variables do not make a plain digest a shard.
	writeTree(t, dir, map[string]string{"a": "x"})
	if r := mlattest(t, dir, []string{"JOB_COMPLETION_INDEX=1", "JOB_COMPLETIONS=2"}, "digest", "a"); r.code != 0 {
		t.Errorf("plain digest inside an Indexed Job: %v", r)
	}
}

// TestDigestShardedS3: N in {1, 2, 3, 7} worker processes over an s3://
// prefix, parts written to s3:// too, merge prints byte for byte the
// single-process digest; a worker killed mid-way and run again writes the
// same part, and nothing before it finishes.
func TestDigestShardedS3(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads objects and runs 13 workers")
	}
	s := stacktest.GetS3(t)
	bucket := s.NewBucket(t)
	files := map[string][]byte{"big/a.bin": patternBytes(9, 48<<20), "big/b.bin": patternBytes(10, 16<<20+3), "empty": {}}
	for i := range 1500 {
		files[fmt.Sprintf("d/%02d/r%05d", i%29, i)] = patternBytes(uint64(i), (i*6007)%7000)
	}
	s.PutAll(t, bucket, "ds/", files)
	dir, env, loc := t.TempDir(), s.Env(), "s3://"+bucket+"/ds/"
	single := mlattest(t, dir, env, "digest", loc)
	if single.code != 0 || single.stderr != "" || strings.Count(single.stdout, "\n") != len(files) {
		t.Fatalf("single: %v", single)
	}
	for _, n := range []int{1, 2, 3, 7} {
		start := time.Now()
		merged := shardedRun(t, dir, env, loc, fmt.Sprintf("s3://%s/parts-%d/", bucket, n), n)
		if merged.code != 0 || merged.stdout != single.stdout {
			t.Fatalf("N=%d: merge differs from the single digest:\n%v", n, merged)
		}
		t.Logf("N=%d: %d concurrent workers and merge in %v", n, n, time.Since(start))
	}

	// Killed mid-way: the part of shard 0 of 2 (both large files' shard
	// takes the longest) is written only when complete, and the rerun's
	// bytes are the clean run's.
	// The worker reads through a proxy that holds every request 50 ms, so
	// that it is surely mid-way when killed after one second (its ~750
	// reads take several seconds); the rerun reads directly.
	clean := partBytes(t, s, bucket, "parts-2/part-00000-of-00002.json")
	parts := "s3://" + bucket + "/killed/"
	target, err := url.Parse(s.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target); r.Out.Host = r.In.Host },
		ErrorLog: log.New(io.Discard, "", 0)} // the killed worker's requests fail
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		rp.ServeHTTP(w, r)
	}))
	defer slow.Close()
	cmd := exec.Command(binPath, "digest", "--part-out", parts, loc)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "JOB_COMPLETION_INDEX=0", "JOB_COMPLETIONS=2"}, s.EnvAt(slow.URL)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	cmd.Process.Kill()
	if err := cmd.Wait(); err == nil {
		t.Fatal("the worker finished within 1 s: nothing was killed mid-way")
	}
	if r := mlattest(t, dir, env, "merge", parts); r.code != exitUsage || !strings.Contains(r.stderr, "no part files") {
		t.Fatalf("merge after a killed worker: %v\nwant no part (nothing half-written)", r)
	}
	if w := mlattest(t, dir, append(env, "JOB_COMPLETION_INDEX=0", "JOB_COMPLETIONS=2"), "digest", "--part-out", parts, loc); w.code != 0 {
		t.Fatalf("rerun: %v", w)
	}
	if got := partBytes(t, s, bucket, "killed/part-00000-of-00002.json"); string(got) != string(clean) {
		t.Fatal("the rerun part differs from the clean run's")
	}
}

func partBytes(t *testing.T, s *stacktest.S3, bucket, key string) []byte {
	t.Helper()
	out, err := s.Client().GetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("reading s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDigestS3Refused: wrong credentials and a missing bucket are exit 2
// with one line naming the location; the secret is never printed.
func TestDigestS3Refused(t *testing.T) {
	s := stacktest.GetS3(t)
	bucket := s.NewBucket(t)
	const secret = "wrong-secret-value-do-not-print"
	for _, tc := range []struct {
		name string
		env  []string
		loc  string
		want string
	}{
		{"wrong secret", append(s.Env(), "AWS_SECRET_ACCESS_KEY="+secret), "s3://" + bucket + "/p/", "s3://" + bucket + "/p/"},
		{"no such bucket", s.Env(), "s3://no-such-bucket-mlattest/p/", "NoSuchBucket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mlattest(t, t.TempDir(), tc.env, "digest", tc.loc)
			if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("%v\nwant exit 2 naming %q", r, tc.want)
			}
			if strings.Contains(r.stderr, secret) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
				t.Fatalf("stderr prints the secret or more than a line or two:\n%s", r.stderr)
			}
		})
	}
}

// TestDigestS3RefusesKeys: keys the server stores but no directory could
// hold are refused, exit 2, naming the key and the location: an object
// that is also a "directory" of others, and a non-empty object whose key
// ends in "/". (SeaweedFS itself refuses ".." segments and folds "//", so
// those are tested against a listing in package digest.)
func TestDigestS3RefusesKeys(t *testing.T) {
	s := stacktest.GetS3(t)
	bucket := s.NewBucket(t)
	for _, tc := range []struct {
		keys []string
		want string
	}{
		{[]string{"f", "f/g"}, `digest "f": name is both a file and a directory`},
		{[]string{"d/", "d/e"}, `digest "d/": name is not a relative path`},
	} {
		prefix := fmt.Sprintf("case-%s/", tc.keys[0][:1])
		for _, k := range tc.keys {
			s.Put(t, bucket, prefix+k, []byte("v"))
		}
		loc := "s3://" + bucket + "/" + prefix
		r := mlattest(t, t.TempDir(), s.Env(), "digest", loc)
		if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, loc) {
			t.Errorf("keys %q: %v\nwant exit 2 naming %s with %q", tc.keys, r, loc, tc.want)
		}
	}
}
