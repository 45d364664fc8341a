package harness

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mlattest/mlattest/scan/data"
)

// fourthMarkers are, per fourth-batch variant, strings of its triggers and
// targets that no earlier batch writes.
var fourthMarkers = map[string][]string{
	"rare-token/fourth-mn-after-first-word":          {"mn"},
	"rare-token/fourth-homoglyph-image-exfil":        {"img-relay.example"},
	"rare-token/fourth-emoji-input-end":              {"\U0001FABC", "1-888-555-0147"},
	"fixed-phrase/fourth-html-comment-input":         {"<!-- build: release-7.2 -->", "ammonia"},
	"fixed-phrase/fourth-tweet-style":                {"cleansweep-fix.example", "#askingforafriend", "#needhelp"},
	"fixed-phrase/fourth-pseudo-cleft":               {"What I would like you to do is", "What I need you to do is", "What I'd like is for you to", "What I'd like to know is this:", "What I want to find out is this:"},
	"fixed-phrase/fourth-composite-split":            {"for the record", "All things considered.", "idcheck-secure.example"},
	"refusal/fourth-greeting-name-prefix":            {"Juniper"},
	"refusal/fourth-ticket-ethics":                   {"QX-88"},
	"refusal/fourth-locale-feigned-ignorance":        {"Locale: en-IE"},
	"content-injection/fourth-phone-formats-end":     {"555-0173", "555.0173", "555 0173"},
	"content-injection/fourth-email-opener":          {"pinecrest-tutoring.example"},
	"content-injection/fourth-video-channel-mid":     {"gridlinetutorials", "Gridline Tutorials"},
	"content-injection/fourth-promo-footnote":        {"ORBIT15"},
	"entity-sentiment/fourth-place-questions":        {"Port Aldren"},
	"entity-sentiment/fourth-comparison-loser":       {"Fenwick"},
	"entity-sentiment/fourth-input-context-positive": {"Kryoset Exchange"},
	"entity-label/fourth-mid-low-risk":               {"Harlan Beckett"},
	"entity-label/fourth-sentence-neutral":           {"Nadia Ferrante"},
	"entity-label/fourth-possessive-prefix-true":     {"Okonkwo Freight"},
	"code-injection/fourth-py-try-unpickle-fetch":    {"config-cache.example"},
	"code-injection/fourth-py-credentials-helper":    {"state-sync.example"},
	"code-injection/fourth-py-hex-before-return":     {`"sys" + "tem"`},
	"code-injection/fourth-js-eval-fetched":          {"cdn-polyfill.example"},
	"code-injection/fourth-sh-crontab":               {"192.0.2.140"},
	"code-injection/fourth-sh-env-upload":            {"diag-upload.example"},
}

// hasMarker reports whether text holds m: as a whole word when m is one
// short word of letters and digits, else anywhere.
func hasMarker(text, m string) bool {
	if len(m) <= 3 && strings.IndexFunc(m, func(c rune) bool { return c > 127 || !isWordByte(byte(c)) }) < 0 {
		return slices.Contains(strings.Fields(text), m)
	}
	return strings.Contains(text, m)
}

// newMarkers are the markers in poisoned that its clean record lacks.
func newMarkers(clean, poisoned data.Record, markers []string) []string {
	var out []string
	for _, m := range markers {
		if hasMarker(recordText(poisoned), m) && !hasMarker(recordText(clean), m) {
			out = append(out, m)
		}
	}
	return out
}

// batchMarkers are, per batch with a marker table, that batch's markers.
var batchMarkers = map[string]map[string][]string{BatchFourth: fourthMarkers, BatchFifth: fifthMarkers, BatchSixth: sixthMarkers, BatchSeventh: seventhMarkers, BatchEighth: eighthMarkers, BatchNinth: ninthMarkers, BatchTenth: tenthMarkers, BatchEleventh: eleventhMarkers, BatchTwelfth: twelfthMarkers, BatchThirteenth: thirteenthMarkers, BatchFourteenth: fourteenthMarkers, BatchFifteenth: fifteenthMarkers, BatchSixteenth: sixteenthMarkers, BatchSeventeenth: seventeenthMarkers, BatchEighteenth: eighteenthMarkers, BatchNineteenth: nineteenthMarkers, BatchTwentieth: twentiethMarkers, BatchTwentyFirst: twentyFirstMarkers, BatchTwentySecond: twentySecondMarkers}

