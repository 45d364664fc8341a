package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/stacktest"
)

// BenchmarkS3 measures, against the local S3 server, on one prefix of
// MLATTEST_S3_BENCH_MIB MiB (default 1024) in 64 MiB objects:
//   - download: every object read with the same client and ranged
//     parallel reads into io.Discard, as many objects at once as digest
//     reads (the plain parallel download digest is compared with);
//   - digest-1: one worker hashing the prefix (digest.FromSource);
//   - digest-2: two workers, each its shard of a 2-shard plan, at once.
//
// Run once: go test ./store -run '^$' -bench BenchmarkS3 -benchtime 1x
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
	bucket := s.NewBucket(b)
	files := map[string][]byte{}
	for i := range mib / 64 {
		name := fmt.Sprintf("obj-%03d", i)
		files[name] = pattern(name, 64<<20)
	}
	s.PutAll(b, bucket, "bench/", files)
	total := int64(mib) << 20
	ctx := context.Background()
	open := func() *Source {
		bk, err := Open(ctx, "s3://"+bucket+"/bench/")
		if err != nil {
			b.Fatal(err)
		}
		return NewSource(bk)
	}
	rate := func(b *testing.B, d time.Duration) float64 {
		r := float64(total) / (1 << 20) / d.Seconds()
		b.ReportMetric(r, "MiB/s")
		return r
	}
	var download, one float64
	b.Run("download", func(b *testing.B) {
		for range b.N {
			src := open()
			l, err := src.Listing(ctx)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			sem := make(chan struct{}, 8*runtime.GOMAXPROCS(0)) // digest's default for a Source
			var wg sync.WaitGroup
			for _, f := range l.Files {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					if _, err := src.Copy(ctx, src.objects[f.Name], io.Discard); err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
			download = rate(b, time.Since(start))
		}
	})
	b.Run("digest-1", func(b *testing.B) {
		for range b.N {
			start := time.Now()
			if _, err := digest.FromSource(ctx, open()); err != nil {
				b.Fatal(err)
			}
			one = rate(b, time.Since(start))
		}
	})
	b.Run("digest-2", func(b *testing.B) {
		for range b.N {
			start := time.Now()
			var wg sync.WaitGroup
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					src := open()
					l, err := src.Listing(ctx)
					if err != nil {
						b.Error(err)
						return
					}
					if _, err := src.DigestShard(ctx, l, i, 2); err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
			two := rate(b, time.Since(start))
			b.Logf("digest-1 / download = %.2f; digest-2 / digest-1 = %.2f", one/download, two/one)
		}
	})
}
