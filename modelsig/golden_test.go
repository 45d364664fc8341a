package modelsig

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlattest/mlattest/digest"
)

var update = flag.Bool("update", false, "rewrite the golden statement")

// goldenModel builds the small model of the golden tests: nested files, a
// name whose byte order differs from the format's component order ("dir-x"
// sorts after "dir/b.bin"), a symbolic link to a file, an ignored
// directory, git's directory, a nested .gitignore (the default git paths
// are top-level only) and the signature file.
func goldenModel(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"a.txt":          "hello\n",
		"dir/b.bin":      "\x00\x01\x02",
		"dir-x":          "dash\n",
		"skip/x":         "ignored\n",
		".git/config":    "git\n",
		"sub/.gitignore": "nested\n",
		"model.sig":      "{}",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a.txt", filepath.Join(dir, "lnk")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func goldenSerialization(method string, shard int64) Serialization {
	return Serialization{Method: method, HashType: HashSHA256, AllowSymlinks: true, ShardSize: shard,
		IgnorePaths: []string{".git", ".gitattributes", ".github", ".gitignore", "model.sig", "skip"}}
}

// The expectations below were computed by hand, outside this code: each
// digest is sha256 of the file's bytes (the link's target's for "lnk"); the
// root is sha256 over the raw digests concatenated in the format's order.
// With shards of 4 bytes each range [start, end) is hashed on its own.
var goldenFiles = []Resource{
	{"a.txt", "sha256", "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"},
	{"dir/b.bin", "sha256", "ae4b3280e56e2faf83f414a6e3dabe9d5fbe18976544c05fed121accb85b53fc"},
	{"dir-x", "sha256", "f8359416cedbf4b44bd1cab71b791b4121e3b33748187c530e70207af87c3f39"},
	{"lnk", "sha256", "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"},
	{"sub/.gitignore", "sha256", "370a8c04b8a65bb4494275eec227f1b694db04c76da6b0b8ae88ed1ab19790a3"},
}

const (
	goldenRoot       = "ba6c847c26f71576f73bc1da7c75201d913b0b3f22ae889b87244d6a78e15f20"
	goldenRootShards = "adb740fbdddb778dd97a607d6dad9748cbabf5fb2fb0a0da9d60b6510027cd38"
)

// TestGoldenManifest: the manifest of the small model has exactly the
// resources and root digest computed by hand, and its statement is the
// golden file (the bytes sign-model signs).
func TestGoldenManifest(t *testing.T) {
	dir := goldenModel(t)
	m, err := Hash(context.Background(), dir, goldenSerialization(MethodFiles, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Resources) != len(goldenFiles) {
		t.Fatalf("resources %+v, want %+v", m.Resources, goldenFiles)
	}
	for i, r := range m.Resources {
		if r != goldenFiles[i] {
			t.Errorf("resource %d: %+v, want %+v", i, r, goldenFiles[i])
		}
	}
	root, err := m.RootDigest()
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(root) != goldenRoot {
		t.Errorf("root %x, want %s", root, goldenRoot)
	}
	st, err := m.Statement()
	if err != nil {
		t.Fatal(err)
	}
	// The model name is the folder's base name, random here.
	m.ModelName = "golden"
	st, _ = m.Statement()
	golden := filepath.Join("testdata", "golden_statement.json")
	if *update {
		if err := os.WriteFile(golden, append(st, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(st)+"\n" {
		t.Errorf("statement differs from %s:\n%s", golden, st)
	}
	back, err := ParseStatement(st)
	if err != nil {
		t.Fatalf("own statement: %v", err)
	}
	if err := Compare(back, m); err != nil {
		t.Errorf("round trip: %v", err)
	}
}

// TestGoldenShards: shards of 4 bytes, named PATH:START:END, give the root
// computed by hand; an empty file has no shard.
func TestGoldenShards(t *testing.T) {
	dir := goldenModel(t)
	if err := os.WriteFile(filepath.Join(dir, "empty"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Hash(context.Background(), dir, goldenSerialization(MethodShards, 4))
	if err != nil {
		t.Fatal(err)
	}
	root, _ := m.RootDigest()
	if hex.EncodeToString(root) != goldenRootShards || len(m.Resources) != 9 {
		t.Errorf("root %x over %d shards, want %s over 9", root, len(m.Resources), goldenRootShards)
	}
	if r := m.Resources[1]; r.Name != "a.txt:4:6" || r.Algorithm != "sha256-sharded-4" {
		t.Errorf("second shard %+v", r)
	}
	// Numeric, not textual, order of shard starts.
	m.Resources = []Resource{{Name: "f:10:20"}, {Name: "f:2:10"}}
	m.SortResources()
	if m.Resources[0].Name != "f:2:10" {
		t.Errorf("shards sorted as text: %+v", m.Resources)
	}
}

// TestHashSymlinkPolicy: without allow_symlinks a link is refused; with it
// a link to a directory is refused (the format would leave its files
// unsigned), and so is a link out of the model.
func TestHashSymlinkPolicy(t *testing.T) {
	ctx := context.Background()
	dir := goldenModel(t)
	s := goldenSerialization(MethodFiles, 0)
	s.AllowSymlinks = false
	if _, err := Hash(ctx, dir, s); !errors.Is(err, digest.ErrSymlink) || !ContentError(err) {
		t.Errorf("link without allow_symlinks: %v", err)
	}
	if err := os.Symlink("dir", filepath.Join(dir, "dirlink")); err != nil {
		t.Fatal(err)
	}
	if _, err := Hash(ctx, dir, goldenSerialization(MethodFiles, 0)); !errors.Is(err, ErrSymlinkedDirectory) {
		t.Errorf("link to a directory: %v", err)
	}
	os.Remove(filepath.Join(dir, "dirlink"))
	if err := os.Symlink(filepath.Join(t.TempDir()), filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	if _, err := Hash(ctx, dir, goldenSerialization(MethodFiles, 0)); !ContentError(err) {
		t.Errorf("link out of the model: %v", err)
	}
	// Ignored links are never looked at.
	s = goldenSerialization(MethodFiles, 0)
	s.AllowSymlinks = false
	s.IgnorePaths = append(s.IgnorePaths, "lnk", "out")
	if _, err := Hash(ctx, dir, s); err != nil {
		t.Errorf("ignored links: %v", err)
	}
}
