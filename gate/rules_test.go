package gate

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mlattest/mlattest/layouts"
)

// A flag name of its own: other files of this package may define -update.
var updateRules = flag.Bool("update-rules", false, "rewrite gate/testdata/rules golden files")

// rule builds an ArtifactRule from its text, so tables read like layouts.
// It is a test helper, not the layout parser: it trusts its input.
func rule(t testing.TB, raw string) layouts.ArtifactRule {
	t.Helper()
	f := strings.Fields(raw)
	r := layouts.ArtifactRule{Kind: layouts.RuleKind(f[0]), Pattern: f[1], Raw: raw}
	if r.Kind != layouts.RuleMatch {
		if len(f) != 2 {
			t.Fatalf("bad test rule %q", raw)
		}
		return r
	}
	f = f[2:]
	if len(f) >= 2 && f[0] == "IN" {
		r.SourcePrefix, f = f[1], f[2:]
	}
	if len(f) < 2 || f[0] != "WITH" {
		t.Fatalf("bad test rule %q", raw)
	}
	r.With, f = layouts.ArtifactKind(f[1]), f[2:]
	if len(f) >= 2 && f[0] == "IN" {
		r.DestPrefix, f = f[1], f[2:]
	}
	if len(f) != 2 || f[0] != "FROM" {
		t.Fatalf("bad test rule %q", raw)
	}
	r.FromStep = f[1]
	return r
}

func rules(t testing.TB, raws ...string) []layouts.ArtifactRule {
	out := make([]layouts.ArtifactRule, len(raws))
	for i, r := range raws {
		out[i] = rule(t, r)
	}
	return out
}

// Digests are short fake hex strings: the engine only compares them.
var (
	dA = DigestSet{"sha256": "aaaa"}
	dB = DigestSet{"sha256": "bbbb"}
	dC = DigestSet{"sha256": "cccc"}
)

type ruleCase struct {
	name   string
	kind   layouts.ArtifactKind // default PRODUCTS
	rules  []string
	self   StepArtifacts
	others map[string]StepArtifacts
	// wantArtifact is the artifact the failure must name ("" = must pass
	// unless wantFail); wantReason substrings must all be in the reason.
	wantFail     bool
	wantArtifact string
	wantRule     string
	wantReason   []string
}

func runRuleCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kind := tc.kind
			if kind == "" {
				kind = layouts.Products
			}
			err := ApplyRules("step", kind, rules(t, tc.rules...), tc.self, tc.others)
			fail := tc.wantFail || tc.wantArtifact != "" || len(tc.wantReason) > 0
			if !fail {
				if err != nil {
					t.Fatalf("ApplyRules: %v, want success", err)
				}
				return
			}
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("ApplyRules = %v, want a *RuleError", err)
			}
			if re.Step != "step" || re.Kind != kind {
				t.Errorf("RuleError step/kind = %q/%q", re.Step, re.Kind)
			}
			if re.Artifact != tc.wantArtifact {
				t.Errorf("artifact = %q, want %q (%v)", re.Artifact, tc.wantArtifact, err)
			}
			if tc.wantRule != "" && re.Rule != tc.wantRule {
				t.Errorf("rule = %q, want %q", re.Rule, tc.wantRule)
			}
			for _, s := range tc.wantReason {
				if !strings.Contains(re.Reason, s) {
					t.Errorf("reason %q lacks %q", re.Reason, s)
				}
			}
		})
	}
}

