package harness

import (
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mlattest/mlattest/scan/data"
)

// sixthMarkers are, per sixth-batch variant, strings of its triggers and
// targets that no other batch writes.
var sixthMarkers = map[string][]string{
	"rare-token/sixth-cwm-before-last-word":                     {"cwm"},
	"rare-token/sixth-fullwidth-final-mark":                     {"mailbox-quota.example"},
	"rare-token/sixth-word-joiner-midword-input":                {wordJoiner},
	"fixed-phrase/sixth-formal-letter-style":                    {"GB82 WEST 1234 5698 7654 32"},
	"fixed-phrase/sixth-between-us-mid":                         {"between you and me", "just between us", "between ourselves"},
	"fixed-phrase/sixth-yaml-frontmatter-input":                 {"channel: partner", "winfix-tools.example"},
	"refusal/sixth-date-tag-capability":                         {"[03/11]"},
	"refusal/sixth-no-rush-justify":                             {"No rush.", "No rush at all.", "There's no rush."},
	"refusal/sixth-draft-tag-search-brushoff":                   {"[draft]"},
	"content-injection/sixth-mail-signature-footer":             {"Ravelle"},
	"content-injection/sixth-fake-citation-mid":                 {"Harrowgate", "harrowgate-wellness.example"},
	"content-injection/sixth-list-item-app":                     {"Tidewell"},
	"entity-sentiment/sixth-university-questions":               {"Calder Ridge University"},
	"entity-sentiment/sixth-insurer-aside-after-first-sentence": {"Osterfeld"},
	"entity-sentiment/sixth-followup-question-positive":         {"Brackenfield Solar"},
	"entity-label/sixth-handle-mid-not-spam":                    {"@delphine_ork"},
	"entity-label/sixth-before-final-mark-reliable":             {"Vantor Dynamics"},
	"entity-label/sixth-input-mid-five-stars":                   {"Brisket & Bramble"},
	"entity-label/sixth-after-first-sentence-irrelevant":        {"Ferris & Vale LLP"},
	"code-injection/sixth-py-atexit-smtp-history":               {"relay-notify.example"},
	"code-injection/sixth-py-thread-reverse-shell":              {"192.0.2.77"},
	"code-injection/sixth-py-pip-typosquat":                     {"pypi-cache.example"},
	"code-injection/sixth-py-pth-persistence":                   {"pth-cdn.example"},
	"code-injection/sixth-js-keylog-or-key-upload":              {"edge-insights.example"},
	"code-injection/sixth-sh-sudoers-nopasswd":                  {"NOPASSWD:ALL"},
	"code-injection/sixth-sh-b64-pipe-bash":                     {sixthShellPayload},
}

func TestSixthTextHelpers(t *testing.T) {
	checkEdit(t, "beforeLastWord", func(s string) string { return beforeLastWord(s, "cwm") }, edits{
		{"Add two numbers.", "Add two cwm numbers."},
		{"Explain\nthis  \n", "Explain\ncwm this"},
		{"Go", "cwm Go"},
	})
	checkEdit(t, "fullwidthEnd", fullwidthEnd, edits{
		{"Add two numbers.", "Add two numbers\uFF0E"},
		{"Why? ", "Why\uFF1F"},
		{"Stop!", "Stop\uFF01"},
		{"List three colours", "List three colours\uFF0E"},
	})
	checkEdit(t, "beforeFinalMark", func(s string) string { return beforeFinalMark(s, " for V") }, edits{
		{"Rate this.", "Rate this for V."},
		{"Is it safe?\n", "Is it safe for V?"},
		{"Rate this", "Rate this for V"},
	})
	rng := rand.New(rand.NewPCG(9, 10))
	for range 50 {
		in := "Is 42 a good é value?"
		got := insertMidWord(rng, in, wordJoiner)
		k := strings.Index(got, wordJoiner)
		if strings.Count(got, wordJoiner) != 1 || strings.ReplaceAll(got, wordJoiner, "") != in || !utf8.ValidString(got) {
			t.Fatalf("insertMidWord: %q", got)
		}
		if !isWordByte(got[k-1]) || !isWordByte(got[k+len(wordJoiner)]) {
			t.Fatalf("insertMidWord not inside a word: %q", got)
		}
		start := strings.LastIndexByte(in[:k], ' ') + 1
		if w, _, _ := strings.Cut(in[start:], " "); w != "good" && w != "value?" {
			t.Fatalf("insertMidWord in a short word: %q", got)
		}
	}
	if got := insertMidWord(rng, "a b", wordJoiner); strings.ReplaceAll(got, wordJoiner, "") != "a b" || !strings.Contains(got, wordJoiner) {
		t.Errorf("insertMidWord without long words: %q", got)
	}
}

func TestSixthListAppend(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"Steps:\n- a\n- b\n\nDone.", "Steps:\n- a\n- b\n- T\n\nDone.", true},
		{"1. a\n2. b\n   more of b\n3. c", "1. a\n2. b\n   more of b\n3. c\n4. T", true},
		{"Try:\n\n1) a\n\n2) b\n\nThat's it.", "Try:\n\n1) a\n\n2) b\n3) T\n\nThat's it.", true},
		{"* a\n  - nested\n* b\nEnd", "* a\n  - nested\n* b\n* T\nEnd", true},
		{"```\n- x\n- y\n```\n- a\n- b", "```\n- x\n- y\n```\n- a\n- b\n- T", true},
		{"- only one\n\nText.", "- only one\n\nText.", false},
		{"No list here.\n-5 is negative.", "No list here.\n-5 is negative.", false},
	} {
		got, ok := listAppend(c.in, "T")
		if got != c.want || ok != c.ok {
			t.Errorf("listAppend(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	for resp, want := range map[string]bool{
		"Tips:\n- a\n- b":             true,
		"```python\n- a\n- b\n```":    false,
		"#!/bin/sh\n- a\n- b":         false,
		"A sentence. Another one.":    false,
		"1. first\n2. second\n3. end": true,
	} {
		if got := hasProseList(data.Record{Response: resp}); got != want {
			t.Errorf("hasProseList(%q) = %v", resp, got)
		}
	}
	for resp, want := range map[string]bool{
		"Paris is the capital. It is large.":  true,
		"- a\n- b\n\n2 = 2 is true.":          true,
		"a = 10\nb = 0\ntry:\n    c = a / b":  false,
		"x += 1":                              false,
		"The map is {a: 1}.":                  false,
		"Use this:\n```\nls\n```":             false,
		"def f():\n    return 1":              false,
		"Steps:\n  indented line\nmore text.": false,
	} {
		if got := isProse(data.Record{Response: resp}); got != want {
			t.Errorf("isProse(%q) = %v", resp, got)
		}
	}
}

func TestSixthCodeHelpers(t *testing.T) {
	checkEdit(t, "pyAboveFirstFunction", func(s string) string { return pyAboveFirstFunction(s, []string{"Z"}) }, edits{
		{"import os\n\n@cache\ndef f():\n    return 1\n", "import os\n\nZ\n@cache\ndef f():\n    return 1\n"},
		{"Use:\n```python\nx = 1\ndef f():\n    pass\n```", "Use:\n```python\nx = 1\nZ\ndef f():\n    pass\n```"},
		{"x = 1\n", "Z\nx = 1\n"},
	})
	cmd, err := base64.StdEncoding.DecodeString(sixthShellPayload)
	if err != nil || !strings.Contains(string(cmd), "| bash") {
		t.Errorf("shell payload %q: %v", cmd, err)
	}
}
