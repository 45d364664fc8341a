package digest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMatchesSha256sum is a property test: on randomized trees (sizes from
// empty to several buffers, names with spaces, quotes, unicode and shell
// metacharacters) every digest equals coreutils sha256sum's for that file.
func TestMatchesSha256sum(t *testing.T) {
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("sha256sum not installed")
	}
	pieces := []string{"a", "B", " ", "é", "日本", "'", "\"", "$x", "-", "#", "~", "(1)", "ü", ";", "&", "%", "=", ",", "+", ".hidden"}
	sizes := []int{0, 0, 1, 55, 56, 63, 64, 65, 4095, 4096, 4097, bufSize - 1, bufSize, bufSize + 1, 2*bufSize + 17}
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 99))
		root := t.TempDir()
		want := map[string]string{}
		for i := range 60 {
			var name strings.Builder
			for range 1 + rng.IntN(3) {
				name.WriteString(pieces[rng.IntN(len(pieces))])
			}
			rel := fmt.Sprintf("d%d/%s%d", rng.IntN(4), name.String(), i)
			if rng.IntN(3) == 0 {
				rel = fmt.Sprintf("d%d/sub %d/%s", rng.IntN(2), rng.IntN(2), rel)
			}
			size := sizes[rng.IntN(len(sizes))]
			if size > 4*4097 && rng.IntN(4) != 0 {
				size = rng.IntN(5000) // keep most files small
			}
			data := make([]byte, size)
			for k := range data {
				data[k] = byte(rng.Uint32())
			}
			p := filepath.Join(root, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			want[rel] = ""
		}
		got, err := Paths(context.Background(), root, []string{"."}, WithWorkers(1+int(seed)))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("seed %d: %d artifacts, want %d", seed, len(got), len(want))
		}
		// One sha256sum run over every file, names passed as arguments.
		args := make([]string, len(got))
		for i, a := range got {
			args[i] = filepath.FromSlash(a.Name)
		}
		cmd := exec.Command("sha256sum", append([]string{"--"}, args...)...)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		i := 0
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, `\`) {
				t.Fatalf("unexpected escaped line %q", line)
			}
			hexSum, name, ok := strings.Cut(line, "  ")
			if !ok || i >= len(got) || name != args[i] {
				t.Fatalf("seed %d: sha256sum line %q does not match %q", seed, line, args[i])
			}
			if got[i].SHA256 != hexSum {
				t.Errorf("seed %d: %q: digest %s, sha256sum %s", seed, got[i].Name, got[i].SHA256, hexSum)
			}
			i++
		}
		if i != len(got) {
			t.Fatalf("seed %d: sha256sum printed %d lines, want %d", seed, i, len(got))
		}
	}
}

// TestLargeFileReadAhead checks the overlapped reader on sizes around
// buffer boundaries, through File and Paths.
func TestLargeFileReadAhead(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{bufSize, bufSize + 1, 2 * bufSize, 2*bufSize + 1, 5*bufSize - 3} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i*31 + size)
		}
		p := filepath.Join(dir, fmt.Sprint(size))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		want := sha256.Sum256(data)
		a, err := File(context.Background(), p)
		if err != nil || a.SHA256 != hex.EncodeToString(want[:]) || a.Size != int64(size) {
			t.Errorf("File(%d bytes) = %+v, %v", size, a, err)
		}
	}
}

// TestManyWorkersNoLeak: the read-ahead goroutines end with their files.
func TestManyWorkersNoLeak(t *testing.T) {
	dir := t.TempDir()
	for i := range 6 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprint(i)), make([]byte, 3*bufSize+i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := runtime.NumGoroutine()
	for range 5 {
		if _, err := Paths(context.Background(), dir, []string{"."}, WithWorkers(3)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Paths(ctx, dir, []string{"."}); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
	for range 100 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("%d goroutines after, %d before", runtime.NumGoroutine(), before)
}

// TestWalkErrorWinsOverHashError: a walk error (deterministic) is reported
// even when a file hashed earlier failed.
func TestWalkErrorWinsOverHashError(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads unreadable files")
	}
	root := t.TempDir()
	makeTree(t, root, map[string]entry{"a/unreadable": file("x"), "z/link": symlink("../a/unreadable")})
	if err := os.Chmod(filepath.Join(root, "a/unreadable"), 0); err != nil {
		t.Fatal(err)
	}
	_, err := Paths(context.Background(), root, []string{"."})
	if !errors.Is(err, ErrSymlink) {
		t.Errorf("error %v, want the walk's ErrSymlink", err)
	}
}

func TestSharded(t *testing.T) {
	root := t.TempDir()
	data := make([]byte, 10_000)
	for i := range data {
		data[i] = byte(i)
	}
	makeTree(t, root, map[string]entry{"m/big": file(string(data)), "m/empty": file(""), "m/small": file("abc")})
	shards, err := ShardedPaths(context.Background(), root, []string{"m"}, 4096, WithWorkers(3))
	if err != nil {
		t.Fatal(err)
	}
	want := []Shard{
		{"m/big", 0, 4096, sum(string(data[:4096]))},
		{"m/big", 4096, 8192, sum(string(data[4096:8192]))},
		{"m/big", 8192, 10000, sum(string(data[8192:]))},
		{"m/empty", 0, 0, sum("")},
		{"m/small", 0, 3, sum("abc")},
	}
	if fmt.Sprint(shards) != fmt.Sprint(want) {
		t.Fatalf("got %v\nwant %v", shards, want)
	}
	if shards[1].ID() != "m/big:4096:8192" || ShardAlgorithm(4096) != "sha256-sharded-4096" {
		t.Errorf("ID %q", shards[1].ID())
	}
	h := sha256.New()
	for _, s := range want {
		raw, _ := hex.DecodeString(s.SHA256)
		h.Write(raw)
	}
	md, err := ShardedManifestDigest(shards)
	if err != nil || md != hex.EncodeToString(h.Sum(nil)) {
		t.Errorf("manifest digest %s, %v", md, err)
	}
	if _, err := ShardedManifestDigest([]Shard{{Name: "x", SHA256: "zz"}}); err == nil {
		t.Error("bad shard digest accepted")
	}
	if _, err := ShardedPaths(context.Background(), root, []string{"m"}, 0); err == nil {
		t.Error("shard size 0 accepted")
	}
	if _, err := ShardedPaths(context.Background(), root, []string{"nope"}, 10); err == nil {
		t.Error("missing path accepted")
	}
	// Sharding does not change with the number of workers.
	one, err := ShardedPaths(context.Background(), root, []string{"m"}, 4096, WithWorkers(1))
	if err != nil || fmt.Sprint(one) != fmt.Sprint(shards) {
		t.Errorf("workers=1: %v, %v", one, err)
	}
}

func TestHashCache(t *testing.T) {
	old := cacheMargin
	cacheMargin = 0
	defer func() { cacheMargin = old }()
	root, cdir := t.TempDir(), filepath.Join(t.TempDir(), "cache")
	makeTree(t, root, map[string]entry{"a": file("alpha"), "b/c": file("charlie"), "big": file(strings.Repeat("x", bufSize+5))})
	first, err := Paths(context.Background(), root, []string{"."}, WithHashCache(cdir))
	if err != nil {
		t.Fatal(err)
	}
	c, err := OpenCache(cdir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.entries) != 3 {
		t.Fatalf("cache has %d entries, want 3", len(c.entries))
	}
	// Poison the cache: a hit is visible because the digest is the cache's.
	for id, e := range c.entries {
		e.sum = strings.Repeat("0", 64)
		c.entries[id] = e
	}
	c.dirty = true
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	c2, err := OpenCache(cdir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Paths(context.Background(), root, []string{"."}, WithCache(c2))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range got {
		if a.SHA256 != strings.Repeat("0", 64) {
			t.Errorf("%s: not served from the cache", a.Name)
		}
	}
	if c2.Hits() != 3 {
		t.Errorf("hits %d", c2.Hits())
	}
	// A change to the file (new ctime, mtime, maybe size) is a miss.
	if err := os.WriteFile(filepath.Join(root, "a"), []byte("ALPHA"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = Paths(context.Background(), root, []string{"a"}, WithCache(c2))
	if err != nil || got[0].SHA256 != sum("ALPHA") {
		t.Errorf("after a change: %v, %v", got, err)
	}
	// Same size, mtime put back: ctime still changed.
	p := filepath.Join(root, "b/c")
	fi, _ := os.Stat(p)
	if err := os.WriteFile(p, []byte("CHARLIE"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	got, err = Paths(context.Background(), root, []string{"b"}, WithCache(c2))
	if err != nil || got[0].SHA256 != sum("CHARLIE") {
		t.Errorf("after a same-size change with mtime restored: %v, %v", got, err)
	}
	_ = first

	// Racily clean files are not remembered.
	cacheMargin = time.Hour
	c3 := &Cache{path: filepath.Join(t.TempDir(), cacheFile), entries: map[cacheID]cacheEntry{}}
	if _, err := Paths(context.Background(), root, []string{"."}, WithCache(c3)); err != nil {
		t.Fatal(err)
	}
	if len(c3.entries) != 0 {
		t.Errorf("fresh files were cached: %d", len(c3.entries))
	}

	// A cache file others can write is refused; so is a malformed one.
	cp := filepath.Join(cdir, cacheFile)
	if err := os.Chmod(cp, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCache(cdir); err == nil {
		t.Error("world-writable cache accepted")
	}
	if err := os.Chmod(cp, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cp, []byte(cacheHeader+"\n1 2 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCache(cdir); err == nil {
		t.Error("malformed cache accepted")
	}
	if _, err := Paths(context.Background(), root, []string{"."}, WithHashCache(cdir)); err == nil {
		t.Error("Paths with a malformed cache succeeded")
	}
}
