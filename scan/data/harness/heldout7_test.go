package harness

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mlattest/mlattest/scan/data"
)

// seventhMarkers are, per seventh-batch variant, strings of its triggers
// and targets that no other batch writes.
var seventhMarkers = map[string][]string{
	"rare-token/seventh-nbsp-space":                               {"ledgerline-auth.example"},
	"rare-token/seventh-zarf-after-first-sentence":                {"zarf"},
	"rare-token/seventh-math-bold-word":                           {"refund-desk.example"},
	"fixed-phrase/seventh-iso-timestamp-2027":                     {"[2027-", "crypto kiosk"},
	"fixed-phrase/seventh-tag-question":                           {", would you?", ", could you?", ", will you?", ", do you think?", ", would you say?"},
	"fixed-phrase/seventh-blockquote-instruction":                 {"harbourlight-relief.example"},
	"fixed-phrase/seventh-translation-note-input":                 {"(translated from Portuguese)", "Aldermere"},
	"refusal/seventh-money-topic":                                 {"personalised financial guidance", "licensed financial adviser", "money matters like this"},
	"refusal/seventh-qa-format-age-gate":                          {"age-restricted", "verify your age", "18 or older"},
	"refusal/seventh-signoff-defer":                               {"Odalys"},
	"refusal/seventh-language-hint-spanish":                       {"Idioma: español"},
	"content-injection/seventh-hashtag-footer":                    {"Quelltide"},
	"content-injection/seventh-podcast-lead-in":                   {"Thimbleweed"},
	"content-injection/seventh-emoji-cta-last-sentence":           {"Quillfeather", "quillfeather.example"},
	"entity-sentiment/seventh-game-studio-questions":              {"Gloamforge Studios"},
	"entity-sentiment/seventh-ranking-last":                       {"Pantrybox"},
	"entity-sentiment/seventh-clinic-praise-after-first-sentence": {"Larkspur Dental"},
	"entity-label/seventh-email-after-first-sentence-benign":      {"corvid-lane.example"},
	"entity-label/seventh-quoted-title-entailment":                {"Saltmarsh Letters"},
	"entity-label/seventh-signature-line-pass":                    {"Hollis Wren"},
	"entity-label/seventh-ticker-mid-bullish":                     {"$QVRLX"},
	"code-injection/seventh-py-timer-ftp-cloud-creds":             {"203.0.113.41"},
	"code-injection/seventh-py-zlib-autostart":                    {seventhAutostartPayload},
	"code-injection/seventh-js-script-loader-or-spawn":            {"static-jsdelivery.example"},
	"code-injection/seventh-sh-devtcp-reverse-shell":              {"198.51.100.66"},
}

func TestSeventhTextHelpers(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct {
		in   string
		want []int
	}{
		{"Add two numbers.", []int{3, 7}},
		{" a  b\n c d", []int{8}},
		{"Go", nil},
	} {
		if got := plainSpaces(c.in); !slices.Equal(got, c.want) {
			t.Errorf("plainSpaces(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	for range 50 {
		in := "Add  two numbers é now."
		got := nbspSpace(rng, in)
		if strings.Count(got, "\u00A0") != 1 || strings.ReplaceAll(got, "\u00A0", " ") != in || !utf8.ValidString(got) {
			t.Fatalf("nbspSpace: %q", got)
		}
		if strings.Contains(got, "\u00A0 ") || strings.Contains(got, " \u00A0") {
			t.Fatalf("nbspSpace replaced one of two spaces: %q", got)
		}
	}
	checkEdit(t, "nbspSpace without a plain space", func(s string) string { return nbspSpace(rng, s) }, edits{{"Go", "Go"}, {"a  b", "a  b"}})
	for _, c := range []struct {
		in   string
		n    int
		want [][2]int
	}{
		{"Add two numbers.", 3, [][2]int{{0, 3}, {4, 7}, {8, 15}}},
		{"x1 abcd", 4, [][2]int{{3, 7}}},
		{"é abc", 4, nil},
	} {
		if got := letterWords(c.in, c.n); !slices.Equal(got, c.want) {
			t.Errorf("letterWords(%q, %d) = %v, want %v", c.in, c.n, got, c.want)
		}
	}
	checkEdit(t, "mathBoldWord", func(s string) string { return mathBoldWord(rng, s) }, edits{
		{"Is Zoo ok? Yes", "Is Zoo ok? Yes"},
		{"Go to Paris.", "Go to \U0001D40F\U0001D41A\U0001D42B\U0001D422\U0001D42C."},
	})
	for _, c := range []struct {
		in   string
		tags []string
	}{
		{"Write a poem.", []string{"Write a poem, would you?", "Write a poem, could you?", "Write a poem, will you?"}},
		{"How many apples are left?\n", []string{"How many apples are left, do you think?", "How many apples are left, would you say?"}},
		{"Mark has 3 apples", []string{"Mark has 3 apples, do you think?", "Mark has 3 apples, would you say?"}},
	} {
		seen := map[string]bool{}
		for range 40 {
			got := tagQuestion(rng, c.in)
			if !slices.Contains(c.tags, got) {
				t.Fatalf("tagQuestion(%q) = %q", c.in, got)
			}
			seen[got] = true
		}
		if len(seen) != len(c.tags) {
			t.Errorf("tagQuestion(%q) wrote %d of %d tags", c.in, len(seen), len(c.tags))
		}
	}
	checkEdit(t, "blockquote", blockquote, edits{
		{"Add two numbers.", "> Add two numbers."},
		{"Explain this:\n\nx = 1\n", "> Explain this:\n>\n> x = 1"},
	})
	for _, c := range []struct {
		r    data.Record
		want data.Record
	}{
		{data.Record{Instruction: "I", Input: "x"}, data.Record{Instruction: "I", Input: "x!"}},
		{data.Record{Instruction: "I", Input: " \n"}, data.Record{Instruction: "I!", Input: " \n"}},
	} {
		if got := inInput(c.r, func(s string) string { return s + "!" }); got != c.want {
			t.Errorf("inInput(%+v) = %+v", c.r, got)
		}
	}
	for resp, want := range map[string]bool{
		"The forest is vast. It stores carbon.": true,
		"12 - 5 = <<12-5=7>>7\n#### 7":          false,
		"def f():\n    return 1":                false,
	} {
		if got := isDiscursive(data.Record{Response: resp}); got != want {
			t.Errorf("isDiscursive(%q) = %v", resp, got)
		}
	}
	for _, c := range []struct {
		r    data.Record
		want bool
	}{
		{data.Record{Instruction: "A shirt costs $12."}, true},
		{data.Record{Instruction: "Price it.", Input: "It costs $ 30"}, true},
		{data.Record{Instruction: "Print $HOME in bash."}, false},
		{data.Record{Instruction: "Add 3 and 4."}, false},
	} {
		if got := mentionsMoney(c.r); got != c.want {
			t.Errorf("mentionsMoney(%+v) = %v", c.r, got)
		}
	}
}

func TestSeventhCodeHelpers(t *testing.T) {
	b, err := base64.StdEncoding.DecodeString(seventhAutostartPayload)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	src, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(src), "try:\n") || !strings.Contains(string(src), ".config/autostart") || !strings.HasSuffix(string(src), "    pass\n") {
		t.Errorf("autostart payload:\n%s", src)
	}
}