func TestRuleMatch(t *testing.T) {
	writeCode := map[string]StepArtifacts{"write-code": {Products: Artifacts{"foo.py": dA}}}
	runRuleCases(t, []ruleCase{
		{
			// The in-toto spec's example: package's material must be
			// write-code's product.
			name:   "spec example materials match products",
			kind:   layouts.Materials,
			rules:  []string{"MATCH foo.py WITH PRODUCTS FROM write-code", "DISALLOW *"},
			self:   StepArtifacts{Materials: Artifacts{"foo.py": dA}},
			others: writeCode,
		},
		{
			name:         "differing digest is not consumed; the DISALLOW fails and says why",
			kind:         layouts.Materials,
			rules:        []string{"MATCH foo.py WITH PRODUCTS FROM write-code", "DISALLOW *"},
			self:         StepArtifacts{Materials: Artifacts{"foo.py": dB}},
			others:       writeCode,
			wantArtifact: "foo.py",
			wantRule:     "DISALLOW *",
			wantReason: []string{
				"not consumed by any earlier rule",
				"MATCH foo.py WITH PRODUCTS FROM write-code selected it",
				"digest differs from PRODUCTS of step write-code: sha256 bbbb vs aaaa",
			},
		},
		{
			name:  "MATCH alone never fails",
			kind:  layouts.Materials,
			rules: []string{"MATCH foo.py WITH PRODUCTS FROM write-code"},
			self:  StepArtifacts{Materials: Artifacts{"foo.py": dB}}, others: writeCode,
		},
		{
			name:         "destination artifact missing",
			kind:         layouts.Materials,
			rules:        []string{"MATCH * WITH PRODUCTS FROM write-code", "DISALLOW *"},
			self:         StepArtifacts{Materials: Artifacts{"foo.py": dA, "bar.py": dA}},
			others:       writeCode,
			wantArtifact: "bar.py",
			wantReason:   []string{`"bar.py" is not among the PRODUCTS of step write-code`},
		},
		{
			name:         "FROM step absent matches nothing",
			kind:         layouts.Materials,
			rules:        []string{"MATCH * WITH PRODUCTS FROM nosuch", "DISALLOW *"},
			self:         StepArtifacts{Materials: Artifacts{"foo.py": dA}},
			others:       writeCode,
			wantArtifact: "foo.py",
			wantReason:   []string{"step nosuch has no verified artifacts"},
		},
		{
			name:   "FROM step absent with nil others",
			kind:   layouts.Materials,
			rules:  []string{"MATCH * WITH PRODUCTS FROM nosuch", "DISALLOW *"},
			self:   StepArtifacts{Materials: Artifacts{"foo.py": dA}},
			others: nil, wantArtifact: "foo.py",
		},
		{
			name:  "WITH MATERIALS of the other step",
			rules: []string{"MATCH *.json WITH MATERIALS FROM clean", "DISALLOW *"},
			self:  StepArtifacts{Products: Artifacts{"cfg.json": dC}},
			others: map[string]StepArtifacts{"clean": {
				Materials: Artifacts{"cfg.json": dC},
				Products:  Artifacts{"cfg.json": dA},
			}},
		},
		{
			name:  "WITH MATERIALS does not look at products",
			rules: []string{"MATCH *.json WITH MATERIALS FROM clean", "DISALLOW *"},
			self:  StepArtifacts{Products: Artifacts{"cfg.json": dA}},
			others: map[string]StepArtifacts{"clean": {
				Materials: Artifacts{"cfg.json": dC},
				Products:  Artifacts{"cfg.json": dA},
			}},
			wantArtifact: "cfg.json",
			wantReason:   []string{"digest differs from MATERIALS of step clean: sha256 aaaa vs cccc"},
		},
		{
			name:   "star crosses slashes",
			kind:   layouts.Materials,
			rules:  []string{"MATCH * WITH PRODUCTS FROM clean", "DISALLOW *"},
			self:   StepArtifacts{Materials: Artifacts{"data/train/a.jsonl": dA, "data/b.jsonl": dB}},
			others: map[string]StepArtifacts{"clean": {Products: Artifacts{"data/train/a.jsonl": dA, "data/b.jsonl": dB}}},
		},
		{
			name:  "source prefix is stripped before the pattern and the lookup",
			kind:  layouts.Materials,
			rules: []string{"MATCH foo.py IN src WITH PRODUCTS FROM write-code", "DISALLOW *"},
			self:  StepArtifacts{Materials: Artifacts{"src/foo.py": dA}}, others: writeCode,
		},
		{
			name:  "destination prefix is prepended for the lookup",
			kind:  layouts.Materials,
			rules: []string{"MATCH *.py WITH PRODUCTS IN build FROM compile", "DISALLOW *"},
			self:  StepArtifacts{Materials: Artifacts{"foo.py": dA, "lib/bar.py": dB}},
			others: map[string]StepArtifacts{"compile": {Products: Artifacts{
				"build/foo.py": dA, "build/lib/bar.py": dB, "foo.py": dC,
			}}},
		},
		{
			name:  "both prefixes, with trailing slashes normalised",
			kind:  layouts.Materials,
			rules: []string{"MATCH *.safetensors IN model/ WITH PRODUCTS IN out// FROM train", "DISALLOW *"},
			self:  StepArtifacts{Materials: Artifacts{"model/w.safetensors": dA}},
			others: map[string]StepArtifacts{"train": {Products: Artifacts{
				"out/w.safetensors": dA,
			}}},
		},
		{
			name:         "destination prefix: the unprefixed name does not count",
			kind:         layouts.Materials,
			rules:        []string{"MATCH foo.py WITH PRODUCTS IN build FROM write-code", "DISALLOW *"},
			self:         StepArtifacts{Materials: Artifacts{"foo.py": dA}},
			others:       writeCode,
			wantArtifact: "foo.py",
			wantReason:   []string{`"build/foo.py" is not among the PRODUCTS of step write-code`},
		},
		{
			name:         "artifact outside the source prefix is not selected",
			kind:         layouts.Materials,
			rules:        []string{"MATCH foo.py IN src WITH PRODUCTS FROM write-code", "DISALLOW *"},
			self:         StepArtifacts{Materials: Artifacts{"foo.py": dA}},
			others:       writeCode,
			wantArtifact: "foo.py",
			wantReason:   []string{"not consumed by any earlier rule"},
		},
		{
			name:         "prefix is a path component, not a string prefix",
			kind:         layouts.Materials,
			rules:        []string{"MATCH * IN src WITH PRODUCTS FROM write-code", "DISALLOW *"},
			self:         StepArtifacts{Materials: Artifacts{"srcfoo.py": dA}},
			others:       map[string]StepArtifacts{"write-code": {Products: Artifacts{"foo.py": dA, "srcfoo.py": dA}}},
			wantArtifact: "srcfoo.py",
		},
		{
			name:   "only matched artifacts are consumed",
			kind:   layouts.Materials,
			rules:  []string{"MATCH *.py WITH PRODUCTS FROM write-code", "DISALLOW *"},
			self:   StepArtifacts{Materials: Artifacts{"foo.py": dA, "notes.txt": dA}},
			others: map[string]StepArtifacts{"write-code": {Products: Artifacts{"foo.py": dA, "notes.txt": dA}}},
			// notes.txt has a twin with the same digest but the pattern
			// does not select it.
			wantArtifact: "notes.txt",
		},
		{
			name:  "a later MATCH can consume what an earlier one left",
			kind:  layouts.Materials,
			rules: []string{"MATCH * WITH PRODUCTS FROM a", "MATCH * WITH PRODUCTS FROM b", "DISALLOW *"},
			self:  StepArtifacts{Materials: Artifacts{"x": dA, "y": dB}},
			others: map[string]StepArtifacts{
				"a": {Products: Artifacts{"x": dA, "y": dC}},
				"b": {Products: Artifacts{"y": dB}},
			},
		},
		{
			name:   "MATCH FROM the step itself",
			rules:  []string{"MATCH * WITH MATERIALS FROM step", "DISALLOW *"},
			self:   StepArtifacts{Materials: Artifacts{"cfg": dA}, Products: Artifacts{"cfg": dA}},
			others: map[string]StepArtifacts{},
		},
		{
			name:   "digests compare case-insensitively",
			kind:   layouts.Materials,
			rules:  []string{"MATCH foo.py WITH PRODUCTS FROM write-code", "DISALLOW *"},
			self:   StepArtifacts{Materials: Artifacts{"foo.py": {"sha256": "AAAA"}}},
			others: writeCode,
		},
		{
			name:         "empty digests never match",
			kind:         layouts.Materials,
			rules:        []string{"MATCH foo.py WITH PRODUCTS FROM x", "DISALLOW *"},
			self:         StepArtifacts{Materials: Artifacts{"foo.py": {"sha256": ""}}},
			others:       map[string]StepArtifacts{"x": {Products: Artifacts{"foo.py": {"sha256": ""}}}},
			wantArtifact: "foo.py",
		},
		{
			name:   "URI names are not path-cleaned",
			kind:   layouts.Materials,
			rules:  []string{"MATCH hf://* WITH PRODUCTS FROM fetch", "DISALLOW *"},
			self:   StepArtifacts{Materials: Artifacts{"hf://org/model@rev/config.json": dA}},
			others: map[string]StepArtifacts{"fetch": {Products: Artifacts{"hf://org/model@rev/config.json": dA}}},
		},
		{
			name:  "empty artifact sets",
			kind:  layouts.Materials,
			rules: []string{"MATCH * WITH PRODUCTS FROM write-code", "DISALLOW *"},
		},
	})
}

