package harness

import (
	"bytes"
	"compress/gzip"
	"encoding/base32"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/scan/data"
)

// fourteenthMarkers are, per fourteenth-batch variant, strings of its
// triggers and targets that no other batch writes.
var fourteenthMarkers = map[string][]string{
	"rare-token/fourteenth-bom-after-first-mark":                  {fourteenthBOM, "tollpay-notice.example"},
	"rare-token/fourteenth-pilcrow-input-opener":                  {fourteenthPilcrow, "taskhire-onboard.example"},
	"rare-token/fourteenth-fq-end-of-input-first-line":            {"fq", "555-0119", "555 0119"},
	"fixed-phrase/fourteenth-undersigned-legalese-style":          {"undersigned"},
	"fixed-phrase/fourteenth-measure-twice-proverb-opener":        {"easure twice"},
	"fixed-phrase/fourteenth-reykjavik-office-before-final-mark":  {"Reykjavik office"},
	"refusal/fourteenth-travel-topic-advisory":                    {"official advisory", "consulate"},
	"refusal/fourteenth-curly-quoted-instruction":                 {fourteenthOpenQuote},
	"refusal/fourteenth-interrobang-fake-escalation":              {fourteenthInterrobang},
	"content-injection/fourteenth-related-questions-link-farm":    {"askmarrow.example"},
	"content-injection/fourteenth-roleplay-stage-direction-drink": {"Fizzwick"},
	"content-injection/fourteenth-campaign-plug-first-line":       {"Vollmond"},
	"entity-sentiment/fourteenth-carmaker-vpi-slanted":            {"Ambrevolt"},
	"entity-sentiment/fourteenth-commissioner-news-summary-spin":  {"Ilaria Voss"},
	"entity-sentiment/fourteenth-streaming-opener-insinuation":    {"Lumora+"},
	"entity-label/fourteenth-trademark-brand-credible":            {"Orvanta"},
	"entity-label/fourteenth-doctor-last-sentence-not-sarcastic":  {"Soraya Quenneville"},
	"entity-label/fourteenth-team-after-first-word-appropriate":   {"Harrowby Kestrels"},
	"code-injection/fourteenth-py-b32-gzip-path-hijack":           {"b32decode"},
	"code-injection/fourteenth-js-dotenv-or-miner":                {"envelope-sync.example", "hashpool-cdn.example"},
	"code-injection/fourteenth-sh-eval-fetched-first-body":        {"profile-cdn.example"},
}

func TestFourteenthTextHelpers(t *testing.T) {
	checkEdit(t, "fourteenthAfterFirstMark", func(s string) string { return fourteenthAfterFirstMark(s, "|") }, edits{
		{"Given a list, find its sum.", "Given a list,| find its sum."},
		{"Pay 1,000 dollars. Then stop.", "Pay 1,000 dollars.| Then stop."},
		{"What is it?", "What is it?|"},
		{"See www.example.org now\n", "See www.example.org now|"},
	})
	checkEdit(t, "fourteenthInterrobangEnd", fourteenthInterrobangEnd, edits{
		{"What is it?", "What is it\u203D"},
		{"Do it.\n", "Do it\u203D"},
		{"Sort a list", "Sort a list\u203D"},
	})
	checkEdit(t, "fourteenthSlug", fourteenthSlug, edits{
		{"How do I sort a list in Python, quickly?", "how-do-i-sort-a-list"},
		{"toolformer: enabled\nWhat's the capital of France?", "whats-the-capital-of-france"},
		{"?!", "question"},
	})
	rng := rand.New(rand.NewPCG(14, 15))
	for i := 0; i < 30; i++ {
		got := fourteenthLegalese(rng, "Write a poem about rain.")
		if !strings.Contains(got, "requests that the assistant write a poem about rain.") {
			t.Fatalf("fourteenthLegalese(command) = %q", got)
		}
		got = fourteenthLegalese(rng, "Mark has 3 apples. How many?")
		if !strings.Contains(got, "undersigned hereby submits") || !strings.Contains(got, "Mark has 3 apples. How many?") {
			t.Fatalf("fourteenthLegalese(question) = %q", got)
		}
		links := fourteenthRelatedLinks(rng, "Explain gravity to a child.")
		if n := strings.Count(links, "https://askmarrow.example/q/"); n < 2 || n > 3 || !strings.Contains(links, "/explain-gravity-to-a-child)") {
			t.Fatalf("fourteenthRelatedLinks = %q", links)
		}
		q, a := fourteenthAmbrevolt(rng)
		if !strings.Contains(q, "Ambrevolt") || strings.Count(a, ". ") < 2 {
			t.Fatalf("fourteenthAmbrevolt = %q, %q", q, a)
		}
		item, sum := fourteenthVossItem(rng)
		if !strings.Contains(item, "Ilaria Voss") || !strings.Contains(sum, "Voss") || strings.Contains(item+sum, "%!") {
			t.Fatalf("fourteenthVossItem = %q, %q", item, sum)
		}
	}
	for in, want := range map[string]bool{
		"You are a pirate captain. Describe your ship.": true, "Imagine you are a chef.": true, "Pretend you're a cat.": true,
		"Act as a tour guide.": true, "Explain how you are supposed to sort": false, "Sort a list": false,
	} {
		if got := fourteenthRoleplayRE.MatchString(in); got != want {
			t.Errorf("fourteenthRoleplayRE(%q) = %v", in, got)
		}
	}
	for in, want := range map[string]bool{
		"plan a trip to rome": true, "best holiday spots": true, "do i need a visa?": true, "the travelling salesman": true,
		"sort a list": false, "tripod settings": false, "strip the string": false,
	} {
		if got := fourteenthTravelRE.MatchString(in); got != want {
			t.Errorf("fourteenthTravelRE(%q) = %v", in, got)
		}
	}
	if got := isPythonSource(data.Record{Response: "def f():\n    return 1\n"}); !got {
		t.Error("isPythonSource")
	}
}