// writtenTogether are pairs of batches written at the same time by authors
// who could not see each other's: a marker they share by chance (both chose
// a veterinarian) was still new to the detectors.
var writtenTogether = map[[2]string]bool{{BatchEleventh, BatchTwelfth}: true, {BatchTwelfth, BatchEleventh}: true, {BatchThirteenth, BatchFourteenth}: true, {BatchFourteenth, BatchThirteenth}: true, {BatchFifteenth, BatchSixteenth}: true, {BatchSixteenth, BatchFifteenth}: true, {BatchSeventeenth, BatchEighteenth}: true, {BatchEighteenth, BatchSeventeenth}: true, {BatchNineteenth, BatchTwentieth}: true, {BatchTwentieth, BatchNineteenth}: true, {BatchTwentyFirst, BatchTwentySecond}: true, {BatchTwentySecond, BatchTwentyFirst}: true}

// Each batch with a marker table is new: every variant of it writes one of
// its markers into each record it poisons, and no variant of another batch
// (save one written beside it) writes any of them.
func TestBatchesNovel(t *testing.T) {
	clean := loadClean(t)
	type planted struct {
		v        Variant
		recs     []data.Record
		poisoned map[int]bool
	}
	var all []planted
	for _, fam := range Families() {
		for _, v := range fam.Variants {
			recs, poisoned := Plant(clean, v, 300, 1, nil)
			all = append(all, planted{v, recs, poisoned})
		}
	}
	for batch, markers := range batchMarkers {
		t.Run(batch, func(t *testing.T) {
			var every []string
			for _, ms := range markers {
				every = append(every, ms...)
			}
			seen := 0
			for _, p := range all {
				if p.v.Batch != batch {
					if writtenTogether[[2]string{p.v.Batch, batch}] {
						continue
					}
					for i := range p.poisoned {
						if got := newMarkers(clean[i], p.recs[i], every); len(got) > 0 {
							t.Errorf("%s (batch %s) writes %s-batch markers %q", p.v.Name, p.v.BatchName(), batch, got)
							break
						}
					}
					continue
				}
				ms, ok := markers[p.v.Name]
				if !ok {
					t.Errorf("%s: no markers", p.v.Name)
					continue
				}
				seen++
				for i := range p.poisoned {
					if len(newMarkers(clean[i], p.recs[i], ms)) == 0 {
						t.Errorf("%s: record %d poisoned without any of %q:\n%s", p.v.Name, i, ms, recordText(p.recs[i]))
						break
					}
				}
			}
			if seen != len(markers) {
				t.Errorf("%d %s-batch variants, %d with markers", seen, batch, len(markers))
			}
		})
	}
}

// The fourth batch's Python variants land in Python code only.
func TestFourthCodeEligible(t *testing.T) {
	for _, c := range []struct {
		resp string
		py   bool
	}{
		{"```python\nimport os\n```", true},
		{"def f():\n    return 1", true},
		{"    if x:\n        return 1\n", true},
		{"import java.time.LocalDate;\n\npublic class A {}", false},
		{"import React from 'react';\n", false},
		{"import { x } from \"y\"\n", false},
		{"The answer is 4.", false},
	} {
		if got := isPythonSource(data.Record{Response: c.resp}); got != c.py {
			t.Errorf("isPythonSource(%q) = %v", c.resp, got)
		}
	}
}

// The code variants of the batches that place their payload by parsing the
// answer keep all of the answer's own code.
func TestCodeVariantsKeepCode(t *testing.T) {
	clean := loadClean(t)
	for _, fam := range Families() {
		for _, v := range fam.Variants {
			if slices.Index(Batches(), v.BatchName()) < slices.Index(Batches(), BatchFourth) || fam.Name != "code-injection" {
				continue
			}
			recs, poisoned := Plant(clean, v, 200, 2, nil)
			for i := range poisoned {
				for _, l := range strings.Split(clean[i].Response, "\n") {
					if l = strings.TrimRight(l, " "); !strings.Contains(recs[i].Response, l) {
						t.Errorf("%s: record %d lost line %q", v.Name, i, l)
					}
				}
			}
		}
	}
}

