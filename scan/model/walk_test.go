package model

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/mlattest/mlattest/digest"
)

// hfSnapshot lays out a Hugging Face cache repository of the honest
// causal LM under root: blobs/ named by content, snapshots/rev/ of links.
func hfSnapshot(t *testing.T, root string) []string {
	t.Helper()
	src := filepath.Join("testdata", "repos", "causal-lm-sharded")
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(root, "models--org--tiny")
	for _, d := range []string{"blobs", "refs", "snapshots/abc123"} {
		if err := os.MkdirAll(filepath.Join(repo, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		blob := hex.EncodeToString(sum[:])
		if err := os.WriteFile(filepath.Join(repo, "blobs", blob), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../../blobs/"+blob, filepath.Join(repo, "snapshots", "abc123", e.Name())); err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Join("models--org--tiny", "snapshots", "abc123", e.Name()))
	}
	sort.Strings(names)
	return names
}

func scanAll(t *testing.T, s *Scanner, paths ...string) ([]Result, error) {
	t.Helper()
	var rs []Result
	err := s.ScanPaths(context.Background(), paths, func(r Result) error {
		rs = append(rs, r)
		return nil
	})
	return rs, err
}

func TestScanHFCacheSnapshot(t *testing.T) {
	root := t.TempDir()
	names := hfSnapshot(t, root)
	t.Chdir(root)
	snap := filepath.Join("models--org--tiny", "snapshots", "abc123")
	// Links are refused by default, as digest refuses them.
	if _, err := scanAll(t, New(), snap); !errors.Is(err, digest.ErrSymlink) || !errors.Is(err, ErrUnreadable) {
		t.Fatalf("links without following: %v", err)
	}
	rs, err := scanAll(t, New(WithWalk(digest.WithSymlinks(digest.SymlinksFollowInside))), snap)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(names) {
		t.Fatalf("%d results for %d files", len(rs), len(names))
	}
	for i, r := range rs {
		// Scanned under the snapshot names, shard index resolved among them.
		if r.Path != names[i] || r.Verdict != Safe || r.SHA256 == "" {
			t.Errorf("%s (want %s): %s", r.Path, names[i], describe(r))
		}
	}
	// A relative path outside the working directory is walked from itself.
	sub := filepath.Join(root, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	if rs, err := scanAll(t, New(), filepath.Join("..", "models--org--tiny", "blobs")); err != nil || len(rs) != len(names) || rs[0].Path != filepath.Join("..", "models--org--tiny", "blobs", filepath.Base(rs[0].Path)) {
		t.Fatalf("relative path outside the working directory: %v %d", err, len(rs))
	}
	// A link out of the walk's root is refused even when following.
	out := t.TempDir()
	if err := os.Symlink(filepath.Join(root, "models--org--tiny"), filepath.Join(out, "m")); err != nil {
		t.Fatal(err)
	}
	if _, err := scanAll(t, New(WithWalk(digest.WithSymlinks(digest.SymlinksFollowInside))), filepath.Join(out, "m", "snapshots", "abc123")); err == nil {
		t.Fatal("links outside the root followed")
	}
}

// The walk skips what digest skips by default: .git/ and a local
// download's .cache/huggingface/ metadata.
func TestScanIgnoresLikeDigest(t *testing.T) {
	dir := copyRepo(t, "bert-vocab-image")
	for _, f := range []string{".git/hooks/post-checkout.py", ".cache/huggingface/download/model.safetensors.metadata", ".cache/huggingface/.gitignore"} {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("import os\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := scanRepo(t, dir)
	arts, err := digest.Paths(context.Background(), dir, []string{"."})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(arts) {
		t.Fatalf("scan saw %d files, digest %d", len(got), len(arts))
	}
	for _, a := range arts {
		if r, ok := got[a.Name]; !ok || r.Verdict != Safe {
			t.Errorf("%s: %v %s", a.Name, ok, describe(r))
		}
	}
	// Without the defaults the code is seen, and is not safe.
	rs, err := scanAll(t, New(WithWalk(digest.WithIgnore())), dir)
	if err != nil {
		t.Fatal(err)
	}
	unsafe := 0
	for _, r := range rs {
		if r.Verdict != Safe {
			unsafe++
		}
	}
	if len(rs) != len(got)+3 || unsafe != 1 {
		t.Errorf("without ignore patterns: %d files (want %d), %d not safe (want the .py)", len(rs), len(got)+3, unsafe)
	}
}
