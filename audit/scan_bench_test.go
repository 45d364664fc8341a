package audit

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/tessera/api/layout"
)

// benchEntries returns n hashedrekord entries signed with 64 certificates
// for 8 identities (user0@example.com to user7@example.com, entry i by
// user i%8): a scan parses each distinct certificate once
// (BenchmarkParseEntries measures entries whose certificates all differ,
// as Fulcio's per-signing certificates do).
func benchEntries(b *testing.B, n int) [][]byte {
	b.Helper()
	vs := fakeSigstore(b)
	var certs [][]byte
	for i := range 64 {
		cert, _, err := vs.GenerateLeafCert(fmt.Sprintf("user%d@example.com", i%8), issuerA)
		if err != nil {
			b.Fatal(err)
		}
		certs = append(certs, cert.Raw)
	}
	entries := make([][]byte, n)
	for i := range entries {
		entries[i] = hashedRekordEntryFromCert(b, certs[i%len(certs)], sha(fmt.Sprint("e", i)))
	}
	return entries
}

// BenchmarkScan10k scans a 10,000-entry log (search by identity: every
// entry parsed, its certificate read, the whole range proven against the
// checkpoint) and, in the same iteration, downloads the same entry bundles
// with the same number of parallel workers and nothing else. It reports
// download-time / scan-time as "share": 1 means scanning costs no more than
// fetching the bytes (the target is >= 0.5), and the same ratio of CPU
// time as "cpu-share", with the CPU time of each per operation.
func BenchmarkScan10k(b *testing.B) {
	const n = 10000
	l := newTestLog(b, nil)
	l.add(b, benchEntries(b, n)...)
	lg := l.open(b)
	ctx := context.Background()
	cp, err := lg.Checkpoint(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		q    Query
		want int
	}{
		{"rare-identity", Query{Subject: "nobody@example.com"}, 0},
		{"one-in-8-entries", Query{Subject: "user3@example.com"}, n / 8},
		// No literal prefix, so no needle: every entry is read.
		{"every-entry-parsed", Query{SubjectRegexp: `.*3@example\.com`}, n / 8},
		{"regexp-with-prefix", Query{SubjectRegexp: "user3@.*"}, n / 8},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var scan, download, scanCPU, downloadCPU time.Duration
			for range b.N {
				start, cpu := time.Now(), processCPU()
				res, err := lg.Search(ctx, cp, 0, 0, bc.q)
				if err != nil || len(res.Matches) != bc.want {
					b.Fatalf("%v: %d matches, want %d", err, len(res.Matches), bc.want)
				}
				scan += time.Since(start)
				scanCPU += processCPU() - cpu
				start, cpu = time.Now(), processCPU()
				downloadBundles(b, l.srv.URL, cp.Size, lg.workers)
				download += time.Since(start)
				downloadCPU += processCPU() - cpu
			}
			b.ReportMetric(float64(scan.Milliseconds())/float64(b.N), "scan-ms/op")
			b.ReportMetric(float64(download.Milliseconds())/float64(b.N), "download-ms/op")
			b.ReportMetric(download.Seconds()/scan.Seconds(), "share")
			// The same ratio of the process's CPU time (server included):
			// what the share tends to when other jobs keep the cores busy.
			if scanCPU > 0 {
				b.ReportMetric(downloadCPU.Seconds()/scanCPU.Seconds(), "cpu-share")
				b.ReportMetric(float64(scanCPU.Microseconds())/1000/float64(b.N), "scan-cpu-ms/op")
				b.ReportMetric(float64(downloadCPU.Microseconds())/1000/float64(b.N), "download-cpu-ms/op")
			}
		})
	}
}

// downloadBundles GETs every entry bundle of a log of size with workers
// parallel requests, reading the bodies.
func downloadBundles(b *testing.B, base string, size uint64, workers int) {
	// The same connection reuse the Log's own client has.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = workers
	c := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	var wg sync.WaitGroup
	jobs := make(chan string)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range jobs {
				resp, err := c.Get(base + "/" + p)
				if err != nil {
					b.Error(err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	for i := uint64(0); i*layout.EntryBundleWidth < size; i++ {
		jobs <- layout.EntriesPath(i, layout.PartialTileSize(0, i, size))
	}
	close(jobs)
	wg.Wait()
}

// BenchmarkParseEntries parses 1,000 entries with ParseEntry and with a
// scan's parser, whose certificates repeat (a CI identity's cached
// certificate) or all differ (one Fulcio certificate per signing).
func BenchmarkParseEntries(b *testing.B) {
	vs := fakeSigstore(b)
	const n = 1000
	shared, distinct := make([][]byte, n), make([][]byte, n)
	var certs [][]byte
	for i := range n {
		cert, _, err := vs.GenerateLeafCert(fmt.Sprintf("user%d@example.com", i%8), issuerA)
		if err != nil {
			b.Fatal(err)
		}
		certs = append(certs, cert.Raw)
		distinct[i] = hashedRekordEntryFromCert(b, cert.Raw, sha(fmt.Sprint(i)))
		shared[i] = hashedRekordEntryFromCert(b, certs[i%8], sha(fmt.Sprint(i)))
	}
	for _, bc := range []struct {
		name    string
		entries [][]byte
		parse   func(p *entryParser, i uint64, data []byte) (*Entry, error)
	}{
		{"ParseEntry", distinct, func(_ *entryParser, i uint64, data []byte) (*Entry, error) { return ParseEntry(i, data) }},
		{"parser-distinct-certs", distinct, (*entryParser).parse},
		{"parser-shared-certs", shared, (*entryParser).parse},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				p := newEntryParser(nil)
				for i, e := range bc.entries {
					if _, err := bc.parse(p, uint64(i), e); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/entry")
		})
	}
}

// BenchmarkSieve decides 1,000 entries (64 certificates, as in
// BenchmarkScan10k) for the benchmark's three queries: what a scan spends
// per entry besides hashing it.
func BenchmarkSieve(b *testing.B) {
	const n = 1000
	entries := benchEntries(b, n)
	for _, bc := range []struct {
		name string
		q    Query
	}{
		{"rare-identity", Query{Subject: "nobody@example.com"}},
		{"one-in-8-entries", Query{Subject: "user3@example.com"}},
		{"every-entry-parsed", Query{SubjectRegexp: `.*3@example\.com`}},
		{"regexp-with-prefix", Query{SubjectRegexp: "user3@.*"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m, err := bc.q.compile()
			if err != nil {
				b.Fatal(err)
			}
			p := newEntryParser(m)
			for range b.N {
				for _, e := range entries {
					var s sifted
					p.sieve(e, &s)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/entry")
		})
	}
}
