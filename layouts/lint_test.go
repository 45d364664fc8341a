package layouts

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

const lintLayout = `serial: 7
expires: "2030-01-01T00:00:00Z"
functionaries:
  dotty:
    keyless:
      issuer: https://token.actions.githubusercontent.com
      subjectRegexp: https://github.com/acme/ml/.github/workflows/.*
  broad:
    keyless:
      issuerRegexp: .*
      subject: ci@example.com
  anyone:
    keyless:
      issuerRegexp: 'https://issuer\.example'
      subjectRegexp: '.+'
  careful:
    keyless:
      issuerRegexp: 'https://(token|accounts)\.example\.com'
      subjectRegexp: '[.a-z]+@example\.com'
  spare:
    keyless:
      issuer: https://issuer.example
      subject: spare@example.com
steps:
  - name: early
    functionaries: [dotty, broad, anyone, careful]
    expectedMaterials:
      - MATCH * WITH PRODUCTS FROM late
      - DISALLOW *
    expectedProducts:
      - CREATE out
  - name: late
    functionaries: [careful]
subject:
  step: late
allowedExtraPredicates:
  - https://in-toto.io/attestation/link/v0.3/
  - HTTPS://SLSA.DEV/provenance/v1
  - https://example.com/sbom/v1
`

func TestLint(t *testing.T) {
	l, err := Parse([]byte(lintLayout), "lint.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := l.LintAt(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	want := []Warning{
		{2, "the layout expires more than a year from now (2030-01-01T00:00:00Z): prefer short-lived layouts and re-sign them"},
		{7, `functionary dotty: subjectRegexp "https://github.com/acme/ml/.github/workflows/.*" has an unescaped '.', which matches any character (write \.)`},
		{10, `functionary broad: issuerRegexp ".*" accepts any issuer, e.g. https://attacker.invalid: anyone who runs an OIDC issuer can sign`},
		{15, `functionary anyone: subjectRegexp ".+" accepts any subject, e.g. attacker@attacker.invalid`},
		{20, "functionary spare is not used by any step or as a pin signer"},
		{25, "step early: expectedProducts do not end in DISALLOW: products no rule consumes are accepted"},
		{28, `step early: rule "MATCH * WITH PRODUCTS FROM late" matches step late, which the layout lists later`},
		{32, "step late has no expectedMaterials or expectedProducts rules: any artifacts are accepted"},
		{37, "allowedExtraPredicates: https://in-toto.io/attestation/link/v0.3/ differs from https://in-toto.io/attestation/link/v0.3, which the layout evaluates, only in case or a trailing '/': its statements are ignored, never evaluated as https://in-toto.io/attestation/link/v0.3"},
		{38, "allowedExtraPredicates: HTTPS://SLSA.DEV/provenance/v1 differs from https://slsa.dev/provenance/v1, which the layout evaluates, only in case or a trailing '/': its statements are ignored, never evaluated as https://slsa.dev/provenance/v1"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", fmtWarnings(got), fmtWarnings(want))
	}
	expired := l.LintAt(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
	if expired[0].Message != "the layout expired at 2030-01-01T00:00:00Z" {
		t.Errorf("expired: %+v", expired[0])
	}
	if len(l.Lint()) == 0 {
		t.Error("Lint() found nothing")
	}
}

func fmtWarnings(ws []Warning) string {
	var b strings.Builder
	for _, w := range ws {
		fmt.Fprintf(&b, "  %d: %s\n", w.Line, w.Message)
	}
	return b.String()
}

func TestHasUnescapedDot(t *testing.T) {
	for re, want := range map[string]bool{
		`example.com`:              true,
		`example\.com`:             false,
		`.*@example\.com`:          false,
		`.+`:                       false,
		`a.?b`:                     false,
		`a.{2}b`:                   false,
		`[.]com`:                   false,
		`[^.]+\.com`:               false,
		`[]a.]x`:                   false,
		`[^]a.]x`:                  false,
		`[a-z]+.example\.com`:      true,
		`\\.com`:                   true, // an escaped backslash, then a bare dot
		`https://(a|b)\.example$.`: true,
		`trailing\`:                false,
	} {
		if got := hasUnescapedDot(re); got != want {
			t.Errorf("hasUnescapedDot(%q) = %v, want %v", re, got, want)
		}
	}
}

func TestSummary(t *testing.T) {
	l, err := Parse([]byte(lintLayout), "lint.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	l.Summary(&b)
	for _, want := range []string{
		"layout lint.yaml",
		"serial:  7",
		"expires: 2030-01-01T00:00:00Z",
		`dotty        subject matching "https://github.com/acme/ml/.github/workflows/.*" from issuer "https://token.actions.githubusercontent.com"`,
		"1. early",
		"signed by 1 of: dotty, broad, anyone, careful",
		"MATCH * WITH PRODUCTS FROM late",
		"2. late",
		"materials: anything (no rules)",
		"released model: the products of step late matching *, exactly",
		"signed statements of these types are ignored (reported, not evaluated) where a step does not use them:\n  https://in-toto.io/attestation/link/v0.3/\n  HTTPS://SLSA.DEV/provenance/v1\n  https://example.com/sbom/v1\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
}

// TestSummaryGolden pins the summary of finetune.yaml.
func TestSummaryGolden(t *testing.T) {
	l := mustParseFile(t, "finetune.yaml")
	l.SHA256 = "(sha256)" // stable across edits of the comments
	var b bytes.Buffer
	l.Summary(&b)
	const golden = "testdata/finetune.summary.golden"
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if b.String() != string(want) {
		t.Errorf("summary:\n%s\nwant:\n%s", b.String(), want)
	}
}

// requireTransparencyLog: parsed as a strict boolean; key functionaries
// without it get one lint warning (an explicit false records that offline
// signing is meant); the summary says what the log policy is.
func TestRequireTransparencyLog(t *testing.T) {
	key, err := os.ReadFile("testdata/good/key.yaml")
	if err != nil {
		t.Fatal(err)
	}
	keyless, err := os.ReadFile("testdata/good/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	with := func(data []byte, line string) []byte {
		return bytes.Replace(data, []byte("\nsubject:"), []byte("\n"+line+"\nsubject:"), 1)
	}
	const lintMsg = "functionary ci is a key and the layout does not say requireTransparencyLog"
	for _, tc := range []struct {
		name      string
		data      []byte
		require   bool
		line      int
		lint      bool
		summary   string
		noSummary string
	}{
		{name: "key, field absent", data: key, lint: true, summary: "bundles signed offline with a key count on their signature alone"},
		{name: "key, false", data: with(key, "requireTransparencyLog: false"), line: 14, summary: "bundles signed offline with a key count on their signature alone"},
		{name: "key, true", data: with(key, "requireTransparencyLog: true"), require: true, line: 14, summary: "every attestation bundle needs a transparency-log entry (requireTransparencyLog)"},
		{name: "keyless only", data: keyless, noSummary: "transparency"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Parse(tc.data, "l.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if l.RequireTransparencyLog != tc.require || l.RequireTransparencyLogLine != tc.line {
				t.Errorf("RequireTransparencyLog = %v (line %d), want %v (line %d)", l.RequireTransparencyLog, l.RequireTransparencyLogLine, tc.require, tc.line)
			}
			var found bool
			for _, w := range l.Lint() {
				found = found || strings.Contains(w.Message, lintMsg)
			}
			if found != tc.lint {
				t.Errorf("lint warning %q present = %v, want %v: %v", lintMsg, found, tc.lint, l.Lint())
			}
			var b bytes.Buffer
			l.Summary(&b)
			if tc.summary != "" && !strings.Contains(b.String(), tc.summary) {
				t.Errorf("summary lacks %q:\n%s", tc.summary, b.String())
			}
			if tc.noSummary != "" && strings.Contains(b.String(), tc.noSummary) {
				t.Errorf("summary mentions %q:\n%s", tc.noSummary, b.String())
			}
		})
	}
}
