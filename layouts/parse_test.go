package layouts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlattest/mlattest/trust"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// TestParseBad parses every testdata/bad/*.yaml and compares the error
// with the golden testdata/bad/*.err (one file:line: message per line).
func TestParseBad(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) < 40 {
		t.Fatalf("want >= 40 bad layouts, got %d (%v)", len(files), err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			l, err := Parse(data, "bad/"+name+".yaml")
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", l)
			}
			if l != nil {
				t.Error("a Layout returned with an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error is not Errors: %T", err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("error:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestParseGood(t *testing.T) {
	files, _ := filepath.Glob("testdata/good/*")
	files = append(files, "finetune.yaml")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			l, err := Parse(data, f)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			if l.SHA256 != hex.EncodeToString(sum[:]) || l.File != f {
				t.Errorf("SHA256/File = %s %s", l.SHA256, l.File)
			}
			if l.Serial < 1 || l.Expires.IsZero() || len(l.Steps) == 0 || l.Subject.Step == "" {
				t.Errorf("incomplete layout: %+v", l)
			}
		})
	}
}

func mustParseFile(t *testing.T, f string) *Layout {
	t.Helper()
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Parse(data, f)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestParseJSON checks every field of a layout written as JSON.
func TestParseJSON(t *testing.T) {
	l := mustParseFile(t, "testdata/good/json.json")
	if l.Serial != 3 {
		t.Errorf("Serial = %d", l.Serial)
	}
	if want := time.Date(2026, 12, 31, 22, 0, 0, 0, time.UTC); !l.Expires.Equal(want) || l.Expires.Location() != time.UTC {
		t.Errorf("Expires = %v, want %v in UTC", l.Expires, want)
	}
	if got := l.FunctionaryNames(); strings.Join(got, ",") != "ci,owner" {
		t.Errorf("FunctionaryNames = %v", got)
	}
	ci := l.Functionaries["ci"]
	if ci.Key != nil || ci.Keyless == nil {
		t.Fatalf("ci = %+v", ci)
	}
	k := ci.Keyless
	if k.IssuerRegexp != `^(?:https://issuer\.example)$` || k.SubjectRegexp != `^(?:ci-[0-9]+@example\.com)$` || k.Issuer != "" || k.Subject != "" {
		t.Errorf("regexps not anchored: %+v", k)
	}
	if k.Extensions["githubWorkflowRef"] != "refs/heads/main" || k.Extensions["sourceRepositoryURI"] != "https://github.com/acme/ml" || len(k.Extensions) != 2 {
		t.Errorf("Extensions = %v", k.Extensions)
	}
	owner := l.Functionaries["owner"]
	if owner.Key == nil || owner.Keyless != nil {
		t.Fatalf("owner = %+v", owner)
	}
	id, err := trust.KeyID(owner.Key.Public)
	if err != nil || owner.Key.ID != id {
		t.Errorf("Key.ID = %s, trust.KeyID = %s (%v)", owner.Key.ID, id, err)
	}
	s := l.Step("build")
	if s == nil || l.Step("nope") != nil {
		t.Fatal("Step lookup")
	}
	if s.Threshold != 2 || !s.AllowFailure || strings.Join(s.Functionaries, ",") != "ci,owner" {
		t.Errorf("step = %+v", s)
	}
	if strings.Join(s.ExpectedCommand, " ") != "python *.py" {
		t.Errorf("ExpectedCommand = %q", s.ExpectedCommand)
	}
	if len(s.ExpectedMaterials) != 2 || s.ExpectedMaterials[0].Kind != RuleAllow || s.ExpectedMaterials[0].Pattern != "src/*" || s.ExpectedMaterials[0].Line != 12 {
		t.Errorf("ExpectedMaterials = %+v", s.ExpectedMaterials)
	}
	if len(s.ExpectedPredicates) != 1 {
		t.Fatalf("ExpectedPredicates = %+v", s.ExpectedPredicates)
	}
	pe := s.ExpectedPredicates[0]
	if pe.Type != "https://slsa.dev/provenance/v1" || len(pe.Expressions) != 2 || pe.Expressions[0].AllowMissing || !pe.Expressions[1].AllowMissing {
		t.Errorf("predicate = %+v", pe)
	}
	if l.Subject.Step != "build" || strings.Join(l.Subject.Patterns, ",") != "out.bin" {
		t.Errorf("Subject = %+v", l.Subject)
	}
}

func TestParseDefaults(t *testing.T) {
	l := mustParseFile(t, "testdata/good/minimal.yaml")
	s := l.Steps[0]
	if s.Threshold != 1 || s.AllowFailure || s.ExpectedCommand != nil || s.ExpectedMaterials != nil {
		t.Errorf("defaults: %+v", s)
	}
	if strings.Join(l.Subject.Patterns, ",") != "*" {
		t.Errorf("subject patterns default = %v", l.Subject.Patterns)
	}
	if l.Functionaries["ci"].Line != 4 || s.Line != 9 || l.ExpiresLine != 2 || l.SerialLine != 1 {
		t.Errorf("lines: functionary %d step %d expires %d serial %d", l.Functionaries["ci"].Line, s.Line, l.ExpiresLine, l.SerialLine)
	}
	if l.File != "testdata/good/minimal.yaml" {
		t.Errorf("File = %q", l.File)
	}
	if l2, err := Parse([]byte("x"), ""); err == nil || l2 != nil || !strings.HasPrefix(err.Error(), "layout:") {
		t.Errorf("unnamed file: %v", err)
	}
}

func TestParseFinetune(t *testing.T) {
	l := mustParseFile(t, "finetune.yaml")
	var names []string
	for _, s := range l.Steps {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, " "); got != "ingest clean scan-data train scan-model evaluate package" {
		t.Errorf("steps = %s", got)
	}
	if l.Subject.Step != "package" {
		t.Errorf("subject step = %s", l.Subject.Step)
	}
	if ws := l.LintAt(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)); len(ws) != 0 {
		t.Errorf("finetune.yaml has lint warnings: %+v", ws)
	}
	// The training expectations pass on the predicates README's shape.
	train := l.Step("train")
	if len(train.ExpectedPredicates) != 1 {
		t.Fatal("train has no provenance expectation")
	}
	pred := trainingPredicate("f11f19ff2865880ca1a8ce758292e54edab186e5faa65bc621d9b9c555924de4")
	subj := []any{map[string]any{"name": "model/model.safetensors", "digest": map[string]any{"sha256": strings.Repeat("7", 64)}}}
	for _, e := range train.ExpectedPredicates[0].Expressions {
		ok, err := e.Eval(pred, subj)
		if err != nil || !ok {
			t.Errorf("%s: %v %v", e.Source, ok, err)
		}
	}
	// Training must have run under an enforced network policy.
	isolation := train.ExpectedPredicates[0].Expressions[len(train.ExpectedPredicates[0].Expressions)-1]
	if !strings.Contains(isolation.Source, "mlattest.dev/isolation") {
		t.Fatalf("the last train expression is not the isolation one: %s", isolation.Source)
	}
	for _, tc := range []struct {
		name string
		iso  any // the isolation byproduct's annotations; nil: no byproduct
		want bool
	}{
		{"none enforced", map[string]any{"network": "none", "enforced": true}, true},
		{"allow-list enforced", map[string]any{"network": "allow", "enforced": true, "allow": []any{"10.0.0.7:443"}}, true},
		{"no isolation recorded", nil, false},
		{"asserted, not enforced", map[string]any{"network": "none", "enforced": false}, false},
		{"unrestricted", map[string]any{"network": "unrestricted", "enforced": true}, false},
	} {
		p := trainingPredicate(strings.Repeat("0", 64))
		bp := []any{map[string]any{"name": "mlattest.dev/exit-code", "annotations": map[string]any{"exitCode": 0.0}}}
		if tc.iso != nil {
			bp = append(bp, map[string]any{"name": "mlattest.dev/isolation", "annotations": tc.iso})
		}
		p["runDetails"].(map[string]any)["byproducts"] = bp
		if ok, err := isolation.Eval(p, subj); ok != tc.want || err != nil {
			t.Errorf("%s: isolation expression = %v, %v; want %v", tc.name, ok, err, tc.want)
		}
	}
	// Base models are the baseModels policy's: pinned by the owner.
	if bm := l.BaseModels; bm == nil || strings.Join(bm.PinSigners, ",") != "owner" || len(bm.Pins) != 0 {
		t.Errorf("baseModels = %+v", l.BaseModels)
	}
}