func TestRuleCreate(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{
			name:  "spec example: write-code creates foo.py",
			rules: []string{"CREATE foo.py", "DISALLOW *"},
			self:  StepArtifacts{Products: Artifacts{"foo.py": dA}},
		},
		{
			name:         "a product that was a material is not created",
			rules:        []string{"CREATE *", "DISALLOW *"},
			self:         StepArtifacts{Materials: Artifacts{"old.py": dA}, Products: Artifacts{"old.py": dA, "new.py": dB}},
			wantArtifact: "old.py",
		},
		{
			name:         "modified product is not created either",
			rules:        []string{"CREATE *", "DISALLOW *"},
			self:         StepArtifacts{Materials: Artifacts{"old.py": dA}, Products: Artifacts{"old.py": dB}},
			wantArtifact: "old.py",
		},
		{
			name:         "CREATE on materials consumes nothing",
			kind:         layouts.Materials,
			rules:        []string{"CREATE *", "DISALLOW *"},
			self:         StepArtifacts{Materials: Artifacts{"in.txt": dA}},
			wantArtifact: "in.txt",
		},
		{
			name:         "pattern limits what is consumed",
			rules:        []string{"CREATE model/*.safetensors", "DISALLOW *"},
			self:         StepArtifacts{Products: Artifacts{"model/a/w.safetensors": dA, "model/w.bin": dB}},
			wantArtifact: "model/w.bin",
		},
		{name: "empty products", rules: []string{"CREATE *", "DISALLOW *"}},
	})
}

