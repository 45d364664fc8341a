package layouts

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Seed corpora live in testdata/fuzz/<Name>/ in go test's format; `go test
// -update` rewrites FuzzParse's from the good and bad layouts and
// finetune.yaml, and FuzzParseRule's from ruleSeeds.

var ruleSeeds = []string{
	"MATCH * WITH PRODUCTS FROM a",
	"MATCH x IN a WITH MATERIALS IN b/ FROM c",
	"ALLOW *", "DISALLOW [a-z]*", "CREATE a/b", "DELETE x", "MODIFY y", "REQUIRE z",
	"MATCH [ WITH PRODUCTS FROM a", "allow *", "", "MATCH IN IN WITH WITH PRODUCTS FROM FROM",
	"MATCH model.safetensors IN release WITH PRODUCTS IN model FROM train",
}

func TestWriteFuzzCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/fuzz")
	}
	var files []string
	for _, g := range []string{"testdata/good/*", "testdata/bad/*.yaml", "finetune.yaml"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.NewReplacer("/", "-", ".", "-").Replace(strings.TrimPrefix(f, "testdata/"))
		writeSeed(t, filepath.Join(dir, name), fmt.Sprintf("[]byte(%q)", data))
	}
	dir = filepath.Join("testdata", "fuzz", "FuzzParseRule")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range ruleSeeds {
		writeSeed(t, filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), fmt.Sprintf("string(%q)", s))
	}
}

func writeSeed(t *testing.T, path, value string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("go test fuzz v1\n"+value+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("serial: 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if l != nil {
				t.Fatal("layout and error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			for _, e := range err.(Errors) {
				if e.Line < 0 || !strings.HasPrefix(e.Error(), "fuzz.yaml") {
					t.Fatalf("bad error location: %q", e.Error())
				}
			}
			return
		}
		// Whatever parses is complete and consistent.
		if l.Serial < 1 || len(l.Steps) == 0 || len(l.Functionaries) == 0 || l.Subject.Step == "" || len(l.Subject.Patterns) == 0 {
			t.Fatalf("incomplete layout accepted: %+v", l)
		}
		if l.Step(l.Subject.Step) == nil {
			t.Fatalf("subject step %q missing", l.Subject.Step)
		}
		for _, s := range l.Steps {
			if s.Threshold < 1 || s.Threshold > len(s.Functionaries) {
				t.Fatalf("step %s: threshold %d of %d", s.Name, s.Threshold, len(s.Functionaries))
			}
			for _, name := range s.Functionaries {
				if l.Functionaries[name] == nil {
					t.Fatalf("step %s: functionary %q missing", s.Name, name)
				}
			}
			for _, rs := range [][]ArtifactRule{s.ExpectedMaterials, s.ExpectedProducts} {
				for _, r := range rs {
					if r.Kind == RuleMatch && l.Step(r.FromStep) == nil {
						t.Fatalf("rule %q: step missing", r.Raw)
					}
				}
			}
			for _, pe := range s.ExpectedPredicates {
				for _, e := range pe.Expressions {
					_, _ = e.Eval(map[string]any{"a": 1.0}, []any{"x"}) // must not panic
				}
			}
		}
		for _, fn := range l.Functionaries {
			if (fn.Key == nil) == (fn.Keyless == nil) {
				t.Fatalf("functionary %s: want exactly one of key and keyless", fn.Name)
			}
		}
		_ = l.LintAt(time.Unix(0, 0))
		l.Summary(io.Discard)
	})
}

func FuzzParseRule(f *testing.F) {
	f.Add("ALLOW *")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s)
		if err != nil {
			return
		}
		if r.Kind != RuleRequire && CheckPattern(r.Pattern) != nil {
			t.Fatalf("%q: bad pattern accepted", s)
		}
		if r.Kind == RuleMatch && (r.FromStep == "" || (r.With != Materials && r.With != Products)) {
			t.Fatalf("%q: incomplete MATCH %+v", s, r)
		}
		// The canonical form parses to the same rule.
		again, err := ParseRule(r.String())
		if err != nil {
			t.Fatalf("%q: String() %q does not parse: %v", s, r.String(), err)
		}
		again.Raw = r.Raw
		if again != r {
			t.Fatalf("%q: round trip %+v != %+v", s, again, r)
		}
	})
}