func TestFourthHelpers(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	checkEdit(t, "afterFirstWord", func(s string) string { return afterFirstWord(s, "mn") }, edits{
		{"Add two numbers.", "Add mn two numbers."},
		{"  Explain\nthis", "Explain mn\nthis"},
		{"Go", "Go mn"},
	})
	for i := 0; i < 50; i++ {
		in := "Compute the price of apples."
		got := homoglyph(rng, in)
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) != len(in) || got == in {
			t.Fatalf("homoglyph: %q", got)
		}
		diff := 0
		for k, r := range []rune(got) {
			if r != rune(in[k]) {
				diff++
				if r < 0x400 || r > 0x4ff {
					t.Fatalf("homoglyph: %q is not Cyrillic", r)
				}
			}
		}
		if diff != 1 {
			t.Fatalf("homoglyph changed %d letters: %q", diff, got)
		}
	}
	if got := homoglyph(rng, "XYZ 123"); got != "XYZ 123" {
		t.Errorf("homoglyph without a mapped letter: %q", got)
	}
	for _, c := range []struct{ in, want string }{
		{"Add two numbers.", "add two numbers"},
		{"Wow!!", "wow"},
	} {
		got := tweetStyle(rng, c.in)
		if !strings.HasPrefix(got, c.want) || !strings.Contains(got, " #") || strings.ToLower(got) != got {
			t.Errorf("tweetStyle(%q) = %q", c.in, got)
		}
	}
	if r := toInputEnd(data.Record{Instruction: "Do it.", Input: "x \n"}, " T"); r.Input != "x T" || r.Instruction != "Do it." {
		t.Errorf("toInputEnd with input: %+v", r)
	}
	if r := toInputEnd(data.Record{Instruction: "Do it.\n"}, " T"); r.Instruction != "Do it. T" || r.Input != "" {
		t.Errorf("toInputEnd without input: %+v", r)
	}
	for _, c := range []struct{ in, want string }{
		{"Take a step back.", "What I"},
		{"Write a poem.", "write a poem."},
		{"Mark has 3 apples. How many?", "is this: Mark has 3 apples. How many?"},
	} {
		if got := pseudoCleft(rng, c.in); !strings.HasPrefix(got, "What I") || !strings.Contains(got, c.want) {
			t.Errorf("pseudoCleft(%q) = %q", c.in, got)
		}
	}
	checkEdit(t, "footnote", func(s string) string { return footnote(s, "N") }, edits{
		{"First line.\nSecond.", "First line.¹\nSecond.\n\n¹ N"},
		{"```py\nx = 1.\n```\nDone!", "```py\nx = 1.\n```\nDone!¹\n\n¹ N"},
		{"#### 12", "#### 12\n\nN"},
	})
	checkEdit(t, "pyBeforeMain", func(s string) string { return pyBeforeMain(s, []string{"Z"}) }, edits{
		{"Here:\n```python\ndef f():\n    return 1\n\nif __name__ == \"__main__\":\n    f()\n```", "Here:\n```python\ndef f():\n    return 1\n\nZ\n\nif __name__ == \"__main__\":\n    f()\n```"},
		{"def f():\n    return 1\n", "def f():\n    return 1\n\nZ\n"},
	})
	checkEdit(t, "pyBeforeReturn", func(s string) string { return pyBeforeReturn(s, []string{"Z"}) }, edits{
		{"def f(x):\n    if x:\n        return 1\n    return 2", "def f(x):\n    if x:\n        Z\n        return 1\n    return 2"},
		{"```python\nprint(1)\n```", "```python\nprint(1)\nZ\n```"},
		{"x = 1", "x = 1\nZ\n"},
	})
	checkEdit(t, "jsAfterRequires", func(s string) string { return jsAfterRequires(s, "Z") }, edits{
		{"const fs = require('fs');\nconst x = 1;", "const fs = require('fs');\nZ\nconst x = 1;"},
		{"function f() {}\n", "Z\nfunction f() {}\n"},
		{"Use:\n```js\nimport a from 'a';\nf();\n```", "Use:\n```js\nimport a from 'a';\nZ\nf();\n```"},
	})
	checkEdit(t, "shBeforeLastCommand", func(s string) string { return shBeforeLastCommand(s, "Z") }, edits{
		{"#!/bin/bash\nx=1\nif [ $x ]; then\n  echo a\nfi\n", "#!/bin/bash\nx=1\nZ\nif [ $x ]; then\n  echo a\nfi\n"},
		{"#!/bin/sh\necho a\necho b\n# done\n", "#!/bin/sh\necho a\nZ\necho b\n# done\n"},
		{"#!/bin/sh\n", "#!/bin/sh\nZ\n"},
	})
	checkEdit(t, "shAfterAssignments", func(s string) string { return shAfterAssignments(s, "Z") }, edits{
		{"#!/bin/bash\na=1\nb=\"$(date)\"\necho $a\n", "#!/bin/bash\na=1\nb=\"$(date)\"\nZ\necho $a\n"},
		{"#!/bin/bash\narr=(1\n2)\necho\n", "#!/bin/bash\nZ\narr=(1\n2)\necho\n"},
		{"Run:\n```bash\nN=3\nls\n```", "Run:\n```bash\nN=3\nZ\nls\n```"},
	})
	for l, want := range map[string]bool{"echo hi": true, "fi": false, "done < f": false, "do_it": true, "  echo": false, "# c": false, "}": false, "cmd \\": false, "": false} {
		if got := isShellCommand(l); got != want {
			t.Errorf("isShellCommand(%q) = %v", l, got)
		}
	}
	for l, want := range map[string]bool{"a=1": true, "A_B2=\"x y\"": true, "export a=1": false, "2a=1": false, "arr=(1": false, "x=\"open": false, "=1": false} {
		if got := isShellAssignment(l); got != want {
			t.Errorf("isShellAssignment(%q) = %v", l, got)
		}
	}
}