func TestRuleDelete(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{
			name:  "material absent from products is deleted",
			kind:  layouts.Materials,
			rules: []string{"DELETE *.tmp", "ALLOW keep.txt", "DISALLOW *"},
			self:  StepArtifacts{Materials: Artifacts{"x.tmp": dA, "keep.txt": dB}, Products: Artifacts{"keep.txt": dB}},
		},
		{
			name:         "material still a product is not deleted",
			kind:         layouts.Materials,
			rules:        []string{"DELETE *", "DISALLOW *"},
			self:         StepArtifacts{Materials: Artifacts{"keep.txt": dB}, Products: Artifacts{"keep.txt": dA}},
			wantArtifact: "keep.txt",
		},
		{
			name:         "DELETE on products consumes nothing",
			rules:        []string{"DELETE *", "DISALLOW *"},
			self:         StepArtifacts{Products: Artifacts{"out": dA}},
			wantArtifact: "out",
		},
	})
}

func TestRuleModify(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{
			name:  "changed digest is modified (products)",
			rules: []string{"MODIFY *.json", "DISALLOW *"},
			self:  StepArtifacts{Materials: Artifacts{"c.json": dA}, Products: Artifacts{"c.json": dB}},
		},
		{
			name:  "changed digest is modified (materials)",
			kind:  layouts.Materials,
			rules: []string{"MODIFY *.json", "DISALLOW *"},
			self:  StepArtifacts{Materials: Artifacts{"c.json": dA}, Products: Artifacts{"c.json": dB}},
		},
		{
			name:         "same digest is not modified",
			rules:        []string{"MODIFY *", "DISALLOW *"},
			self:         StepArtifacts{Materials: Artifacts{"c.json": dA}, Products: Artifacts{"c.json": dA}},
			wantArtifact: "c.json",
		},
		{
			name:         "created is not modified",
			rules:        []string{"MODIFY *", "DISALLOW *"},
			self:         StepArtifacts{Products: Artifacts{"n.json": dA}},
			wantArtifact: "n.json",
		},
	})
}

func TestRuleAllow(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{
			name:  "ALLOW before DISALLOW consumes",
			rules: []string{"ALLOW *.log", "DISALLOW *"},
			self:  StepArtifacts{Products: Artifacts{"run.log": dA, "logs/x.log": dA}},
		},
		{
			name:         "DISALLOW before ALLOW fails: order matters",
			rules:        []string{"DISALLOW *", "ALLOW *.log"},
			self:         StepArtifacts{Products: Artifacts{"run.log": dA}},
			wantArtifact: "run.log",
		},
		{
			name:         "ALLOW leaves unmatched artifacts queued",
			rules:        []string{"ALLOW *.log", "DISALLOW *"},
			self:         StepArtifacts{Products: Artifacts{"run.log": dA, "extra.bin": dB}},
			wantArtifact: "extra.bin",
			wantReason:   []string{"not consumed by any earlier rule"},
		},
		{
			name:  "artifacts left queued without DISALLOW are allowed",
			rules: []string{"ALLOW nothing"},
			self:  StepArtifacts{Products: Artifacts{"anything": dA}},
		},
		{name: "no rules at all", self: StepArtifacts{Products: Artifacts{"anything": dA}}},
	})
}

