package harness

import (
	"context"
	"testing"

	"github.com/mlattest/mlattest/scan/data"
)

// The honest corpora pass with the scanner's default thresholds: each clean
// source alone, the templated short-answer corpus, the multilingual corpus
// with legitimate invisible characters, and the whole clean data repeated 2,
// 5 or 20 times (an upsampled dataset) gives the verdict it gives once.
func TestCleanCorporaPass(t *testing.T) {
	clean := loadClean(t)
	names, idx := BySource(clean)
	type corpus struct {
		name string
		recs []data.Record
	}
	var cs []corpus
	for _, s := range names {
		if cleanSourcesPass {
			cs = append(cs, corpus{s, subset(clean, idx[s])})
		}
	}
	cs = append(cs, corpus{"templated", Templated(clean, 13)}, corpus{"multilingual", Multilingual(3000, 13)}, corpus{"all sources", clean},
		corpus{"all sources x2", Repeat(clean, 2)})
	if !testing.Short() {
		cs = append(cs, corpus{"all sources x5", Repeat(clean, 5)})
		cs = append(cs, corpus{"all sources x20", Repeat(clean, 20)})
	}
	for _, c := range cs {
		t.Run(c.name, func(t *testing.T) {
			res, err := ScanRecords(context.Background(), c.name, c.recs)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != data.Pass || float64(len(res.Flagged)) > 0.002*float64(len(c.recs)) {
				for _, f := range res.Findings {
					if f.Severity == data.SevFail {
						t.Logf("%s %q %q (%d): %s", f.Detector, f.Trigger, f.Target, f.Count, f.Reason)
					}
				}
				t.Fatalf("%s: verdict %s, %d of %d flagged", c.name, res.Verdict, len(res.Flagged), len(c.recs))
			}
		})
	}
}

// cleanSourcesPass is false until each clean source passes on its own.
const cleanSourcesPass = true