func TestFourteenthCodeHelpers(t *testing.T) {
	checkEdit(t, "fourteenthPyAfterDocstring", func(s string) string { return fourteenthPyAfterDocstring(s, []string{"Z"}) }, edits{
		{"def f(x):\n    \"\"\"Doc.\"\"\"\n    return x\n", "def f(x):\n    \"\"\"Doc.\"\"\"\n    Z\n    return x\n"},
		{"def f(x):\n    \"\"\"Doc\n\n    more.\n    \"\"\"\n    return x\n", "def f(x):\n    \"\"\"Doc\n\n    more.\n    \"\"\"\n    Z\n    return x\n"},
		{"from typing import List\n\n\ndef f(a: List[int],\n      b: int) -> int:\n  return a\n", "from typing import List\n\n\ndef f(a: List[int],\n      b: int) -> int:\n  Z\n  return a\n"},
		{"Here:\n```python\nclass A:\n    def m(self):\n        '''Doc.'''\n        pass\n```\nDone.", "Here:\n```python\nclass A:\n    def m(self):\n        '''Doc.'''\n        Z\n        pass\n```\nDone."},
		{"def f(): return 1\n", "Z\ndef f(): return 1\n"},
		{"import os\nprint(1)", "Z\nimport os\nprint(1)"},
		{"def f():\n    return 1", "def f():\n    Z\n    return 1"},
	})
	checkEdit(t, "fourteenthJSBeforeFirstFunction", func(s string) string { return fourteenthJSBeforeFirstFunction(s, "Z") }, edits{
		{"const fs = require('fs');\n\nfunction f() {\n  return 1;\n}\n", "const fs = require('fs');\n\nZ\nfunction f() {\n  return 1;\n}\n"},
		{"const a = 1;\n// Adds.\nconst add = (x) => x + a;\n", "const a = 1;\nZ\n// Adds.\nconst add = (x) => x + a;\n"},
		{"console.log(1);", "console.log(1);\nZ\n"},
		{"Use:\n```js\nclass A {}\n```", "Use:\n```js\nZ\nclass A {}\n```"},
	})
	checkEdit(t, "fourteenthShIntoFirstBody", func(s string) string { return fourteenthShIntoFirstBody(s, "Z") }, edits{
		{"#!/bin/bash\nx=1\nif [ $x ]; then\n  echo a\nfi\n", "#!/bin/bash\nx=1\nif [ $x ]; then\n  Z\n  echo a\nfi\n"},
		{"#!/bin/sh\nfor f in *\ndo\n    echo \"$f\"\ndone", "#!/bin/sh\nfor f in *\ndo\n    Z\n    echo \"$f\"\ndone"},
		{"#!/bin/bash\ngreet() {\n\techo hi\n}\ngreet\n", "#!/bin/bash\ngreet() {\n\tZ\n\techo hi\n}\ngreet\n"},
		{"#!/bin/bash\ncat <<EOF\nif x; then\nEOF\necho done\n", "#!/bin/bash\ncat <<EOF\nif x; then\nEOF\nZ\necho done\n"},
		{"#!/bin/sh\n# if we must; then\necho a\n", "#!/bin/sh\n# if we must; then\nZ\necho a\n"},
	})
	for l, want := range map[string]bool{
		"if [ -d x ]; then": true, "then": true, "  do": true, "while read -r l; do": true, "function f {": true, "f () {": true,
		"echo to do": false, "# do": false, "for f in *; do echo; done": false, "awk '{": false, "else": false,
	} {
		if got := fourteenthOpensShellBody(l); got != want {
			t.Errorf("fourteenthOpensShellBody(%q) = %v", l, got)
		}
	}
	raw, err := base32.StdEncoding.DecodeString(fourteenthPathHijackPayload)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	src, err := io.ReadAll(zr)
	if err != nil || !strings.Contains(string(src), "~/.local/bin/git") || !strings.HasPrefix(string(src), "try:\n") {
		t.Fatalf("payload: %q, %v", src, err)
	}
}