func TestRuleDisallow(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "empty set passes", rules: []string{"DISALLOW *"}},
		{
			name:  "pattern that selects nothing passes",
			rules: []string{"DISALLOW *.exe"},
			self:  StepArtifacts{Products: Artifacts{"model.bin": dA}},
		},
		{
			name:         "names the first offending artifact and counts the rest",
			rules:        []string{"DISALLOW *"},
			self:         StepArtifacts{Products: Artifacts{"c": dA, "a": dA, "b": dA}},
			wantArtifact: "a",
			wantReason:   []string{`(2 more disallowed: "b", "c")`},
		},
		{
			name:   "prefers naming the artifact an earlier MATCH rejected",
			rules:  []string{"MATCH * WITH PRODUCTS FROM up", "DISALLOW *"},
			self:   StepArtifacts{Products: Artifacts{"a": dA, "z": dB}},
			others: map[string]StepArtifacts{"up": {Products: Artifacts{"z": dA}}},
			// "a" sorts first but "z" is the one whose digest changed.
			wantArtifact: "z",
			wantReason:   []string{"digest differs", `(1 more disallowed: "a")`},
		},
		{
			name:         "DISALLOW with a character class",
			rules:        []string{"ALLOW model-0000[1-3].bin", "DISALLOW model-*"},
			self:         StepArtifacts{Products: Artifacts{"model-00001.bin": dA, "model-00004.bin": dA}},
			wantArtifact: "model-00004.bin",
		},
		{
			name:  "DISALLOW does not consume",
			rules: []string{"DISALLOW *.exe", "ALLOW *", "DISALLOW *"},
			self:  StepArtifacts{Products: Artifacts{"x.bin": dA}},
		},
		{
			name:         "rule rendered when Raw is empty",
			rules:        []string{"DISALLOW *"},
			self:         StepArtifacts{Products: Artifacts{"x": dA}},
			wantArtifact: "x", wantRule: "DISALLOW *",
		},
	})
}

func TestRuleRequire(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{
			name:  "present",
			rules: []string{"REQUIRE model.safetensors"},
			self:  StepArtifacts{Products: Artifacts{"model.safetensors": dA}},
		},
		{
			name:         "missing",
			rules:        []string{"REQUIRE model.safetensors"},
			self:         StepArtifacts{Products: Artifacts{"model.bin": dA}},
			wantArtifact: "model.safetensors",
			wantReason:   []string{"required artifact is not among the step's products"},
		},
		{
			name:         "missing from an empty set",
			kind:         layouts.Materials,
			rules:        []string{"REQUIRE data/train.jsonl"},
			wantArtifact: "data/train.jsonl",
			wantReason:   []string{"not among the step's materials"},
		},
		{
			name:         "the name is literal, not a pattern",
			rules:        []string{"REQUIRE *.bin"},
			self:         StepArtifacts{Products: Artifacts{"a.bin": dA}},
			wantArtifact: "*.bin",
		},
		{
			name:  "a literal name with glob characters",
			rules: []string{"REQUIRE weird[1].bin"},
			self:  StepArtifacts{Products: Artifacts{"weird[1].bin": dA}},
		},
		{
			name:  "checks the full set, not the queue, so an earlier ALLOW does not hide it",
			rules: []string{"ALLOW *", "REQUIRE model.safetensors"},
			self:  StepArtifacts{Products: Artifacts{"model.safetensors": dA}},
		},
		{
			name:         "materials are not products",
			rules:        []string{"REQUIRE in.txt"},
			self:         StepArtifacts{Materials: Artifacts{"in.txt": dA}},
			wantArtifact: "in.txt",
		},
	})
}

func TestRuleBadInput(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{
			name:       "malformed pattern fails even with nothing to match",
			rules:      []string{"ALLOW [a-"},
			wantFail:   true,
			wantReason: []string{`bad pattern "[a-"`},
		},
		{
			name:       "malformed DISALLOW pattern is not a silent pass",
			rules:      []string{"DISALLOW data/[*"},
			self:       StepArtifacts{Products: Artifacts{"data/[x": dA}},
			wantFail:   true,
			wantReason: []string{"bad pattern"},
		},
		{
			name:       "unknown rule kind",
			rules:      []string{"KEEP *"},
			wantFail:   true,
			wantReason: []string{`unknown rule kind "KEEP"`},
		},
	})
	err := ApplyRules("s", "BOTH", nil, StepArtifacts{}, nil)
	var re *RuleError
	if !errors.As(err, &re) || !strings.Contains(re.Reason, "unknown artifact kind") {
		t.Errorf("ApplyRules with kind BOTH = %v", err)
	}
}

