// Command bench measures mlattest's hashing against baselines run on the
// same data in the same run, and prints every figure as a ratio to them.
//
//	go run ./bench [-mlattest bin/mlattest] [-in-toto PATH] [-cold] [-keep]
//
// Workloads (generated under a temp dir and removed afterwards):
//   - one 2 GiB file, 8 × 512 MiB files, 200,000 × 4 KiB files: mlattest
//     digest against openssl dgst -sha256, sha256sum, find | xargs -0 -P2
//     -n 5000 sha256sum, and opening and reading every file with 2 workers
//     (this program's "readall" mode, run as a child like the others);
//   - mlattest run --key --offline with a 2 GiB material and a different
//     2 GiB product, against in-toto-golang run and openssl on the two
//     files: wall time and peak RSS of the child (rusage).
//
// Warm runs read the data once first and report the best of a few runs.
// With -cold (needs root), the page cache is dropped before each run.
// Nothing is timed in tests: this is a program, run by make bench.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	gib = 1 << 30
	mib = 1 << 20
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "readall" {
		if err := readAll(os.Args[2], 2); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	var (
		mlattest = flag.String("mlattest", "bin/mlattest", "mlattest binary")
		intoto   = flag.String("in-toto", "", "in-toto-golang binary (skipped when empty or missing)")
		cold     = flag.Bool("cold", false, "also measure with the page cache dropped (needs root)")
		keep     = flag.Bool("keep", false, "keep the generated data")
		runs     = flag.Int("runs", 5, "warm runs per measurement (best is kept: other jobs on a shared machine only slow runs down)")
		small    = flag.Int("small-files", 200_000, "number of 4 KiB files")
	)
	flag.Parse()
	b := &bench{runs: *runs}
	var err error
	if b.mlattest, err = filepath.Abs(*mlattest); err != nil {
		fatal(err)
	}
	if *intoto != "" {
		if _, err := os.Stat(*intoto); err == nil {
			b.intoto = *intoto
		}
	}
	b.self, err = os.Executable()
	if err != nil {
		fatal(err)
	}
	b.dir, err = os.MkdirTemp("", "mlattest-bench-")
	if err != nil {
		fatal(err)
	}
	if !*keep {
		defer os.RemoveAll(b.dir)
		// The generated data is large: remove it when interrupted too.
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		go func() {
			sig := <-sigs
			os.RemoveAll(b.dir)
			fmt.Fprintln(os.Stderr, "bench: interrupted")
			os.Exit(128 + int(sig.(syscall.Signal)))
		}()
	}
	if err := b.run(*cold, *small); err != nil {
		if !*keep {
			os.RemoveAll(b.dir)
		}
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

type bench struct {
	mlattest, intoto, self, dir string
	runs                        int
	checks                      []string
	failed                      bool
}

// result of one child run.
type result struct {
	wall   time.Duration
	cpu    time.Duration // user + system of the child (and its children)
	maxRSS int64         // bytes
}

// exec runs argv (stdout discarded) and returns wall time and peak RSS.
func run(dir string, argv ...string) (result, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return result{}, fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, stderr.String())
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss * 1024 // kilobytes on Linux
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return result{wall, cpu, rss}, nil
}

// best runs argv n times (after prep, e.g. dropping caches) and keeps the
// fastest run; peak RSS is the largest seen.
func best(n int, prep func() error, dir string, argv ...string) (result, error) {
	var out result
	for i := range n {
		if prep != nil {
			if err := prep(); err != nil {
				return out, err
			}
		}
		r, err := run(dir, argv...)
		if err != nil {
			return out, err
		}
		if i == 0 || r.wall < out.wall {
			out.wall, out.cpu = r.wall, r.cpu
		}
		out.maxRSS = max(out.maxRSS, r.maxRSS)
	}
	return out, nil
}

func dropCaches() error {
	syscall.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200)
}

