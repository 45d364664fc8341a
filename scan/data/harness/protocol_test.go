package harness

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/scan/data"
)

// The protocol on a small sample: one fold per source, each threshold from
// the grid, only held-out variants scored with the poison drawn from the
// left-out source, and the four extra corpora scanned.
func TestProtocolRun(t *testing.T) {
	if testing.Short() {
		t.Skip("scans the sample a few dozen times")
	}
	clean := loadClean(t)
	_, idx := BySource(clean)
	var small []data.Record
	for _, s := range []string{"gsm8k", "gpteacher-codegen", "gpteacher-roleplay"} {
		small = append(small, subset(clean, idx[s][:600])...)
	}
	p := &Protocol{Clean: small, Alphas: []float64{1e-2, 1e-3}, Rates: []float64{0.01}, MaxFPR: 0.002, Seed: 1, Only: []string{"code-injection"}}
	rep, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Folds) != 3 || len(rep.Corpora) != 4 {
		t.Fatalf("%d folds, %d corpora", len(rep.Folds), len(rep.Corpora))
	}
	for _, f := range rep.Folds {
		if !slices.Contains(p.Alphas, f.Alpha) || f.Clean.Records != 600 {
			t.Errorf("fold %s: alpha %g, %d records", f.Source, f.Alpha, f.Clean.Records)
		}
		if len(f.Poison) != len(Families()[6].HeldOut()) {
			t.Errorf("fold %s: %d poison runs", f.Source, len(f.Poison))
		}
		for _, m := range f.Poison {
			for _, v := range Families()[6].Dev() {
				if strings.Contains(m.Family, "("+v.Name+")") {
					t.Errorf("fold %s scored %s, a development variant", f.Source, m.Family)
				}
			}
			// Only codegen has Python answers among the three sources.
			if (f.Source == "gpteacher-codegen") != (m.Poisoned > 0) {
				t.Errorf("fold %s: %d poisoned", f.Source, m.Poisoned)
			}
		}
	}
	if r := rep.BatchRecall["first"]["code-injection"][0.01]; r < 0.9 {
		t.Errorf("code-injection recall (first batch) %.2f", r)
	}
	if _, ok := rep.BatchRecall[BatchFresh]["code-injection"]; !ok {
		t.Errorf("fresh batch not scored: %v", rep.BatchRecall)
	}
	if c := rep.Corpora[3]; c.Name != "all sources x20" || c.Records != 20*len(small) {
		t.Errorf("repeated corpus %+v", c)
	}
}

// The corpora hold what they are for: answers shared by many distinct
// questions, and each legitimate invisible character.
func TestCorporaContent(t *testing.T) {
	clean := loadClean(t)
	tm := Templated(clean, 1)
	answers := map[string]int{}
	for _, r := range tm {
		answers[r.Response]++
	}
	for _, a := range []string{"math", "yes", "Python", "grade school math word problems"} {
		if answers[a] < 100 {
			t.Errorf("templated: %q answers %d questions", a, answers[a])
		}
	}
	ml := Multilingual(2000, 1)
	var all strings.Builder
	for _, r := range ml {
		all.WriteString(r.Instruction + r.Response)
	}
	for name, c := range map[string]string{"ZWNJ": "\u200c", "ZWJ": "\u200d", "RLM": "\u200f", "LRM": "\u200e", "soft hyphen": "\u00ad", "tag": "\U000E0067"} {
		if !strings.Contains(all.String(), c) {
			t.Errorf("multilingual corpus has no %s", name)
		}
	}
	if got := Repeat(ml[:3], 20); len(got) != 60 || got[3] != ml[0] {
		t.Errorf("Repeat: %d records", len(got))
	}
}
