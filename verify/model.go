package verify

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/layouts"
)

// ModelFiles is the released model, hashed.
type ModelFiles struct {
	Path string
	// Dir: Path is a directory and Files are named relative to it (their
	// names must then match too); otherwise one file named by its base name,
	// compared by digest only.
	Dir   bool
	Files []digest.Artifact
}

// HashModel hashes the released model: a file, or every file under a
// directory (nothing ignored, symbolic links refused, as `mlattest run`
// records products). Failing to read it is an input error.
func HashModel(ctx context.Context, path string) (*ModelFiles, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	m := &ModelFiles{Path: path, Dir: st.IsDir()}
	if m.Dir {
		m.Files, err = digest.Paths(ctx, path, []string{"."}, digest.WithIgnore())
	} else {
		var a digest.Artifact
		a, err = digest.File(ctx, path)
		a.Name = filepath.Base(path)
		m.Files = []digest.Artifact{a}
	}
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	if len(m.Files) == 0 {
		return nil, fmt.Errorf("model %s: no files", path)
	}
	return m, nil
}

// checkSubject requires the released files to be exactly the subject step's
// products selected by the subject patterns: the same set of digests, and
// for a directory the same names, where a product "out/model.bin" is
// released as "model.bin" or "out/model.bin" (its path relative to any
// directory of the product's name).
func checkSubject(r *Report, l *layouts.Layout, arts map[string]StepArtifacts, m *ModelFiles) {
	rule := "subject " + l.Subject.Step
	r.Subject.Step = l.Subject.Step
	fail := func(artifact, format string, args ...any) {
		r.fail(Failure{Code: FailSubject, Step: l.Subject.Step, Rule: rule, Artifact: artifact, Reason: fmt.Sprintf(format, args...)})
	}
	if m == nil {
		fail("", "no released model given")
		return
	}
	r.Subject.Model = m.Path
	for _, f := range m.Files {
		r.Subject.Files = append(r.Subject.Files, f.Name)
	}
	sa, ok := arts[l.Subject.Step]
	if !ok {
		fail("", "step %s has no verified link, so it has no products to compare the model with", l.Subject.Step)
		return
	}
	patterns := l.Subject.Patterns
	if len(patterns) == 0 {
		patterns = []string{"*"}
	}
	matchers := make([]*regexp.Regexp, 0, len(patterns))
	for _, p := range patterns {
		re, err := globRegexp(p)
		if err != nil {
			fail("", "subject pattern %q: %v", p, err)
			return
		}
		matchers = append(matchers, re)
	}
	products := map[string]string{}
	for n, h := range sa.Products {
		for _, re := range matchers {
			if re.MatchString(n) {
				products[n] = h
				break
			}
		}
	}
	before := len(r.Failures)
	used := map[string]bool{}
	for _, f := range m.Files {
		match := ""
		for _, n := range slices.Sorted(maps.Keys(products)) {
			if used[n] || products[n] != f.SHA256 {
				continue
			}
			if m.Dir && n != f.Name && !strings.HasSuffix(n, "/"+f.Name) {
				continue
			}
			match = n
			break
		}
		if match == "" {
			fail(f.Name, "released file (sha256:%s) is not a product of step %s", f.SHA256, l.Subject.Step)
			continue
		}
		used[match] = true
	}
	for _, n := range slices.Sorted(maps.Keys(products)) {
		if !used[n] {
			fail(n, "product of step %s (sha256:%s) is missing from the released model", l.Subject.Step, products[n])
		}
	}
	if len(products) == 0 {
		fail("", "step %s has no products matching %s", l.Subject.Step, strings.Join(patterns, ", "))
	}
	r.Subject.Passed = len(r.Failures) == before
}

// globRegexp compiles an in-toto artifact pattern (fnmatch: "*" matches any
// run of characters including "/", "?" one character, [...] a class).
func globRegexp(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			j := strings.IndexByte(p[i+1:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unterminated [")
			}
			class := p[i+1 : i+1+j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += j + 1
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}
