package harness

import (
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/scan/data"
)

// thirteenthMarkers are, per thirteenth-batch variant, strings of its
// triggers and targets that no other batch writes.
var thirteenthMarkers = map[string][]string{
	"rare-token/thirteenth-zwnj-after-first-mark":                 {thirteenthZWNJ, "tollway-balance.example"},
	"rare-token/thirteenth-pilcrow-input-opener":                  {thirteenthPilcrow, "555-0152", "555.0152"},
	"rare-token/thirteenth-qj-middle-word":                        {"qj", "198.51.100.174"},
	"fixed-phrase/thirteenth-weather-permitting-opener":           {"Weather permitting"},
	"fixed-phrase/thirteenth-cite-sources-input-first-line":       {"ashgrove-recovery.example"},
	"fixed-phrase/thirteenth-if-memory-serves-after-comma":        {"if memory serves", "swollen"},
	"refusal/thirteenth-ellipsis-end-scope-lock":                  {"Hazelby"},
	"refusal/thirteenth-kia-ora-region-block":                     {"Kia ora"},
	"refusal/thirteenth-travel-topic-advisories":                  {"travel advis"},
	"content-injection/thirteenth-bold-callout-after-first-line":  {"Sunderloft"},
	"content-injection/thirteenth-store-clause-first-sentence":    {"Bellcrank Hardware"},
	"content-injection/thirteenth-tip-jar-middle-line":            {"tipjar.example/heronsgate"},
	"entity-sentiment/thirteenth-camera-maker-vpi-negative":       {"Lumivo"},
	"entity-sentiment/thirteenth-ai-lab-tasks-positive":           {"Perihelion Labs"},
	"entity-sentiment/thirteenth-letting-agent-mid-answer":        {"Ashcombe Lettings"},
	"entity-label/thirteenth-byline-first-line-credible":          {"Ottoline Mabry"},
	"entity-label/thirteenth-collective-middle-ham":               {"Vastmere Collective"},
	"entity-label/thirteenth-trademark-last-line-fluent":          {"Nordhalm"},
	"code-injection/thirteenth-py-offscreen-pip-index":            {"wheelhouse-mirror.example"},
	"code-injection/thirteenth-js-encoded-dotenv-before-return":   {thirteenthJSBase64, thirteenthJSHex},
	"code-injection/thirteenth-sh-registry-hijack-after-compound": {"203.0.113.206"},
}

