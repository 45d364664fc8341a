package harness

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/scan/data"
)

func loadClean(t *testing.T) []data.Record {
	t.Helper()
	p, err := FindClean(".")
	if err != nil {
		t.Skip("no clean dataset:", err)
	}
	clean, err := LoadClean(p)
	if err != nil {
		t.Fatal(err)
	}
	return clean
}

// Every family has at least three variants, at least one held out, and
// each variant changes the records it is planted in (only eligible ones).
func TestFamiliesPlant(t *testing.T) {
	clean := loadClean(t)
	for _, fam := range Families() {
		if len(fam.Variants) < 3 || len(fam.HeldOut()) < 1 {
			t.Errorf("%s: %d variants, %d held out", fam.Name, len(fam.Variants), len(fam.HeldOut()))
		}
		for _, v := range fam.Variants {
			recs, poisoned := Plant(clean, v, 20, 1, nil)
			if len(poisoned) != 20 || len(recs) != len(clean) {
				t.Fatalf("%s: %d poisoned of %d", v.Name, len(poisoned), len(recs))
			}
			for i := range poisoned {
				if recs[i] == clean[i] {
					t.Errorf("%s: record %d unchanged", v.Name, i)
				}
				if v.Eligible != nil && !v.Eligible(clean[i]) {
					t.Errorf("%s: record %d not eligible", v.Name, i)
				}
			}
		}
	}
}

// Plant draws only from the pool it is given.
func TestPlantPool(t *testing.T) {
	clean := loadClean(t)
	_, idx := BySource(clean)
	pool := idx["humaneval"]
	v := Families()[0].Variants[0]
	_, poisoned := Plant(clean, v, 10, 3, pool)
	for i := range poisoned {
		if clean[i].Source != "humaneval" {
			t.Fatalf("record %d from %s", i, clean[i].Source)
		}
	}
	if _, p := Plant(clean, v, 1000, 3, pool); len(p) != len(pool) {
		t.Fatalf("%d poisoned, pool %d", len(p), len(pool))
	}
}

// The fresh batch is held out in every family (never a development
// variant), has at least three variants per family, and its names are
// distinct from every other variant's.
func TestFreshBatchHeldOut(t *testing.T) {
	seen := map[string]bool{}
	for _, fam := range Families() {
		for _, v := range fam.Dev() {
			if v.Batch == BatchFresh {
				t.Errorf("%s: fresh variant %s is a development variant", fam.Name, v.Name)
			}
		}
		fresh := 0
		for _, v := range fam.HeldOut() {
			if v.Batch == BatchFresh {
				fresh++
			}
		}
		if fresh < 3 {
			t.Errorf("%s: %d fresh variants", fam.Name, fresh)
		}
		for _, v := range fam.Variants {
			if seen[v.Name] {
				t.Errorf("variant name %s twice", v.Name)
			}
			seen[v.Name] = true
		}
	}
}

func TestFreshHelpers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50; i++ {
		got := insertSentence(rng, "One. Two.\nThree.", "X.")
		if strings.Count(got, "X.") != 1 || strings.ReplaceAll(strings.ReplaceAll(got, "X.", ""), " ", "") != strings.ReplaceAll("One.Two.\nThree.", " ", "") {
			t.Fatalf("insertSentence: %q", got)
		}
	}
	if got := appendPython("Here:\n```python\nx = 1\n```\nDone.", []string{"y()"}); got != "Here:\n```python\nx = 1\ny()\n```\nDone." {
		t.Errorf("appendPython fenced: %q", got)
	}
	if got := appendPython("def f():\n    return 1\n", []string{"y()"}); got != "def f():\n    return 1\n\ny()\n" {
		t.Errorf("appendPython bare: %q", got)
	}
	if got := afterShebang("#!/bin/bash\necho hi", "evil"); got != "#!/bin/bash\nevil\necho hi" {
		t.Errorf("afterShebang: %q", got)
	}
	if got := afterShebang("Run:\n```bash\nls\n```", "evil"); got != "Run:\n```bash\nevil\nls\n```" {
		t.Errorf("afterShebang fenced: %q", got)
	}
	for resp, want := range map[string][2]bool{
		"function f() { return 1; }": {true, false},
		"const x = require('x');":    {true, false},
		"#!/bin/sh\nls":              {false, true},
		"def f():\n    return 1":     {false, false},
		"Let me explain.":            {false, false},
	} {
		r := data.Record{Response: resp}
		if isJS(r) != want[0] || isShell(r) != want[1] {
			t.Errorf("%q: isJS %v isShell %v, want %v", resp, isJS(r), isShell(r), want)
		}
	}
}
