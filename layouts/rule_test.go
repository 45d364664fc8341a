package layouts

import (
	"strings"
	"testing"
)

func TestParseRule(t *testing.T) {
	for _, c := range []struct {
		in   string
		want ArtifactRule
	}{
		{"CREATE out/*", ArtifactRule{Kind: RuleCreate, Pattern: "out/*"}},
		{"DELETE tmp.bin", ArtifactRule{Kind: RuleDelete, Pattern: "tmp.bin"}},
		{"MODIFY config.yaml", ArtifactRule{Kind: RuleModify, Pattern: "config.yaml"}},
		{"ALLOW *.md", ArtifactRule{Kind: RuleAllow, Pattern: "*.md"}},
		{"DISALLOW *", ArtifactRule{Kind: RuleDisallow, Pattern: "*"}},
		{"REQUIRE model.safetensors", ArtifactRule{Kind: RuleRequire, Pattern: "model.safetensors"}},
		{"  ALLOW\t[a-c]?.txt  ", ArtifactRule{Kind: RuleAllow, Pattern: "[a-c]?.txt"}},
		{"MATCH clean.jsonl WITH PRODUCTS FROM clean",
			ArtifactRule{Kind: RuleMatch, Pattern: "clean.jsonl", With: Products, FromStep: "clean"}},
		{"MATCH * WITH MATERIALS FROM scan-data",
			ArtifactRule{Kind: RuleMatch, Pattern: "*", With: Materials, FromStep: "scan-data"}},
		{"MATCH model.safetensors IN release WITH PRODUCTS FROM train",
			ArtifactRule{Kind: RuleMatch, Pattern: "model.safetensors", SourcePrefix: "release", With: Products, FromStep: "train"}},
		{"MATCH * WITH PRODUCTS IN model/ FROM train",
			ArtifactRule{Kind: RuleMatch, Pattern: "*", With: Products, DestPrefix: "model/", FromStep: "train"}},
		{"MATCH *.safetensors IN release/v1 WITH PRODUCTS IN out FROM train.v2",
			ArtifactRule{Kind: RuleMatch, Pattern: "*.safetensors", SourcePrefix: "release/v1", With: Products, DestPrefix: "out", FromStep: "train.v2"}},
		// Objects of a storage location are named by URI.
		{"MATCH * IN s3://bucket/data WITH PRODUCTS IN gs://b/out/ FROM prep",
			ArtifactRule{Kind: RuleMatch, Pattern: "*", SourcePrefix: "s3://bucket/data", With: Products, DestPrefix: "gs://b/out/", FromStep: "prep"}},
		// A pattern that spells a keyword is still a pattern.
		{"MATCH IN WITH PRODUCTS FROM a", ArtifactRule{Kind: RuleMatch, Pattern: "IN", With: Products, FromStep: "a"}},
		{"ALLOW FROM", ArtifactRule{Kind: RuleAllow, Pattern: "FROM"}},
		// REQUIRE names an artifact literally: no glob syntax to check.
		{"REQUIRE data[.jsonl", ArtifactRule{Kind: RuleRequire, Pattern: "data[.jsonl"}},
	} {
		got, err := ParseRule(c.in)
		if err != nil {
			t.Errorf("ParseRule(%q): %v", c.in, err)
			continue
		}
		c.want.Raw = strings.Join(strings.Fields(c.in), " ")
		if got != c.want {
			t.Errorf("ParseRule(%q) =\n %+v, want\n %+v", c.in, got, c.want)
		}
		// String gives the canonical form, which parses to the same rule.
		again, err := ParseRule(got.String())
		if err != nil || again.String() != got.String() {
			t.Errorf("String() %q does not round-trip: %v", got.String(), err)
		}
	}
}

func TestParseRuleErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "empty rule"},
		{"   ", "empty rule"},
		{"ALLOW", `rule "ALLOW": want ALLOW <pattern>`},
		{"ALLOW a b", `rule "ALLOW a b": want ALLOW <pattern>`},
		{"allow *", "keywords are upper case: ALLOW"},
		{"Match * WITH PRODUCTS FROM a", "keywords are upper case: MATCH"},
		{"COPY *", `unknown rule "COPY"`},
		{"ALLOW [", "bad pattern \"[\""},
		{"ALLOW a/[b-", "bad pattern"},
		{"MATCH", "want MATCH <pattern> [IN <prefix>] WITH"},
		{"MATCH *", "want WITH (MATERIALS|PRODUCTS) after the pattern"},
		{"MATCH * IN x", "want WITH (MATERIALS|PRODUCTS) after the pattern and IN x"},
		{"MATCH * WITH PRODUCTS", "want FROM <step> at the end"},
		{"MATCH * WITH PRODUCTS FROM", "want FROM <step> at the end"},
		{"MATCH * WITH PRODUCTS FROM a b", "want FROM <step> at the end"},
		{"MATCH * WITH ARTIFACTS FROM a", `want MATERIALS or PRODUCTS after WITH, not "ARTIFACTS"`},
		{"MATCH * WITH products FROM a", `want MATERIALS or PRODUCTS after WITH, not "products"`},
		{"MATCH * with PRODUCTS FROM a", "want WITH"},
		{"MATCH * WITH PRODUCTS from a", "want FROM"},
		{"MATCH * WITH PRODUCTS IN FROM a", "want FROM <step> at the end"},
		{"MATCH * WITH PRODUCTS FROM ../a", "FROM: invalid step name"},
		{"MATCH * IN /abs WITH PRODUCTS FROM a", "prefix must be relative"},
		{"MATCH * IN s3://b/a/../c WITH PRODUCTS FROM a", `has a ".." segment`},
		{"MATCH * IN a/../b WITH PRODUCTS FROM a", "prefix must not contain"},
		{"MATCH * WITH PRODUCTS IN a//b FROM a", "prefix must not contain"},
		{"MATCH [ WITH PRODUCTS FROM a", "bad pattern"},
		{"ALLOW " + strings.Repeat("a", maxRuleLen), "rule longer than"},
	} {
		_, err := ParseRule(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseRule(%q) = %v, want an error containing %q", c.in, err, c.want)
		}
	}
}
