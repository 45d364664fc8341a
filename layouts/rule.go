package layouts

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode"

	"github.com/mlattest/mlattest/predicates"
)

// maxRuleLen bounds one rule; real rules are a few dozen bytes.
const maxRuleLen = 4096

// ParseRule parses one in-toto artifact rule (keywords upper case, fields
// separated by white space):
//
//	MATCH <pattern> [IN <source-prefix>] WITH (MATERIALS|PRODUCTS) [IN <destination-prefix>] FROM <step>
//	CREATE|DELETE|MODIFY|ALLOW|DISALLOW|REQUIRE <pattern>
//
// Patterns are in-toto globs (path.Match syntax, but `*` also matches
// across `/`); their syntax is checked here. REQUIRE takes a literal
// artifact name, as in in-toto. Whether a MATCH step exists
// is checked by Parse, which knows the layout. Line is left zero.
func ParseRule(s string) (ArtifactRule, error) {
	if len(s) > maxRuleLen {
		return ArtifactRule{}, fmt.Errorf("rule longer than %d bytes", maxRuleLen)
	}
	raw := strings.TrimSpace(s)
	f := strings.FieldsFunc(raw, unicode.IsSpace)
	if len(f) == 0 {
		return ArtifactRule{}, fmt.Errorf("empty rule")
	}
	r := ArtifactRule{Kind: RuleKind(f[0]), Raw: strings.Join(f, " ")}
	bad := func(format string, args ...any) (ArtifactRule, error) {
		return ArtifactRule{}, fmt.Errorf("rule %q: "+format, append([]any{r.Raw}, args...)...)
	}
	switch r.Kind {
	case RuleCreate, RuleDelete, RuleModify, RuleAllow, RuleDisallow, RuleRequire:
		if len(f) != 2 {
			return bad("want %s <pattern>", f[0])
		}
		r.Pattern = f[1]
	case RuleMatch:
		// MATCH p [IN src] WITH KIND [IN dst] FROM step
		rest := f[1:]
		if len(rest) == 0 {
			return bad("want MATCH <pattern> [IN <prefix>] WITH (MATERIALS|PRODUCTS) [IN <prefix>] FROM <step>")
		}
		r.Pattern, rest = rest[0], rest[1:]
		if len(rest) >= 2 && rest[0] == "IN" {
			r.SourcePrefix, rest = rest[1], rest[2:]
		}
		if len(rest) < 2 || rest[0] != "WITH" {
			return bad("want WITH (MATERIALS|PRODUCTS) after the pattern%s", ifPrefix(r.SourcePrefix))
		}
		switch ArtifactKind(rest[1]) {
		case Materials, Products:
			r.With = ArtifactKind(rest[1])
		default:
			return bad("want MATERIALS or PRODUCTS after WITH, not %q", rest[1])
		}
		rest = rest[2:]
		if len(rest) >= 2 && rest[0] == "IN" {
			r.DestPrefix, rest = rest[1], rest[2:]
		}
		if len(rest) != 2 || rest[0] != "FROM" {
			return bad("want FROM <step> at the end")
		}
		r.FromStep = rest[1]
		if err := predicates.CheckStepName(r.FromStep); err != nil {
			return bad("FROM: %v", err)
		}
		for _, pre := range []string{r.SourcePrefix, r.DestPrefix} {
			if err := checkPrefix(pre); err != nil {
				return bad("IN %q: %v", pre, err)
			}
		}
	default:
		if k := strings.ToUpper(f[0]); k != f[0] && isKeyword(k) {
			return bad("keywords are upper case: %s", k)
		}
		return bad("unknown rule %q (want MATCH, CREATE, DELETE, MODIFY, ALLOW, DISALLOW or REQUIRE)", f[0])
	}
	// REQUIRE names one artifact literally (in-toto); the others are globs.
	if r.Kind != RuleRequire {
		if err := CheckPattern(r.Pattern); err != nil {
			return bad("%v", err)
		}
	}
	return r, nil
}

func ifPrefix(p string) string {
	if p != "" {
		return " and IN " + p
	}
	return ""
}

func isKeyword(k string) bool {
	switch RuleKind(k) {
	case RuleMatch, RuleCreate, RuleDelete, RuleModify, RuleAllow, RuleDisallow, RuleRequire:
		return true
	}
	return false
}

var uriPrefixRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// CheckPattern checks an artifact pattern's glob syntax (path.Match).
func CheckPattern(p string) error {
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Errorf("bad pattern %q: %w", p, err)
	}
	return nil
}

// checkPrefix accepts relative slash paths without . or .. elements (a
// trailing slash is allowed: in-toto joins prefix and name with one), or a
// URI prefix of artifacts named by URI (s3://bucket/data: objects of a
// storage location), which must itself be a valid artifact name.
func checkPrefix(p string) error {
	if p == "" {
		return nil
	}
	if uriPrefixRE.MatchString(p) {
		return predicates.CheckArtifactName(strings.TrimRight(p, "/"))
	}
	if strings.HasPrefix(p, "/") {
		return fmt.Errorf("prefix must be relative")
	}
	for _, el := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		if el == "" || el == "." || el == ".." {
			return fmt.Errorf("prefix must not contain empty, . or .. elements")
		}
	}
	return nil
}

// String returns the rule in its canonical written form.
func (r ArtifactRule) String() string {
	if r.Kind != RuleMatch {
		return string(r.Kind) + " " + r.Pattern
	}
	var b strings.Builder
	b.WriteString("MATCH " + r.Pattern)
	if r.SourcePrefix != "" {
		b.WriteString(" IN " + r.SourcePrefix)
	}
	b.WriteString(" WITH " + string(r.With))
	if r.DestPrefix != "" {
		b.WriteString(" IN " + r.DestPrefix)
	}
	b.WriteString(" FROM " + r.FromStep)
	return b.String()
}
