package digest

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Benchmark data: one large file and a tree of small files, made once per
// process and shared by the digest benchmarks and the baselines, so the
// ratios compare the same bytes with the same page-cache state.
const (
	benchLargeSize  = 256 << 20
	benchSmallFiles = 2000
	benchSmallSize  = 16 << 10
)

var (
	benchOnce sync.Once
	benchDir  string
	benchErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

func benchData(b *testing.B) string {
	b.Helper()
	benchOnce.Do(func() { benchDir, benchErr = makeBenchData() })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDir
}

func makeBenchData() (string, error) {
	dir, err := os.MkdirTemp("", "digest-bench-")
	if err != nil {
		return "", err
	}
	rng := rand.NewChaCha8([32]byte{1})
	buf := make([]byte, 1<<20)
	if err := os.MkdirAll(filepath.Join(dir, "large"), 0o755); err != nil {
		return dir, err
	}
	f, err := os.Create(filepath.Join(dir, "large", "model.bin"))
	if err != nil {
		return dir, err
	}
	for range benchLargeSize / len(buf) {
		rng.Read(buf)
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return dir, err
		}
	}
	if err := f.Close(); err != nil {
		return dir, err
	}
	for i := range benchSmallFiles {
		p := filepath.Join(dir, "small", fmt.Sprintf("d%02d", i%20), fmt.Sprintf("f%04d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return dir, err
		}
		rng.Read(buf[:benchSmallSize])
		if err := os.WriteFile(p, buf[:benchSmallSize], 0o644); err != nil {
			return dir, err
		}
	}
	return dir, nil
}

// warm reads the files of a case so that every benchmark starts with them in
// the page cache: the numbers compare hashing, not this machine's disk (the
// kernel may have dropped the pages since the last benchmark). Called before
// b.Loop, which resets the timer.
func warm(b *testing.B, dir, sub string) {
	b.Helper()
	err := filepath.WalkDir(filepath.Join(dir, sub), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(io.Discard, f)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
}

type benchCase struct {
	name  string
	sub   string // folder below the bench dir
	bytes int64
}

var benchCases = []benchCase{
	{"large-256MiB", "large", benchLargeSize},
	{"small-2000x16KiB", "small", benchSmallFiles * benchSmallSize},
}

func BenchmarkPaths(b *testing.B) {
	dir := benchData(b)
	for _, bc := range benchCases {
		for _, workers := range []int{0, 1} {
			name := bc.name
			if workers == 1 {
				name += "/workers=1"
			}
			b.Run(name, func(b *testing.B) {
				warm(b, dir, bc.sub)
				b.SetBytes(bc.bytes)
				for b.Loop() {
					if _, err := Paths(context.Background(), dir, []string{bc.sub}, WithWorkers(workers)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// benchFiles lists the files of a case, in the order Paths would hash them.
func benchFiles(b *testing.B, dir, sub string) []string {
	arts, err := Paths(context.Background(), dir, []string{sub})
	if err != nil {
		b.Fatal(err)
	}
	files := make([]string, len(arts))
	for i, a := range arts {
		files[i] = filepath.Join(dir, filepath.FromSlash(a.Name))
	}
	return files
}

func benchTool(b *testing.B, tool string, args ...string) {
	if _, err := exec.LookPath(tool); err != nil {
		b.Skipf("%s not installed", tool)
	}
	dir := benchData(b)
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			files := benchFiles(b, dir, bc.sub)
			warm(b, dir, bc.sub)
			b.SetBytes(bc.bytes)
			for b.Loop() {
				cmd := exec.Command(tool, append(append([]string(nil), args...), files...)...)
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%s: %v\n%s", tool, err, out)
				}
			}
		})
	}
}

// BenchmarkBaselineOpenSSL and BenchmarkBaselineSha256sum hash the same data
// with one process each (single-threaded tools), for reporting ratios.
func BenchmarkBaselineOpenSSL(b *testing.B)   { benchTool(b, "openssl", "dgst", "-sha256") }
func BenchmarkBaselineSha256sum(b *testing.B) { benchTool(b, "sha256sum") }
