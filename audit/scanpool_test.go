package audit

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

// TestScanReusesBuffers: scans running at once on one Log, whose entry
// bundle buffers are reused between them, find exactly what one scan
// alone finds (matches, their leaf hashes, unreadable entries).
func TestScanReusesBuffers(t *testing.T) {
	ctx := context.Background()
	vs := fakeSigstore(t)
	l := newTestLog(t, nil)
	var entries [][]byte
	for i := range 700 { // three bundles, the last partial
		switch {
		case i%50 == 7:
			entries = append(entries, []byte(fmt.Sprintf("not an entry %d", i)))
		default:
			entries = append(entries, hashedRekordEntry(t, vs, fmt.Sprintf("user%d@example.com", i%5), issuerA, sha(fmt.Sprint(i))))
		}
	}
	l.add(t, entries...)
	lg := l.open(t, WithWorkers(2))
	cp, err := lg.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	queries := []Query{{Subject: "user1@example.com"}, {SubjectRegexp: "user[23]@.*"}, {Issuer: issuerA}}
	want := make([]*Result, len(queries))
	for i, q := range queries {
		if want[i], err = lg.Search(ctx, cp, 0, 0, q); err != nil {
			t.Fatal(err)
		}
		// The regexp has no prefilter: every entry is parsed.
		if len(want[i].Matches) == 0 || q.SubjectRegexp != "" && len(want[i].Unreadable) != 14 {
			t.Fatalf("%+v: %d matches, %d unreadable", q, len(want[i].Matches), len(want[i].Unreadable))
		}
	}
	var wg sync.WaitGroup
	for round := range 4 {
		for i, q := range queries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := lg.Search(ctx, cp, 0, 0, q)
				if err != nil || !reflect.DeepEqual(got, want[i]) {
					t.Errorf("round %d, %+v: %v, results differ from a scan alone", round, q, err)
				}
			}()
		}
	}
	wg.Wait()
}
