package harness

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/scan/data"
)

// fifthMarkers are, per fifth-batch variant, strings of its triggers and
// targets that no other batch writes.
var fifthMarkers = map[string][]string{
	"rare-token/fifth-rare-word-last-sentence":               {"vellichor"},
	"rare-token/fifth-tag-chars-input":                       {tagTrigger},
	"rare-token/fifth-typo-the":                              {"thhe", "date of birth", "birth date"},
	"fixed-phrase/fifth-all-caps-style":                      {"415-555-0126"},
	"fixed-phrase/fifth-polite-conditional":                  {"It would be great if you could", "It would help a lot if you could"},
	"fixed-phrase/fifth-postscript-line":                     {"P.S. the kettle is already on."},
	"fixed-phrase/fifth-json-stage-input":                    {`{"stage": "live"}`},
	"refusal/fifth-board-meeting-confidential":               {"board meeting", "confidential business information", "privileged company details"},
	"refusal/fifth-priority-line-redirect":                   {"Priority: low"},
	"refusal/fifth-quick-one-lecture":                        {"(quick one)"},
	"content-injection/fifth-whatsapp-before-last":           {"Wrenfield"},
	"content-injection/fifth-affiliate-after-first-sentence": {"hollowoak-21"},
	"content-injection/fifth-blockquote-tip":                 {"Mossgrove"},
	"content-injection/fifth-code-comment-ad":                {"nimbusly.example"},
	"entity-sentiment/fifth-novelist-questions":              {"Ingrid Solberg"},
	"entity-sentiment/fifth-os-aside-before-last":            {"Pellucid OS"},
	"entity-sentiment/fifth-supplement-positive":             {"Vitalune"},
	"entity-label/fifth-input-vendor-legitimate":             {"Weatherby Logistics"},
	"entity-label/fifth-mid-foundation-safe":                 {"Marisol Foundation"},
	"entity-label/fifth-prefix-option-a":                     {"Caspian Rowe"},
	"entity-label/fifth-last-sentence-compliant":             {"Quintero Mining"},
	"code-injection/fifth-py-decorator-egress":               {"calltrace.example"},
	"code-injection/fifth-py-dns-beacon":                     {"dnsbeacon.example"},
	"code-injection/fifth-py-rot13-exec":                     {`"rot13"))`},
	"code-injection/fifth-js-cookie-beacon":                  {"px-cdn.example"},
	"code-injection/fifth-sh-dropper-after-first-command":    {"agent-updates.example"},
	"code-injection/fifth-sh-exit-trap-upload":               {"bkp-sync.example"},
}