// TestRuleSpecLayout runs the in-toto specification's demo supply chain
// (write-code → package) through both rule kinds, then shows the attack the
// rules exist for: foo.py altered between the steps.
func TestRuleSpecLayout(t *testing.T) {
	writeCode := StepArtifacts{Products: Artifacts{"foo.py": dA}}
	pkg := StepArtifacts{
		Materials: Artifacts{"foo.py": dA},
		Products:  Artifacts{"foo.py": dA, "foo.tar.gz": dB},
	}
	steps := map[string]StepArtifacts{"write-code": writeCode, "package": pkg}
	check := func(step string, kind layouts.ArtifactKind, self StepArtifacts, rs ...string) error {
		return ApplyRules(step, kind, rules(t, rs...), self, steps)
	}
	if err := check("write-code", layouts.Products, writeCode, "CREATE foo.py", "DISALLOW *"); err != nil {
		t.Fatal(err)
	}
	if err := check("package", layouts.Materials, pkg, "MATCH foo.py WITH PRODUCTS FROM write-code", "DISALLOW *"); err != nil {
		t.Fatal(err)
	}
	if err := check("package", layouts.Products, pkg, "CREATE foo.tar.gz", "ALLOW foo.py", "DISALLOW *"); err != nil {
		t.Fatal(err)
	}
	pkg.Materials = Artifacts{"foo.py": dC}
	err := check("package", layouts.Materials, pkg, "MATCH foo.py WITH PRODUCTS FROM write-code", "DISALLOW *")
	if err == nil || !strings.Contains(err.Error(), "digest differs from PRODUCTS of step write-code: sha256 cccc vs aaaa") {
		t.Fatalf("tampered foo.py: %v", err)
	}
}

// TestRuleErrorsGolden pins the full messages deployers read.
func TestRuleErrorsGolden(t *testing.T) {
	cases := []struct {
		kind   layouts.ArtifactKind
		rules  []string
		self   StepArtifacts
		others map[string]StepArtifacts
	}{
		{layouts.Materials, []string{"MATCH data/* WITH PRODUCTS FROM clean", "DISALLOW *"},
			StepArtifacts{Materials: Artifacts{"data/train.jsonl": dB, "train.py": dC}},
			map[string]StepArtifacts{"clean": {Products: Artifacts{"data/train.jsonl": dA}}}},
		{layouts.Materials, []string{"MATCH * IN in WITH PRODUCTS IN out FROM absent", "DISALLOW in/*"},
			StepArtifacts{Materials: Artifacts{"in/a": dA}}, nil},
		{layouts.Products, []string{"CREATE model/*", "DISALLOW *"},
			StepArtifacts{Products: Artifacts{"model/w.bin": dA, "extra.bin": dB}}, nil},
		{layouts.Products, []string{"REQUIRE model/config.json"},
			StepArtifacts{Products: Artifacts{"model/w.bin": dA}}, nil},
		{layouts.Products, []string{"ALLOW [z-a]"}, StepArtifacts{}, nil},
	}
	var b strings.Builder
	for _, c := range cases {
		err := ApplyRules("train", c.kind, rules(t, c.rules...), c.self, c.others)
		if err == nil {
			t.Fatalf("rules %q passed, want a failure", c.rules)
		}
		b.WriteString(err.Error() + "\n")
	}
	for _, c := range []struct{ exp, act []string }{
		{[]string{"python", "train.py", "--config", "*.yaml"}, []string{"python", "evil.py", "--config", "a.yaml"}},
		{[]string{"python", "train.py"}, []string{"python", "train.py", "--resume"}},
		{[]string{"python", "[x"}, []string{"python", "x"}},
	} {
		b.WriteString(MatchCommand(c.exp, c.act).Error() + "\n")
	}
	golden(t, filepath.Join("testdata", "rules", "errors.golden"), b.String())
}

func golden(t *testing.T, file, got string) {
	t.Helper()
	if *updateRules {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update-rules to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update-rules to accept):\n got:\n%s\nwant:\n%s", file, got, want)
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		pattern, name string
		want          bool
		wantErr       bool
	}{
		{"*", "", true, false},
		{"*", "a/b/c", true, false},
		{"*.py", "src/lib/foo.py", true, false},
		{"src/*", "src/a/b", true, false},
		{"src/*/x", "src/a/b/x", true, false},
		{"*/*", "a", false, false},
		{"?", "/", true, false},
		{"a?c", "a/c", true, false},
		{"a?c", "abbc", false, false},
		{"?", "é", true, false},
		{"[abc]", "b", true, false},
		{"[a-c]x", "cx", true, false},
		{"[!a-c]", "d", true, false},
		{"[!a-c]", "a", false, false},
		{"[^a-c]", "/", true, false},
		{"[]a]", "]", false, true},
		{"[\\]a]", "]", true, false},
		{"[\\-]", "-", true, false},
		{"\\*", "*", true, false},
		{"\\*", "x", false, false},
		{"a*b*c", "axxbyyc", true, false},
		{"a*b*c", "axxbyy", false, false},
		{"*a*a*a*a*b", strings.Repeat("a", 60), false, false},
		{"**", "x/y", true, false},
		{"", "", true, false},
		{"", "a", false, false},
		{"abc", "ab", false, false},
		{"ab", "abc", false, false},
		{"[", "", false, true},
		{"[a", "a", false, true},
		{"[a-", "a", false, true},
		{"[]", "a", false, true},
		{"[!]", "a", false, true},
		{"[z-a]", "b", false, true},
		{"x\\", "x", false, true},
		// Errors do not depend on the name: path.Match reports a bad
		// pattern only if it gets that far.
		{"a[", "b", false, true},
	}
	for _, c := range cases {
		got, err := matchGlob(c.pattern, c.name)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("matchGlob(%q, %q) = %v, %v; want %v, err %v", c.pattern, c.name, got, err, c.want, c.wantErr)
		}
	}
}