// warmUp reads every file below p so warm runs start from the page cache.
func warmUp(p string) error {
	buf := make([]byte, mib)
	return filepath.WalkDir(p, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyBuffer(io.Discard, f, buf)
		return err
	})
}

// writeRandom writes size pseudo-random bytes (seeded: runs are comparable).
func writeRandom(p string, size int64, seed byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	rng := mrand.NewChaCha8([32]byte{seed})
	buf := make([]byte, 4*mib)
	for left := size; left > 0; {
		n := min(int64(len(buf)), left)
		rng.Read(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
		left -= n
	}
	return f.Close()
}

func writeSmall(dir string, n int) error {
	rng := mrand.NewChaCha8([32]byte{42})
	buf := make([]byte, 4096)
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("d%03d", i%500), fmt.Sprintf("f%06d", i))
		if i < 500 {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
		}
		rng.Read(buf)
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func writeKey(p string) error {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	return os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

func rate(bytes int64, d time.Duration) string {
	return fmt.Sprintf("%7.2f GB/s", float64(bytes)/d.Seconds()/1e9)
}

func (b *bench) line(workload, tool string, r result, bytes, files int64, base result) {
	tp := rate(bytes, r.wall)
	if files > 1000 {
		tp = fmt.Sprintf("%7.0fk files/s", float64(files)/r.wall.Seconds()/1e3)
	}
	ratio := ""
	if base.wall > 0 {
		ratio = fmt.Sprintf("%5.2fx", base.wall.Seconds()/r.wall.Seconds())
	}
	fmt.Printf("%-20s %-36s %7.3fs %16s %6s  cpu %6.2fs  rss %5d MB\n", workload, tool, r.wall.Seconds(), tp, ratio, r.cpu.Seconds(), r.maxRSS/1e6)
}

// check records an acceptance criterion.
func (b *bench) check(name string, got, want float64, atLeast bool) {
	ok := got >= want
	op := "≥"
	if !atLeast {
		ok = got <= want
		op = "≤"
	}
	verdict := "PASS"
	if !ok {
		verdict = "FAIL"
		b.failed = true
	}
	b.checks = append(b.checks, fmt.Sprintf("%s  %-62s %6.2f (want %s %.2f)", verdict, name, got, op, want))
}

func ratio(base, r result) float64 { return base.wall.Seconds() / r.wall.Seconds() }

func (b *bench) run(cold bool, nSmall int) error {
	d := b.dir
	fmt.Printf("mlattest bench: data under %s; warm figures are the best of %d runs; ratio = baseline time / this time\n", d, b.runs)
	fmt.Printf("%-20s %-36s %8s %16s %6s\n", "workload", "tool", "time", "throughput", "ratio")
	one := filepath.Join(d, "one", "model.bin")
	if err := writeRandom(one, 2*gib, 1); err != nil {
		return err
	}
	for i := range 8 {
		if err := writeRandom(filepath.Join(d, "shards", fmt.Sprintf("model-%05d-of-00008.safetensors", i+1)), 512*mib, byte(10+i)); err != nil {
			return err
		}
	}
	if err := writeSmall(filepath.Join(d, "small"), nSmall); err != nil {
		return err
	}

	// 1. One 2 GiB file.
	if err := warmUp(filepath.Join(d, "one")); err != nil {
		return err
	}
	oss, err := best(b.runs, nil, d, "openssl", "dgst", "-sha256", one)
	if err != nil {
		return err
	}
	ml, err := best(b.runs, nil, d, b.mlattest, "digest", one)
	if err != nil {
		return err
	}
	sum, err := best(1, nil, d, "sha256sum", one)
	if err != nil {
		return err
	}
	w := "2GiB file (warm)"
	b.line(w, "openssl dgst -sha256", oss, 2*gib, 1, result{})
	b.line(w, "sha256sum", sum, 2*gib, 1, oss)
	b.line(w, "mlattest digest", ml, 2*gib, 1, oss)
	b.check("warm 2 GiB file: mlattest throughput / openssl", ratio(oss, ml), 0.90, true)
	sh, err := best(b.runs, nil, d, b.mlattest, "digest", "--sharded", "1GB", one)
	if err == nil {
		b.line(w, "mlattest digest --sharded 1GB", sh, 2*gib, 1, oss)
	} else {
		fmt.Println("  (mlattest digest --sharded unavailable:", strings.SplitN(err.Error(), "\n", 2)[0]+")")
	}
	if cold {
		w := "2GiB file (cold)"
		oc, err := best(1, dropCaches, d, "openssl", "dgst", "-sha256", one)
		if err != nil {
			return err
		}
		mc, err := best(1, dropCaches, d, b.mlattest, "digest", one)
		if err != nil {
			return err
		}
		b.line(w, "openssl dgst -sha256", oc, 2*gib, 1, result{})
		b.line(w, "mlattest digest", mc, 2*gib, 1, oc)
		warmUp(filepath.Join(d, "one"))
	}

	// 2. 8 × 512 MiB.
	shards, _ := filepath.Glob(filepath.Join(d, "shards", "*"))
	if err := warmUp(filepath.Join(d, "shards")); err != nil {
		return err
	}
	w = "8x512MiB (warm)"
	oss8, err := best(b.runs, nil, d, append([]string{"openssl", "dgst", "-sha256"}, shards...)...)
	if err != nil {
		return err
	}
	ml8, err := best(b.runs, nil, d, b.mlattest, "digest", "shards")
	if err != nil {
		return err
	}
	xa8, err := best(1, nil, d, "bash", "-c", "find shards -type f -print0 | xargs -0 -P2 -n 5000 sha256sum")
	if err != nil {
		return err
	}
	b.line(w, "openssl dgst -sha256", oss8, 4*gib, 8, result{})
	b.line(w, "find|xargs -P2 sha256sum", xa8, 4*gib, 8, oss8)
	b.line(w, "mlattest digest", ml8, 4*gib, 8, oss8)
	b.check("warm 8 x 512 MiB: mlattest throughput / openssl", ratio(oss8, ml8), 1.8, true)

	// 3. 200k × 4 KiB.
	if err := warmUp(filepath.Join(d, "small")); err != nil {
		return err
	}
	w = fmt.Sprintf("%dkx4KiB (warm)", nSmall/1000)
	bytes, files := int64(nSmall)*4096, int64(nSmall)
	xa, err := best(b.runs, nil, d, "bash", "-c", "find small -type f -print0 | xargs -0 -P2 -n 5000 sha256sum")
	if err != nil {
		return err
	}
	ra, err := best(b.runs, nil, d, b.self, "readall", "small")
	if err != nil {
		return err
	}
	mls, err := best(b.runs, nil, d, b.mlattest, "digest", "small")
	if err != nil {
		return err
	}
	b.line(w, "find|xargs -0 -P2 -n 5000 sha256sum", xa, bytes, files, result{})
	b.line(w, "open+read, 2 workers (no hashing)", ra, bytes, files, xa)
	b.line(w, "mlattest digest", mls, bytes, files, xa)
	b.check("warm 200k x 4 KiB: mlattest rate / find|xargs -P2 sha256sum", ratio(xa, mls), 2.5, true)
	b.check("warm 200k x 4 KiB: mlattest rate / open+read with 2 workers", ratio(ra, mls), 0.75, true)
	// The same tree again through the hash cache: the second run reads nothing.
	cache := filepath.Join(d, "cache")
	if _, err := run(d, b.mlattest, "digest", "--hash-cache", cache, "small"); err == nil {
		mc, err := best(b.runs, nil, d, b.mlattest, "digest", "--hash-cache", cache, "small")
		if err != nil {
			return err
		}
		b.line(w, "mlattest digest --hash-cache (hit)", mc, bytes, files, xa)
	}
	if cold {
		w := fmt.Sprintf("%dkx4KiB (cold)", nSmall/1000)
		xc, err := best(1, dropCaches, d, "bash", "-c", "find small -type f -print0 | xargs -0 -P2 -n 5000 sha256sum")
		if err != nil {
			return err
		}
		rc, err := best(1, dropCaches, d, b.self, "readall", "small")
		if err != nil {
			return err
		}
		mc, err := best(1, dropCaches, d, b.mlattest, "digest", "small")
		if err != nil {
			return err
		}
		b.line(w, "find|xargs -0 -P2 -n 5000 sha256sum", xc, bytes, files, result{})
		b.line(w, "open+read, 2 workers (no hashing)", rc, bytes, files, xc)
		b.line(w, "mlattest digest", mc, bytes, files, xc)
	}
	if err := os.RemoveAll(filepath.Join(d, "small")); err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(d, "shards")); err != nil {
		return err
	}

	// 4. A step with a 2 GiB material and a different 2 GiB product.
	step := filepath.Join(d, "step")
	if err := os.Rename(filepath.Join(d, "one"), step); err != nil {
		return err
	}
	if err := writeRandom(filepath.Join(step, "out.bin"), 2*gib, 2); err != nil {
		return err
	}
	key := filepath.Join(d, "key.pem")
	if err := writeKey(key); err != nil {
		return err
	}
	if err := warmUp(step); err != nil {
		return err
	}
	w = "run 2+2GiB (warm)"
	osr, err := best(b.runs, nil, step, "openssl", "dgst", "-sha256", "model.bin", "out.bin")
	if err != nil {
		return err
	}
	mlr, err := best(b.runs, nil, step, "bash", "-c",
		`exec "$0" run --step bench --key "$1" --offline --out "$(mktemp -d -p "$2")" --materials model.bin --products out.bin -- true`, b.mlattest, key, d)
	if err != nil {
		return err
	}
	// bash execs mlattest, so the rusage is mlattest's own.
	b.line(w, "openssl dgst -sha256 (both files)", osr, 4*gib, 2, result{})
	b.line(w, "mlattest run --key --offline", mlr, 4*gib, 2, osr)
	b.check("mlattest run 2+2 GiB: peak RSS (MB)", float64(mlr.maxRSS)/1e6, 100, false)
	b.check("mlattest run 2+2 GiB: wall / openssl on the two files", mlr.wall.Seconds()/osr.wall.Seconds(), 1.15, false)
	if b.intoto != "" {
		itr, err := best(1, nil, step, "bash", "-c",
			`exec "$0" run -n bench -k "$1" -d "$(mktemp -d -p "$2")" -m model.bin -p out.bin -- true`, b.intoto, key, d)
		if err != nil {
			return err
		}
		b.line(w, "in-toto-golang run (v0.11.0)", itr, 4*gib, 2, osr)
		b.check("mlattest run 2+2 GiB: wall / in-toto-golang run", mlr.wall.Seconds()/itr.wall.Seconds(), 0.60, false)
	} else {
		fmt.Println("  (in-toto-golang not installed: its comparison is skipped)")
	}

	fmt.Println()
	fmt.Println("acceptance:")
	for _, c := range b.checks {
		fmt.Println("  " + c)
	}
	if b.failed {
		fmt.Println("some acceptance figures were missed on this run (see above)")
	}
	return nil
}

// readAll opens and reads every file below dir with workers goroutines fed
// by one walker: the floor for any tool that must read every byte.
func readAll(dir string, workers int) error {
	paths := make(chan string, 1024)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64<<10)
			for p := range paths {
				f, err := os.Open(p)
				if err != nil {
					report(errs, err)
					continue
				}
				for {
					_, err := f.Read(buf)
					if err == io.EOF {
						break
					}
					if err != nil {
						report(errs, err)
						break
					}
				}
				f.Close()
			}
		}()
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			paths <- p
		}
		return err
	})
	close(paths)
	wg.Wait()
	select {
	case e := <-errs:
		return e
	default:
	}
	return err
}

// report keeps the first error of the workers without blocking them.
func report(errs chan error, err error) {
	select {
	case errs <- err:
	default:
	}
}