// trainingPredicate is the training provenance predicate of
// predicates/README.md as JSON decodes it.
func trainingPredicate(baseDigest string) map[string]any {
	return map[string]any{
		"buildDefinition": map[string]any{
			"buildType": "https://mlattest.dev/buildtypes/training/v1",
			"externalParameters": map[string]any{
				"entryPoint": []any{"python", "train.py"},
			},
			"internalParameters": map[string]any{"step": "train"},
			"resolvedDependencies": []any{
				map[string]any{"annotations": map[string]any{"role": "base-model"}, "digest": map[string]any{"sha256": baseDigest}, "uri": "hf://acme/base@v1/model.safetensors"},
				map[string]any{"annotations": map[string]any{"role": "dataset", "sourceClass": "synthetic", "collectedAt": "2026-11-01"}, "digest": map[string]any{"sha256": strings.Repeat("c", 64)}, "uri": "file://clean.jsonl"},
				map[string]any{"annotations": map[string]any{"role": "training-script", "dirty": false}, "digest": map[string]any{"gitCommit": strings.Repeat("9", 40)}, "uri": "git+https://github.com/acme/finetune"},
			},
		},
		"runDetails": map[string]any{
			"builder": map[string]any{"id": "https://ci.example/builder"},
			"byproducts": []any{
				map[string]any{"name": "mlattest.dev/exit-code", "annotations": map[string]any{"exitCode": 0.0}},
				map[string]any{"name": "mlattest.dev/isolation", "annotations": map[string]any{"network": "none", "enforced": true}},
			},
			"metadata": map[string]any{"invocationId": "run-1", "startedOn": "2026-11-01T00:00:00Z", "finishedOn": "2026-11-01T00:01:00Z"},
		},
	}
}