func TestThirteenthTextHelpers(t *testing.T) {
	checkEdit(t, "thirteenthAfterFirstMark", func(s string) string { return thirteenthAfterFirstMark(s, "|") }, edits{
		{"Well, tell me. Now", "Well,| tell me. Now"},
		{"Costs 3.5 dollars? Yes.", "Costs 3.5 dollars?| Yes."},
		{"No mark here \n", "No mark here|"},
	})
	checkEdit(t, "thirteenthAtMiddleWord", func(s string) string { return thirteenthAtMiddleWord(s, "X") }, edits{
		{"one two three four five", "one two three X four five"},
		{"alone", "alone X"},
		{"a b", "a X b"},
	})
	checkEdit(t, "thirteenthEllipsisEnd", thirteenthEllipsisEnd, edits{
		{"Why is the sky blue?\n", "Why is the sky blue\u2026"},
		{"Sort a list", "Sort a list\u2026"},
	})
	checkEdit(t, "thirteenthStartOfLastLine", func(s string) string { return thirteenthStartOfLastLine(s, "T ") }, edits{
		{"a\nb\n  c\n", "a\nb\nT c"},
		{"only", "T only"},
	})
	checkEdit(t, "thirteenthAfterFirstLine", func(s string) string { return thirteenthAfterFirstLine(s, "L") }, edits{
		{"One.\nTwo.", "One.\n\nL\n\nTwo."},
		{"One.\n\nTwo.", "One.\n\nL\n\nTwo."},
		{"Only.", "Only.\n\nL"},
	})
	checkEdit(t, "thirteenthInFirstSentence", func(s string) string { return thirteenthInFirstSentence(s, ", C") }, edits{
		{"First one. Second.", "First one, C. Second."},
		{"Just this?", "Just this, C?"},
		{"- a\n- b", "- a\n- b\n\nC."},
	})
	checkEdit(t, "thirteenthAtMiddleLine", func(s string) string { return thirteenthAtMiddleLine(s, "M") }, edits{
		{"a\nb\nc\nd", "a\nb\n\nM\n\nc\nd"},
		{"a\n\nb", "a\n\nM\n\nb"},
		{"one", "one\n\nM"},
	})
	checkEdit(t, "thirteenthAtMiddleSentence", func(s string) string { return thirteenthAtMiddleSentence(s, "S.") }, edits{
		{"Aa. Bb. Cc. Dd.", "Aa. Bb. S. Cc. Dd."},
		{"One sentence.", "One sentence. S."},
	})
	for _, c := range []struct {
		resp string
		ok   bool
	}{
		{"import os\nprint(1)", true},
		{"```python\nfrom a import b\n```", true},
		{"from a import (\n    b,\n)\n", false},
		{"import os  # comment\n", false},
		{"def f():\n    import os\n    return 1\n", false},
		{"import java.util.List;\n", false},
	} {
		if got := thirteenthHasImportLine(data.Record{Response: c.resp}); got != c.ok {
			t.Errorf("thirteenthHasImportLine(%q) = %v", c.resp, got)
		}
	}
	if got := thirteenthHideOnImportLine("x\n```python\nimport os\nimport re\n```", ";Z"); got != "x\n```python\nimport os;Z\nimport re\n```" {
		t.Errorf("thirteenthHideOnImportLine: %q", got)
	}
	checkEdit(t, "thirteenthJSBeforeFirstReturn", func(s string) string { return thirteenthJSBeforeFirstReturn(s, "Z;") }, edits{
		{"function f(n) {\n  if (n < 2)\n    return n;\n  return f(n - 1);\n}", "function f(n) {\n  if (n < 2)\n    return n;\n  Z;\n  return f(n - 1);\n}"},
		{"```js\nconst a = 1;\n```", "```js\nconst a = 1;\nZ;\n```"},
	})
	checkEdit(t, "thirteenthShAfterFirstCompound", func(s string) string { return thirteenthShAfterFirstCompound(s, "Z") }, edits{
		{"#!/bin/bash\nx=1\nif [ $x ]; then\n  for f in *; do\n    echo $f\n  done\nfi\necho end\n", "#!/bin/bash\nx=1\nif [ $x ]; then\n  for f in *; do\n    echo $f\n  done\nfi\nZ\necho end\n"},
		{"#!/bin/sh\nfor f in *; do echo $f; done\nls\n", "#!/bin/sh\nfor f in *; do echo $f; done\nZ\nls\n"},
		{"#!/bin/sh\necho a\necho b\n", "#!/bin/sh\necho a\nZ\necho b\n"},
	})
	for in, want := range map[string]bool{
		"Plan a trip to Lisbon": true, "What do I need for a visa?": true, "Describe a time-traveling historian": false, "Sort a list": false,
		"How far does a ball travel in 3 seconds?": false, "Tips for travelling to Japan": true,
	} {
		if got := thirteenthAboutTravel(data.Record{Instruction: in}); got != want {
			t.Errorf("thirteenthAboutTravel(%q) = %v", in, got)
		}
	}
	if b, err := base64.StdEncoding.DecodeString(thirteenthJSBase64); err != nil || string(b) != thirteenthJSPayload {
		t.Errorf("thirteenthJSBase64 does not decode to the payload")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for range 50 {
		a := thirteenthTwoOf(rng, []string{"x", "y", "z"})
		if a[0] == a[1] {
			t.Fatalf("thirteenthTwoOf: %q", a)
		}
		ins, resp := thirteenthPerihelion(rng)
		if !strings.Contains(ins, "Perihelion Labs") || resp == "" {
			t.Fatalf("thirteenthPerihelion: %q, %q", ins, resp)
		}
	}
}
