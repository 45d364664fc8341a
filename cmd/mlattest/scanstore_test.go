package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/repotest"
	"github.com/mlattest/mlattest/internal/stacktest"
)

// storeServer is one object-storage server of the tests, s3:// or gs://.
type storeServer struct {
	scheme string
	env    []string
	bucket func(t *testing.T) string
	putAll func(t *testing.T, bucket, prefix string, files map[string][]byte)
}

func storeServers() []struct {
	name string
	get  func(t *testing.T) storeServer
} {
	return []struct {
		name string
		get  func(t *testing.T) storeServer
	}{
		{"s3", func(t *testing.T) storeServer {
			s := stacktest.GetS3(t)
			return storeServer{"s3", s.Env(), func(t *testing.T) string { return s.NewBucket(t) },
				func(t *testing.T, b, p string, f map[string][]byte) { s.PutAll(t, b, p, f) }}
		}},
		{"gs", func(t *testing.T) storeServer {
			g := stacktest.GetGCS(t)
			return storeServer{"gs", g.Env(""), func(t *testing.T) string { return g.NewBucket(t) },
				func(t *testing.T, b, p string, f map[string][]byte) { g.PutAll(t, b, p, f) }}
		}},
	}
}

// readTree reads every file below dir, by slash name.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// renamed decodes JSON lines and replaces the path prefix from with to.
func renamed(t *testing.T, out, from, to string) []map[string]any {
	t.Helper()
	lines := jsonLines(t, out)
	for _, l := range lines {
		p, _ := l["path"].(string)
		if !strings.HasPrefix(p, from) {
			t.Fatalf("path %q does not start with %q", p, from)
		}
		l["path"] = to + strings.TrimPrefix(p, from)
	}
	return lines
}

