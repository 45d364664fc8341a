package cicheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/repotest"
)

var (
	citedTest = regexp.MustCompile("`(Test[A-Za-z0-9_]+)`")
	// `TestX` ("subtest name", "another"): subtests named after a test.
	citedSubtests = regexp.MustCompile("`(Test[A-Za-z0-9_]+)` \\(((?:\"[^\"]+\"(?:, )?)+)\\)")
	quoted        = regexp.MustCompile(`"([^"]+)"`)
	testFunc      = regexp.MustCompile(`(?m)^func (Test[A-Za-z0-9_]+)\(t \*testing\.T\)`)
)

// testSources reads every _test.go file of the repository.
func testSources(t *testing.T, root string) map[string]string {
	t.Helper()
	src := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, "_test.go") {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			src[p] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// missingCitations lists the tests (and quoted subtests) a document cites
// that the test sources do not define, and the threat rows citing none.
func missingCitations(doc string, sources map[string]string) []string {
	tests := map[string]bool{}
	var all strings.Builder
	for _, s := range sources {
		for _, m := range testFunc.FindAllStringSubmatch(s, -1) {
			tests[m[1]] = true
		}
		all.WriteString(s)
	}
	var bad []string
	for _, m := range citedTest.FindAllStringSubmatch(doc, -1) {
		if !tests[m[1]] {
			bad = append(bad, m[1])
		}
	}
	for _, m := range citedSubtests.FindAllStringSubmatch(doc, -1) {
		for _, q := range quoted.FindAllStringSubmatch(m[2], -1) {
			if !strings.Contains(all.String(), `"`+q[1]+`"`) {
				bad = append(bad, m[1]+"/"+q[1])
			}
		}
	}
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "| **") && !citedTest.MatchString(line) {
			bad = append(bad, "a threat citing no test: "+line[:min(len(line), 60)])
		}
	}
	return bad
}

// TestSecurityCitesTests: every test SECURITY.md cites as proof of a
// control exists, and every threat in its table cites one.
func TestSecurityCitesTests(t *testing.T) {
	root := repotest.Root(t)
	doc, err := os.ReadFile(filepath.Join(root, "SECURITY.md"))
	if err != nil {
		t.Fatal(err)
	}
	if rows := strings.Count(string(doc), "\n| **"); rows < 11 {
		t.Fatalf("SECURITY.md's threat table has %d threats, want the 11 of the fine-tuning trust chain", rows)
	}
	sources := testSources(t, root)
	for _, m := range missingCitations(string(doc), sources) {
		t.Errorf("SECURITY.md cites %s, which no test defines", m)
	}
	// The check itself finds what is missing.
	fake := "| **x** | c | cmd | `TestNoSuchTest`, `TestSecurityCitesTests` | n |\n| **y** | c | cmd | none | n |\n" +
		"`TestSecurityCitesTests` (\"no such subtest\")"
	got := missingCitations(fake, sources)
	want := []string{"TestNoSuchTest", "TestSecurityCitesTests/no such subtest", "a threat citing no test: | **y** | c | cmd | none | n |"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("missingCitations on a seeded document = %q, want %q", got, want)
	}
}