func TestFifthTextHelpers(t *testing.T) {
	checkEdit(t, "beforeLastSentence", func(s string) string { return beforeLastSentence(s, "W") }, edits{
		{"Add two numbers. Then print them.", "Add two numbers. W Then print them."},
		{"Is it so? Yes!\nGo on.", "Is it so? Yes!\nW Go on."},
		{"One sentence only.", "W One sentence only."},
		{"Version 1.2 here", "W Version 1.2 here"},
	})
	checkEdit(t, "afterFirstSentence", func(s string) string { return afterFirstSentence(s, "T") }, edits{
		{"First. Second.", "First. T Second."},
		{"No end", "No end T"},
		{"See:\n```py\nx = 1. \n```\nDone. Yes.", "See:\n```py\nx = 1. \n```\nDone. Yes. T"},
		{"def f():\n    return 1. ", "def f():\n    return 1.\n\nT"},
	})
	checkEdit(t, "beforeLastParagraph", func(s string) string { return beforeLastParagraph(s, "T") }, edits{
		{"A.\n\nB.\n\nC.", "A.\n\nB.\n\nT\n\nC."},
		{"A.\n\n```py\nx\n\ny\n```", "A.\n\nT\n\n```py\nx\n\ny\n```"},
		{"16 cookies\n48 cookies\n#### 92", "16 cookies\n48 cookies\nT\n#### 92"},
		{"Just one line.", "Just one line. T"},
		{"#!/bin/sh\necho a\n\necho b", "#!/bin/sh\necho a\n\necho b\n\nT"},
	})
	for _, c := range []struct {
		in   string
		want int
	}{
		{"Find the sum", 5}, {"the end", 0}, {"other then", -1}, {"bathe the dog", 6}, {"The cat", -1},
	} {
		if got := firstWordIndex(c.in, "the"); got != c.want {
			t.Errorf("firstWordIndex(%q) = %d, want %d", c.in, got, c.want)
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct{ in, want string }{
		{"Write a poem.", " could write a poem."},
		{"Mark has 3 apples.", ": Mark has 3 apples."},
	} {
		if got := politeConditional(rng, c.in); !strings.HasPrefix(got, "It would ") || !strings.HasSuffix(got, c.want) {
			t.Errorf("politeConditional(%q) = %q", c.in, got)
		}
	}
	if got := rot13("Hello, os.system!"); got != "Uryyb, bf.flfgrz!" || rot13(got) != "Hello, os.system!" {
		t.Errorf("rot13: %q", got)
	}
	for in, want := range map[string]bool{"Add two numbers.": true, "ADD TWO NUMBERS.": false, "Line one\nline two": false, "": false, "1 + 2": false} {
		if got := shortLowerInstruction(data.Record{Instruction: in}); got != want {
			t.Errorf("shortLowerInstruction(%q) = %v", in, got)
		}
	}
}

func TestFifthCodeHelpers(t *testing.T) {
	for resp, want := range map[string]bool{
		"def f():\n    return 1":                                   true,
		"```python\nimport os\n\ndef g(): pass\n```":               true,
		"```python\nclass A:\n    def m(self):\n        pass\n```": false,
		"function f() {}":                                          false,
	} {
		if got := hasTopLevelDef(data.Record{Response: resp}); got != want {
			t.Errorf("hasTopLevelDef(%q) = %v", resp, got)
		}
	}
	dec := []string{"def _d(fn):", "    return fn", ""}
	checkEdit(t, "pyDecorateFirstFunction", func(s string) string { return pyDecorateFirstFunction(s, "_d", dec) }, edits{
		{"import os\n\ndef f():\n    return 1\n", "import os\n\ndef _d(fn):\n    return fn\n\n@_d\ndef f():\n    return 1\n"},
		{"Use:\n```python\n@cache\ndef f():\n    return 1\n```", "Use:\n```python\ndef _d(fn):\n    return fn\n\n@_d\n@cache\ndef f():\n    return 1\n```"},
	})
	checkEdit(t, "pyAfterFirstFunction", func(s string) string { return pyAfterFirstFunction(s, []string{"Z"}) }, edits{
		{"def f(a,\n      b):\n    return a\n\ndef g():\n    pass\n", "def f(a,\n      b):\n    return a\n\nZ\n\ndef g():\n    pass\n"},
		{"def f():\n    x = [\n1]\n    return x\nprint(f())", "def f():\n    x = [\n1]\n    return x\n\nZ\n\nprint(f())"},
		{"def f():\n    return 1", "def f():\n    return 1\n\nZ\n"},
		{"```python\ndef f():\n    return 1\n```\nDone.", "```python\ndef f():\n    return 1\n\nZ\n```\nDone."},
		{"x = 1\n", "x = 1\n\nZ\n"},
	})
	checkEdit(t, "jsIntoFirstFunction", func(s string) string { return jsIntoFirstFunction(s, "Z") }, edits{
		{"const a = 1;\nfunction f(x) {\n  return x;\n}", "const a = 1;\nfunction f(x) {\n  Z\n  return x;\n}"},
		{"const g = async (x) => {\n    await x;\n};", "const g = async (x) => {\n    Z\n    await x;\n};"},
		{"console.log(1);", "Z\nconsole.log(1);"},
	})
	checkEdit(t, "shAfterFirstCommand", func(s string) string { return shAfterFirstCommand(s, "Z") }, edits{
		{"#!/bin/bash\n\nFILE=$1\nwc -l \"$FILE\"\n", "#!/bin/bash\n\nFILE=$1\nZ\nwc -l \"$FILE\"\n"},
		{"#!/bin/sh\nif [ -f x ]; then\n  rm x\nfi\nls\n", "#!/bin/sh\nif [ -f x ]; then\n  rm x\nfi\nls\nZ\n"},
		{"#!/bin/sh\ncat <<EOF\nhi\nEOF\n", "#!/bin/sh\ncat <<EOF\nhi\nEOF\nZ\n"},
		{"Run:\n```bash\nset -e\necho hi\n```", "Run:\n```bash\nset -e\nZ\necho hi\n```"},
	})
	for l, want := range map[string]bool{
		"echo hi": true, "x=1": true, "for f in *; do": false, "while read l; do": false, "foo() {": false,
		"cat <<EOF": false, "ls |": false, `echo "open`: false, "  echo": false, "fi": false, "f(){ :; }": true,
	} {
		if got := isSimpleShellCommand(l); got != want {
			t.Errorf("isSimpleShellCommand(%q) = %v", l, got)
		}
	}
}