func TestParseLimits(t *testing.T) {
	big := make([]byte, MaxSize+1)
	for i := range big {
		big[i] = ' '
	}
	if _, err := Parse(big, "big.yaml"); err == nil || !strings.Contains(err.Error(), "larger than 1048576 bytes, the limit for a layout") {
		t.Errorf("oversized: %v", err)
	}
	if _, err := Parse([]byte("serial: \xff\n"), "utf.yaml"); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("invalid UTF-8: %v", err)
	}
	// Errors stop accumulating at maxErrors.
	var b strings.Builder
	b.WriteString("serial: 1\nexpires: \"2027-01-01T00:00:00Z\"\nfunctionaries:\n  ci: {keyless: {issuer: https://i.example, subject: a@b}}\nsteps:\n")
	for i := 0; i < 200; i++ {
		b.WriteString("  - {name: s, functionaries: [nobody]}\n")
	}
	b.WriteString("subject: {step: s}\n")
	_, err := Parse([]byte(b.String()), "many.yaml")
	var es Errors
	if !errors.As(err, &es) || len(es) != maxErrors+1 || es[len(es)-1].Msg != "too many errors" {
		t.Errorf("got %d errors, want %d ending in 'too many errors'", len(es), maxErrors+1)
	}
}

func TestMatchesIdentity(t *testing.T) {
	l := mustParseFile(t, "testdata/good/json.json")
	k := l.Functionaries["ci"].Keyless
	for _, c := range []struct {
		issuer, subject string
		want            bool
	}{
		{"https://issuer.example", "ci-1@example.com", true},
		{"https://issuerXexample", "ci-1@example.com", false},
		{"https://issuer.example", "ci-1@example.com.evil.invalid", false},
		{"https://issuer.example", "evil-ci-1@example.com", false},
		{"https://issuer.example.evil", "ci-1@example.com", false},
	} {
		if got := k.MatchesIdentity(c.issuer, c.subject); got != c.want {
			t.Errorf("MatchesIdentity(%q, %q) = %v", c.issuer, c.subject, got)
		}
	}
	// Built by hand: exact values, and regexps anchored on the fly.
	hand := &KeylessIdentity{Issuer: "https://i", SubjectRegexp: `a@b\.c`}
	if !hand.MatchesIdentity("https://i", "a@b.c") || hand.MatchesIdentity("https://i", "xa@b.c") || hand.MatchesIdentity("https://j", "a@b.c") {
		t.Error("hand-built identity")
	}
	// An identity with both or neither constraint matches nothing.
	for _, k := range []*KeylessIdentity{
		{Issuer: "https://i", IssuerRegexp: ".*", Subject: "a"},
		{Subject: "a"},
		{Issuer: "https://i", SubjectRegexp: "a)|(.*"},
	} {
		if k.MatchesIdentity("https://i", "a") {
			t.Errorf("%+v matched", k)
		}
	}
}