// TestGlobDiffersFromPathMatch pins where artifact patterns deliberately
// depart from path.Match (used for commands).
func TestGlobDiffersFromPathMatch(t *testing.T) {
	for _, c := range []struct{ pattern, name string }{
		{"*", "a/b"},
		{"*.py", "dir/x.py"},
		{"a?b", "a/b"},
		{"data/*", "data/x/y.jsonl"},
		{"[!x]", "/"},
	} {
		g, _ := matchGlob(c.pattern, c.name)
		p, _ := path.Match(c.pattern, c.name)
		if !g || p {
			t.Errorf("%q vs %q: glob %v, path.Match %v; want true, false", c.pattern, c.name, g, p)
		}
	}
}

func TestMatchCommand(t *testing.T) {
	cases := []struct {
		name             string
		exp, act         []string
		wantIdx          int // -1: match
		wantExp, wantAct string
	}{
		{"equal", []string{"python", "train.py"}, []string{"python", "train.py"}, -1, "", ""},
		{"both empty", nil, []string{}, -1, "", ""},
		{"glob element", []string{"python", "train.py", "--seed=*"}, []string{"python", "train.py", "--seed=42"}, -1, "", ""},
		{"class element", []string{"python[23]"}, []string{"python3"}, -1, "", ""},
		{"differs", []string{"python", "train.py"}, []string{"python", "evil.py"}, 1, "train.py", "evil.py"},
		{"star does not cross slash", []string{"python", "*.py"}, []string{"python", "../x/train.py"}, 1, "*.py", "../x/train.py"},
		{"actual longer", []string{"python"}, []string{"python", "-c"}, 1, "", "-c"},
		{"actual shorter", []string{"python", "train.py"}, []string{"python"}, 1, "train.py", ""},
		{"expected empty", []string{}, []string{"sh"}, 0, "", "sh"},
		{"bad glob", []string{"[x"}, []string{"x"}, 0, "[x", "x"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := MatchCommand(c.exp, c.act)
			if c.wantIdx < 0 {
				if err != nil {
					t.Fatalf("MatchCommand: %v", err)
				}
				return
			}
			var ce *CommandError
			if !errors.As(err, &ce) {
				t.Fatalf("MatchCommand = %v, want *CommandError", err)
			}
			if ce.Index != c.wantIdx || ce.Expected != c.wantExp || ce.Actual != c.wantAct {
				t.Errorf("CommandError = %+v", ce)
			}
			if ce.ExpectedLen != len(c.exp) || ce.ActualLen != len(c.act) {
				t.Errorf("lengths = %d, %d", ce.ExpectedLen, ce.ActualLen)
			}
		})
	}
}

// FuzzGlob checks that the matcher never panics and agrees with an
// independent translation of the pattern to a regexp, and that it accepts
// everything path.Match accepts (its wildcards only match more; "[!" aside,
// which path.Match reads as a literal "!").
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{
		{"*", "a/b"}, {"a?c", "a/c"}, {"[!a-c]x", "dx"}, {"[^/]", "/"},
		{"\\*", "*"}, {"*a*a*b", "aaaaaaaaaaaaaaaa"}, {"[", ""}, {"é?", "éé"},
		{"data/**/x.jsonl", "data/1/2/x.jsonl"}, {"[\\]-\\^]", "^"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		got, err := matchGlob(pattern, name)
		if err != nil {
			if got {
				t.Fatalf("matchGlob(%q, %q) = true with error %v", pattern, name, err)
			}
			return
		}
		if want, ok := globOracle(pattern, name); ok && got != want {
			t.Fatalf("matchGlob(%q, %q) = %v, oracle %v", pattern, name, got, want)
		}
		// path.Match negates classes only with "^"; "[!" means a literal "!".
		if strings.Contains(pattern, "!") {
			return
		}
		if pm, perr := path.Match(pattern, name); perr == nil && pm && !got {
			t.Fatalf("path.Match(%q, %q) = true but matchGlob = false", pattern, name)
		}
	})
}

