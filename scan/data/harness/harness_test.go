package harness

import (
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

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

// The batches written after the detectors are held out in every family
// (never a development variant), each has at least three variants per
// family under the batch name poisonbench -batch selects, the batches come
// in the order they were written, and every variant name is distinct.
func TestHeldOutBatches(t *testing.T) {
	seen := map[string]bool{}
	for _, fam := range Families() {
		for _, v := range fam.Dev() {
			if v.Batch != "" {
				t.Errorf("%s: %s variant %s is a development variant", fam.Name, v.Batch, v.Name)
			}
		}
		count := map[string]int{}
		last := -1
		for i, v := range fam.HeldOut() {
			count[v.BatchName()]++
			b := slices.Index(Batches(), v.BatchName())
			if b < 0 {
				t.Errorf("%s: variant %s in unknown batch %q", fam.Name, v.Name, v.BatchName())
			}
			if b < last {
				t.Errorf("%s: variant %d (%s, %s) after a later batch", fam.Name, i, v.Name, v.BatchName())
			} else {
				last = b
			}
		}
		for _, b := range Batches()[1:] {
			if count[b] < 3 {
				t.Errorf("%s: %d %s variants", fam.Name, count[b], b)
			}
		}
		for _, v := range fam.Variants {
			if seen[v.Name] {
				t.Errorf("variant name %s twice", v.Name)
			}
			seen[v.Name] = true
		}
	}
}

// Every variant of the batches written after the detectors, planted in as many records as it
// accepts over several seeds, changes each one, keeps the text valid UTF-8,
// respects Eligible, does not write the same record every time, and
// poisons other records differently under another seed.
func TestBatchPlant(t *testing.T) {
	clean := loadClean(t)
	for _, batch := range Batches()[1:] {
		t.Run(batch, func(t *testing.T) {
			n := 0
			for _, fam := range Families() {
				for _, v := range fam.Variants {
					if v.Batch != batch {
						continue
					}
					n++
					checkPlant(t, clean, v)
				}
			}
			if n == 0 {
				t.Fatalf("no %s variants", batch)
			}
		})
	}
}

func checkPlant(t *testing.T, clean []data.Record, v Variant) {
	t.Helper()
	outs := map[data.Record]bool{}
	var perSeed []map[data.Record]bool
	for seed := uint64(1); seed <= 3; seed++ {
		recs, poisoned := Plant(clean, v, 400, seed, nil)
		if len(poisoned) < 20 {
			t.Errorf("%s: only %d eligible records", v.Name, len(poisoned))
		}
		mine := map[data.Record]bool{}
		for i := range poisoned {
			r := recs[i]
			if r == clean[i] {
				t.Errorf("%s: record %d unchanged", v.Name, i)
			}
			if v.Eligible != nil && !v.Eligible(clean[i]) {
				t.Errorf("%s: record %d not eligible", v.Name, i)
			}
			if !utf8.ValidString(r.Instruction) || !utf8.ValidString(r.Input) || !utf8.ValidString(r.Response) {
				t.Errorf("%s: record %d not valid UTF-8", v.Name, i)
			}
			outs[r] = true
			mine[r] = true
		}
		perSeed = append(perSeed, mine)
	}
	if len(outs) < 10 {
		t.Errorf("%s: %d distinct poisoned records", v.Name, len(outs))
	}
	if maps.Equal(perSeed[0], perSeed[1]) || maps.Equal(perSeed[1], perSeed[2]) {
		t.Errorf("%s: two seeds poison identically", v.Name)
	}
}

// CheckBatches accepts every batch and names one it does not know.
func TestCheckBatches(t *testing.T) {
	if err := CheckBatches(Batches()); err != nil {
		t.Fatal(err)
	}
	if err := CheckBatches(nil); err != nil {
		t.Fatal(err)
	}
	err := CheckBatches([]string{BatchThird, "no-such-batch"})
	if err == nil || !strings.Contains(err.Error(), `"no-such-batch"`) {
		t.Fatalf("unknown batch: %v", err)
	}
}

func TestThirdHelpers(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 50; i++ {
		got := glueAt(rng, "Add  two\nnumbers é", "\u200b")
		if strings.Count(got, "\u200b") != 1 || strings.ReplaceAll(got, "\u200b", "") != "Add  two\nnumbers é" || !utf8.ValidString(got) {
			t.Fatalf("glueAt: %q", got)
		}
		if k := strings.Index(got, "\u200b"); k == 0 || isBlank(got[k-1]) {
			t.Fatalf("glueAt not glued to a word: %q", got)
		}
	}
	checkEdit(t, "lowerFirst", lowerFirst, edits{
		{"Write a poem.", "write a poem."},
		{"I need help.", "I need help."},
		{"JSON is a format.", "JSON is a format."},
		{"2 plus 2?", "2 plus 2?"},
	})
	checkEdit(t, "afterFirstParagraph", func(s string) string { return afterFirstParagraph(s, "X") }, edits{
		{"One.\n\nTwo.", "One.\n\nX\n\nTwo."},
		{"```py\na = 1\n\nb = 2\n```\n\nDone.", "```py\na = 1\n\nb = 2\n```\n\nX\n\nDone."},
		{"Only one.", "Only one.\n\nX"},
	})
	checkEdit(t, "pyAfterImports", func(s string) string { return pyAfterImports(s, []string{"Z"}) }, edits{
		{"```python\nimport os\nfrom x import y\n\nprint(1)\n```", "```python\nimport os\nfrom x import y\nZ\n\nprint(1)\n```"},
		{"import os", "import os\nZ\n"},
		{"def f():\n    return 1\n", "Z\ndef f():\n    return 1\n"},
	})
	checkEdit(t, "pyIntoFirstFunction", func(s string) string { return pyIntoFirstFunction(s, []string{"Z"}) }, edits{
		{"Here:\n```python\nclass A:\n  def f(self,\n        x):\n      return x\n```", "Here:\n```python\nclass A:\n  def f(self,\n        x):\n      Z\n      return x\n```"},
		{"def f():\n    return 1", "def f():\n    Z\n    return 1"},
		{"def f(): return 1\n", "Z\ndef f(): return 1\n"},
		{"    return x + 1\n", "    Z\n    return x + 1\n"},
	})
	checkEdit(t, "appendFenced", func(s string) string { return appendFenced(s, []string{"```bash", "```sh"}, []string{"Z"}) }, edits{
		{"Run:\n```sh\nls\n```\nthen ```bash\npwd\n```", "Run:\n```sh\nls\nZ\n```\nthen ```bash\npwd\n```"},
		{"#!/bin/bash\necho hi\n", "#!/bin/bash\necho hi\n\nZ\n"},
	})
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

// edits is a table of inputs and the text an edit must make of each.
type edits []struct{ in, want string }

// checkEdit checks that edit, a text helper named name, turns each case's
// input into its want.
func checkEdit(t *testing.T, name string, edit func(string) string, cases edits) {
	t.Helper()
	for _, c := range cases {
		if got := edit(c.in); got != c.want {
			t.Errorf("%s(%q) = %q, want %q", name, c.in, got, c.want)
		}
	}
}