// TestParseJSONTabs: JSON indented with tabs (which YAML block style
// forbids) parses, because JSON is all flow style.
func TestParseJSONTabs(t *testing.T) {
	src := "{\n\t\"serial\": 1,\n\t\"expires\": \"2027-01-01T00:00:00Z\",\n\t\"functionaries\": {\n\t\t\"ci\": {\"keyless\": {\"issuer\": \"https://i.example\", \"subject\": \"ci@example.com\"}}\n\t},\n" +
		"\t\"steps\": [\n\t\t{\"name\": \"build\", \"functionaries\": [\"ci\"]}\n\t],\n\t\"subject\": {\"step\": \"build\"}\n}\n"
	l, err := Parse([]byte(src), "tabs.json")
	if err != nil {
		t.Fatal(err)
	}
	if l.Steps[0].Line != 8 {
		t.Errorf("step line = %d", l.Steps[0].Line)
	}
}

func TestParseBaseModels(t *testing.T) {
	data, err := os.ReadFile("testdata/good/base-models.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l, err := Parse(data, "base-models.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bm := l.BaseModels
	if bm == nil || len(bm.PinSigners) != 1 || bm.PinSigners[0] != "ci" || len(bm.Pins) != 1 {
		t.Fatalf("baseModels = %+v", bm)
	}
	p := bm.Pins[0]
	if p.URI() != "hf://acme/base@0123456789abcdef0123456789abcdef01234567" || len(p.Files) != 2 || p.Files[0].Path != "config.json" {
		t.Fatalf("pin = %+v", p)
	}
	var b strings.Builder
	l.Summary(&b)
	if !strings.Contains(b.String(), "hf://acme/base@0123456789abcdef0123456789abcdef01234567 (2 files, pinned here)") ||
		!strings.Contains(b.String(), "signed by: ci") {
		t.Fatalf("summary:\n%s", b.String())
	}
}

// TestReadFileSizeLimit: the file reader and the parser refuse the same
// sizes with the same words (layout check and verify both read with ReadFile).
func TestReadFileSizeLimit(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		size int
		want string
	}{
		{MaxSize, ""},
		{MaxSize + 1, "layout %s: larger than 1048576 bytes, the limit for a layout"},
	} {
		p := filepath.Join(dir, fmt.Sprintf("l%d.yaml", tc.size))
		if err := os.WriteFile(p, bytes.Repeat([]byte("#"), tc.size), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadFile(p)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%d bytes: %v", tc.size, err)
			}
			continue
		}
		if want := fmt.Sprintf(tc.want, p); err == nil || err.Error() != want {
			t.Errorf("%d bytes: err = %v, want %q", tc.size, err, want)
		}
	}
	if _, err := ReadFile(filepath.Join(dir, "missing.yaml")); err == nil || err.Error() != "layout "+filepath.Join(dir, "missing.yaml")+": no such file or directory" {
		t.Errorf("missing: %v", err)
	}
}