// TestScanStoreMatchesLocal: `digest`, `scan model` and `scan data` of an
// s3:// or gs:// prefix print, path for path, what the scan of a local directory
// holding the same files prints (verdicts, formats, findings, SHA-256,
// bytes the scanner read), objects named by their URI; a shard index is
// checked against its shards below the prefix as on disk; the exit codes
// agree. An empty dataset object, a missing prefix and an object URL are
// handled as a local empty file, a missing path and a file are.
func TestScanStoreMatchesLocal(t *testing.T) {
	models := readTree(t, filepath.Join(repotest.Root(t), "scan", "model", "testdata", "repos", "causal-lm-sharded"))
	for _, p := range []string{"malicious/eval.p2.pkl", "benign/bool.p2.pkl"} {
		b, err := os.ReadFile(filepath.Join(repotest.Root(t), "scan", "model", "testdata", "pickles", filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		models["pickles/"+p] = b
	}
	models["odd/with space/ünï.safetensors"] = safetensorsFile()
	models["empty.bin"] = nil
	datasets := t.TempDir()
	writeDataset(t, datasets, 300, map[int]bool{3: true, 40: true, 77: true, 120: true, 200: true, 250: true})
	data := map[string][]byte{"train.jsonl": readTree(t, datasets)["train.jsonl"]}
	writeDataset(t, datasets, 120, nil)
	data["z/clean.jsonl"] = readTree(t, datasets)["train.jsonl"]

	dir := t.TempDir()
	for name, b := range models {
		writeFile(t, filepath.Join(dir, "model", filepath.FromSlash(name)), string(b))
	}
	for name, b := range data {
		writeFile(t, filepath.Join(dir, "data", filepath.FromSlash(name)), string(b))
	}
	localDigest := mlattest(t, filepath.Join(dir, "model"), nil, "digest", ".")
	localModel := mlattest(t, dir, nil, "scan", "model", "--json", "model")
	localData := mlattest(t, dir, nil, append([]string{"scan", "data", "--json"}, "data/train.jsonl", "data/z/clean.jsonl")...)
	if localModel.code != 1 || localData.code != 1 {
		t.Fatalf("local scans: want both to fail (a malicious pickle, a poisoned dataset):\n%v\n%v", localModel, localData)
	}
	for _, srv := range storeServers() {
		t.Run(srv.name, func(t *testing.T) {
			st := srv.get(t)
			bucket := st.bucket(t)
			st.putAll(t, bucket, "runs/1/model/", models)
			st.putAll(t, bucket, "runs/1/data/", data)
			st.putAll(t, bucket, "runs/1/empty-data/", map[string][]byte{"e.jsonl": nil})
			base := st.scheme + "://" + bucket + "/runs/1/"
			for _, tc := range []struct {
				what      string
				local     cliResult
				localPath string
				args      []string
			}{
				{"model", localModel, "model/", []string{"scan", "model", "--json", base + "model"}},
				{"data", localData, "data/", []string{"scan", "data", "--json", base + "data"}},
			} {
				r := mlattest(t, dir, st.env, tc.args...)
				if r.code != tc.local.code {
					t.Fatalf("%s: exit %d, local %d: %v", tc.what, r.code, tc.local.code, r)
				}
				want := renamed(t, tc.local.stdout, tc.localPath, base+tc.what+"/")
				got := renamed(t, r.stdout, base+tc.what+"/", base+tc.what+"/")
				if len(got) != len(want) {
					t.Fatalf("%s: %d results, local %d", tc.what, len(got), len(want))
				}
				for i := range want {
					if !reflect.DeepEqual(got[i], want[i]) {
						g, _ := json.Marshal(got[i])
						w, _ := json.Marshal(want[i])
						t.Errorf("%s result %d differs:\n got %s\nwant %s", tc.what, i, g, w)
					}
				}
			}
			if r := mlattest(t, dir, st.env, "digest", base+"model"); r.code != 0 || r.stdout != localDigest.stdout {
				t.Errorf("digest %smodel: %v\nwant the local digest:\n%s", base, r, localDigest.stdout)
			}
			for _, tc := range []struct {
				args []string
				code int
				want string
			}{
				{[]string{"scan", "data", base + "empty-data"}, 2, base + "empty-data/e.jsonl"},
				{[]string{"scan", "model", base + "no-such-prefix"}, 2, "no object"},
				{[]string{"scan", "data", base + "no-such-prefix/"}, 2, "no object"},
				{[]string{"scan", "model", base + "model/pickles/malicious/eval.p2.pkl"}, 1, "malicious"},
				{[]string{"scan", "data", base + "data/z/clean.jsonl"}, 0, "PASS"},
			} {
				r := mlattest(t, dir, st.env, tc.args...)
				if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.want) {
					t.Errorf("%s: %v\nwant exit %d with %q", strings.Join(tc.args, " "), r, tc.code, tc.want)
				}
			}
		})
	}
}

// TestStoreDotDotKeyRefused: an object key with a ".." segment (GCS and
// AWS S3 store one; SeaweedFS refuses it) names no file a directory could
// hold and no valid artifact: digest, run, scan data and scan model refuse
// the location naming the key, before anything runs; run refuses a key
// that is not NFC as well.
func TestStoreDotDotKeyRefused(t *testing.T) {
	g := stacktest.GetGCS(t)
	bucket := g.NewBucket(t)
	g.Put(t, bucket, "d/ok.jsonl", []byte("{}\n"))
	g.Put(t, bucket, "d/x/../y.jsonl", []byte("{}\n"))
	loc := "gs://" + bucket + "/d"
	dir := t.TempDir()
	succeeding(func(t *testing.T, args ...string) cliResult { return mlattest(t, dir, nil, args...) })(t, "keygen", "--output-key-prefix", "k", "--no-passphrase")
	for _, args := range [][]string{
		{"digest", loc},
		{"scan", "data", loc},
		{"scan", "model", loc},
		{"run", "--step", "s", "--key", "k.key", "--offline", "--out", "o", "--materials", loc, "--", "touch", "ran"},
	} {
		r := mlattest(t, dir, g.Env(""), args...)
		if r.code == 0 || r.stdout != "" || !strings.Contains(r.stderr, "x/../y.jsonl") {
			t.Errorf("%s: %v\nwant a failure naming x/../y.jsonl", strings.Join(args, " "), r)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Fatal("run ran the command")
	}
	// A key that is not NFC cannot name a material: run refuses it before
	// the command, not after it when the statement is built.
	g.Put(t, bucket, "nfd/cafe\u0301.jsonl", []byte("{}\n"))
	r := mlattest(t, dir, g.Env(""), "run", "--step", "s", "--key", "k.key", "--offline", "--out", "o", "--materials", "gs://"+bucket+"/nfd", "--", "touch", "ran")
	if r.code != 125 || !strings.Contains(r.stderr, "NFC") {
		t.Errorf("run over an NFD key: %v\nwant exit 125 saying it is not NFC", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Fatal("run ran the command")
	}
}
