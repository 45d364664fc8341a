package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/stacktest"
)

// benchBucket keeps the benchmark's objects between runs: uploading 4 GiB
// takes longer than measuring it.
const benchBucket = "mlattest-bench"

// BenchmarkS3 measures, against the local S3 server, on one prefix of
// MLATTEST_S3_BENCH_MIB MiB (default 1024; the point is 4096) in
// 64 MiB objects, created once in the bucket mlattest-bench and kept:
//   - download: every object read with the same client and ranged
//     parallel reads into io.Discard, as many objects at once as digest
//     reads (the plain parallel download digest is compared with);
//   - digest-1: one worker hashing the prefix (digest.FromSource);
//   - digest-2: two workers, each its shard of a 2-shard plan, at once.
//
// Each reports MiB/s and the CPU seconds the benchmark process and the
// server process spent (cpu-s, server-cpu-s), since on a small machine
// they share the cores, and the whole machine's busy and idle CPU seconds.
//
// Run (a shell loop repeats the three alternately; -count N would run
// each N times in a row):
//
//	MLATTEST_S3_BENCH_MIB=4096 go test ./store -run '^$' -bench BenchmarkS3 -benchtime 1x
func BenchmarkS3(b *testing.B) {
	s := stacktest.GetS3(b)
	s.Setenv(b, "")
	mib := 1024
	if v := os.Getenv("MLATTEST_S3_BENCH_MIB"); v != "" {
		var err error
		if mib, err = strconv.Atoi(v); err != nil || mib < 64 {
			b.Fatalf("MLATTEST_S3_BENCH_MIB=%q: want a number of MiB >= 64", v)
		}
	}
	prefix := benchObjects(b, s, mib)
	total := int64(mib/64) * 64 << 20
	ctx := context.Background()
	open := func() *Source {
		bk, err := Open(ctx, "s3://"+benchBucket+"/"+prefix)
		if err != nil {
			b.Fatal(err)
		}
		return NewSource(bk)
	}
	// measure runs fn once and reports its rate and CPU; the listing is
	// inside (every worker lists).
	measure := func(b *testing.B, fn func() error) float64 {
		busy0, idle0 := machineCPU()
		cpu0, srv0 := selfCPU(), serverCPU(s)
		start := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		r := float64(total) / (1 << 20) / d.Seconds()
		b.ReportMetric(r, "MiB/s")
		b.ReportMetric((selfCPU() - cpu0).Seconds(), "cpu-s")
		if srv0 >= 0 {
			b.ReportMetric((serverCPU(s) - srv0).Seconds(), "server-cpu-s")
		}
		if busy1, idle1 := machineCPU(); busy0 >= 0 && busy1 >= 0 {
			// The whole machine's, every process: what others took, and
			// whether any core was left idle.
			b.ReportMetric((busy1 - busy0).Seconds(), "machine-busy-s")
			b.ReportMetric((idle1 - idle0).Seconds(), "machine-idle-s")
		}
		b.ReportMetric(0, "ns/op")
		return r
	}
	var download, one float64
	b.Run("download", func(b *testing.B) {
		for range b.N {
			download = measure(b, func() error {
				src := open()
				l, err := src.Listing(ctx)
				if err != nil {
					return err
				}
				sem := make(chan struct{}, 8*runtime.GOMAXPROCS(0)) // digest's default for a Source
				errs := make(chan error, len(l.Files))
				var wg sync.WaitGroup
				for _, f := range l.Files {
					wg.Add(1)
					sem <- struct{}{}
					go func() {
						defer wg.Done()
						defer func() { <-sem }()
						if _, err := src.Copy(ctx, src.objects[f.Name], io.Discard); err != nil {
							errs <- err
						}
					}()
				}
				wg.Wait()
				close(errs)
				return <-errs
			})
		}
	})
	b.Run("digest-1", func(b *testing.B) {
		for range b.N {
			one = measure(b, func() error {
				_, err := digest.FromSource(ctx, open())
				return err
			})
		}
	})
	b.Run("digest-2", func(b *testing.B) {
		for range b.N {
			two := measure(b, func() error {
				errs := make(chan error, 2)
				for i := range 2 {
					go func() {
						src := open()
						l, err := src.Listing(ctx)
						if err == nil {
							_, err = src.DigestShard(ctx, l, i, 2)
						}
						errs <- err
					}()
				}
				return errors.Join(<-errs, <-errs)
			})
			b.Logf("%d MiB: digest-1 / download = %.2f; digest-2 / digest-1 = %.2f", mib, one/download, two/one)
		}
	})
}

// benchObjects makes sure s3://mlattest-bench/MIBmib/ holds mib/64
// objects of 64 MiB (uploading those missing) and returns the prefix.
func benchObjects(b *testing.B, s *stacktest.S3, mib int) string {
	ctx := context.Background()
	c := s.Client()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(benchBucket)}); err != nil {
		var ae smithy.APIError
		if !errors.As(err, &ae) || (ae.ErrorCode() != "BucketAlreadyOwnedByYou" && ae.ErrorCode() != "BucketAlreadyExists") {
			b.Fatalf("creating bucket %s: %v", benchBucket, err)
		}
	}
	prefix := fmt.Sprintf("%dmib/", mib)
	have := map[string]int64{}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(benchBucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range page.Contents {
			have[strings.TrimPrefix(aws.ToString(o.Key), prefix)] = aws.ToInt64(o.Size)
		}
	}
	const size = 64 << 20
	var missing []string
	for i := range mib / 64 {
		if name := fmt.Sprintf("obj-%03d", i); have[name] != size {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return prefix
	}
	b.Logf("uploading %d objects of 64 MiB to s3://%s/%s (kept for later runs)", len(missing), benchBucket, prefix)
	start := time.Now()
	for len(missing) > 0 {
		batch := missing[:min(4, len(missing))] // 4 at a time: 256 MiB of memory
		files := map[string][]byte{}
		for _, name := range batch {
			files[name] = pattern(name, size)
		}
		s.PutAll(b, benchBucket, prefix, files)
		missing = missing[len(batch):]
	}
	b.Logf("uploaded in %v", time.Since(start))
	return prefix
}

// selfCPU is the CPU time (user and system) this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineCPU is the CPU time all cores of the machine spent busy and
// idle (idle and iowait) so far, from /proc/stat; -1 when unreadable.
func machineCPU() (busy, idle time.Duration) {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1, -1
	}
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return -1, -1
	}
	for i, v := range f[1:8] { // user nice system idle iowait irq softirq
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return -1, -1
		}
		if i == 3 || i == 4 {
			idle += time.Duration(n) * 10 * time.Millisecond
		} else {
			busy += time.Duration(n) * 10 * time.Millisecond
		}
	}
	return busy, idle
}

// serverCPU is the CPU time the S3 server process has used (from its
// PID file and /proc), or -1 when that cannot be read.
func serverCPU(s *stacktest.S3) time.Duration {
	pid, err := os.ReadFile(filepath.Join(s.StateDir, "weed.pid"))
	if err != nil {
		return -1
	}
	stat, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/stat")
	if err != nil {
		return -1
	}
	// Fields after the command (which is in parentheses): utime and stime
	// are the 12th and 13th, in clock ticks (USER_HZ, 100 on Linux).
	_, rest, ok := strings.Cut(string(stat), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return -1
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}