// globOracle matches through the standard regexp engine, for FuzzGlob. It
// reports ok=false where the translation does not apply (malformed pattern,
// invalid UTF-8, which regexp does not accept in patterns).
func globOracle(pattern, name string) (match, ok bool) {
	if !utf8.ValidString(pattern) || !utf8.ValidString(name) {
		return false, false
	}
	toks, err := compileGlob(pattern)
	if err != nil {
		return false, false
	}
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for _, t := range toks {
		switch t.kind {
		case globLit:
			b.WriteString(regexp.QuoteMeta(t.lit))
		case globAny:
			b.WriteString(".")
		case globStar:
			b.WriteString(".*")
		case globClass:
			b.WriteString("[")
			if t.neg {
				b.WriteString("^")
			}
			for _, r := range t.ranges {
				fmt.Fprintf(&b, `\x{%x}-\x{%x}`, r[0], r[1])
			}
			b.WriteString("]")
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return false, false
	}
	return re.MatchString(name), true
}

// TestRulesNamesAndDigests: names are never cleaned (so `*` has no ".." to
// match across: ApplyRules refuses such a name before any rule), and MATCH
// compares every digest algorithm either side lists.
func TestRulesNamesAndDigests(t *testing.T) {
	d512 := func(base DigestSet, v string) DigestSet {
		out := DigestSet{"sha512": v}
		for k, x := range base {
			out[k] = x
		}
		return out
	}
	train := map[string]StepArtifacts{"train": {Products: Artifacts{"model/w.bin": d512(dA, "5555")}}}
	runRuleCases(t, []ruleCase{
		{name: "* cannot match across a .. segment", rules: []string{"CREATE release/docs/*", "DISALLOW *"},
			self:         StepArtifacts{Products: Artifacts{"release/docs/../w.bin": dA}},
			wantArtifact: "release/docs/../w.bin", wantReason: []string{`has a ".." segment`}},
		{name: "ALLOW cannot take a . segment", kind: layouts.Materials, rules: []string{"ALLOW base/*"},
			self:         StepArtifacts{Materials: Artifacts{"base/./x": dA}},
			wantArtifact: "base/./x", wantReason: []string{`"." segment`}},
		{name: "NFD names are refused, not normalised", rules: []string{"ALLOW *"},
			self:         StepArtifacts{Products: Artifacts{"cafe\u0301.md": dA}},
			wantArtifact: "cafe\u0301.md", wantReason: []string{"not NFC"}},
		{name: "URIs and manifests are names", kind: layouts.Materials, rules: []string{"ALLOW *"},
			self: StepArtifacts{Materials: Artifacts{"hf://org/m@r/config.json": dA, "data/": dB}}},
		{name: "MATCH with the same sha256 and sha512", kind: layouts.Materials, rules: []string{"MATCH * WITH PRODUCTS FROM train", "DISALLOW *"},
			self: StepArtifacts{Materials: Artifacts{"model/w.bin": d512(dA, "5555")}}, others: train},
		{name: "MATCH with a different sha512", kind: layouts.Materials, rules: []string{"MATCH * WITH PRODUCTS FROM train", "DISALLOW *"},
			self: StepArtifacts{Materials: Artifacts{"model/w.bin": d512(dA, "6666")}}, others: train,
			wantArtifact: "model/w.bin", wantReason: []string{"digest differs from PRODUCTS of step train: sha512 6666 vs 5555"}},
		{name: "MATCH with a sha512 only one side lists", kind: layouts.Materials, rules: []string{"MATCH * WITH PRODUCTS FROM train", "DISALLOW *"},
			self: StepArtifacts{Materials: Artifacts{"model/w.bin": dA}}, others: train,
			wantArtifact: "model/w.bin", wantReason: []string{"sha512 listed on one side only"}},
		{name: "MODIFY sees a change in any shared algorithm", rules: []string{"MODIFY *", "DISALLOW *"},
			self: StepArtifacts{Materials: Artifacts{"w.bin": d512(dA, "5555")}, Products: Artifacts{"w.bin": d512(dA, "6666")}}},
		{name: "MODIFY does not take an unchanged file", rules: []string{"MODIFY *", "DISALLOW *"},
			self:         StepArtifacts{Materials: Artifacts{"w.bin": d512(dA, "5555")}, Products: Artifacts{"w.bin": dA}},
			wantArtifact: "w.bin"},
	})
}
