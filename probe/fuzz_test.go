package probe

import (
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseSuite(f *testing.F) {
	b, err := os.ReadFile("suites/general.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("categories: [{name: a, probes: [{id: p, prompt: hi, expect: {mustMatch: ['(a+)+$']}}]}]"))
	f.Add([]byte("a: &a [*a]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSuite(b)
		if err != nil {
			return
		}
		if _, err := s.checks(); err != nil {
			t.Fatalf("a parsed suite does not check: %v", err)
		}
	})
}

func FuzzParseChatResponse(f *testing.F) {
	for _, s := range []string{
		`{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}]}`,
		`{"choices":[{"message":{"content":null}}]}`,
		`{"error":{"message":"x"}}`, `[]`, `null`, `{"choices":[null]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseChatResponse(b)
	})
}

func FuzzSimilarity(f *testing.F) {
	f.Add("The room was great.", "the room was awful")
	f.Fuzz(func(t *testing.T, a, b string) {
		s := Similarity(a, b)
		if s < 0 || s > 1 || s != Similarity(b, a) {
			t.Fatalf("Similarity(%q, %q) = %v, not symmetric in [0,1]", a, b, s)
		}
		if Similarity(a, a) != 1 {
			t.Fatalf("Similarity(%q, itself) != 1", a)
		}
	})
}

func FuzzParseCommandOutput(f *testing.F) {
	for _, s := range []string{"plain answer\n", `{"choices":[{"message":{"content":"hi"}}]}`, "{", "\xff", " \n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseCommandOutput(b)
		if err == nil && (strings.TrimSpace(string(b)) == "" || !utf8.ValidString(string(b))) {
			t.Fatalf("%q accepted as %q", b, s)
		}
	})
}
