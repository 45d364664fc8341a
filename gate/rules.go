package gate

// The in-toto artifact-rule engine (in-toto spec v1.0, "artifact rules").
//
// Each step's expectedMaterials and expectedProducts rules run over a queue
// that starts as all of the step's artifacts of that kind; rules apply in
// order and each consuming rule removes the queued artifacts it accepts.
// Only DISALLOW and REQUIRE fail; an artifact still queued at the end is
// allowed. Deliberate choices where in-toto implementations differ or are
// silent, so a layout means one thing:
//   - Patterns are fnmatch-style globs in which `*` and `?` also match "/"
//     (see matchGlob); a malformed pattern is a rule failure, never a silent
//     non-match.
//   - An IN prefix is normalised by dropping trailing "/"; an artifact is in
//     scope of the rule only if its name starts with prefix + "/" (in-toto-
//     golang instead matches un-prefixed names as if the prefix were absent).
//   - REQUIRE checks the step's full artifact set of that kind, not what is
//     still queued, so its outcome does not depend on rule order.
//   - Artifact names are compared exactly and never cleaned: a name must
//     already be a clean relative path or a URI (predicates.CheckArtifactName),
//     and ApplyRules rejects any other, so no name has a ".." segment for a
//     `*` to match across.
//   - Digests compare per algorithm: a MATCH pairs artifacts whose digest
//     sets list the same algorithms with the same values (a digest only one
//     side lists could not be checked); MODIFY sees a change when an
//     algorithm both list differs.

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/mlattest/mlattest/layouts"
	"github.com/mlattest/mlattest/predicates"
)

// Artifacts maps artifact names (clean slash paths or URIs) to their digest
// sets.
type Artifacts map[string]DigestSet

// StepArtifacts are one verified step's materials and products.
type StepArtifacts struct {
	Materials Artifacts
	Products  Artifacts
}

// RuleError is an artifact rule that failed: it names the step, the rule and
// the artifact.
type RuleError struct {
	Step     string
	Kind     layouts.ArtifactKind // which of the step's artifacts the rule applied to
	Rule     string               // the rule as written
	Artifact string               // the offending artifact, if one
	Reason   string
}

func (e *RuleError) Error() string {
	msg := "step " + e.Step + ": expected " + string(e.Kind) + " rule \"" + e.Rule + "\""
	if e.Artifact != "" {
		msg += ": artifact " + e.Artifact
	}
	return msg + ": " + e.Reason
}

// ApplyRules applies a step's expectedMaterials (kind == layouts.Materials)
// or expectedProducts rules to its artifacts, in order, with in-toto's
// semantics; others holds the artifacts of the layout's other steps (for
// MATCH ... FROM). It returns a *RuleError for the first failing rule.
//
// MATCH never fails by itself: an artifact it cannot pair with the FROM
// step's artifact of the same digest stays queued, and a later DISALLOW
// fails on it. So that such a failure says why, the reason then also names
// the earlier MATCH that selected the artifact and what it found instead
// (another digest, no such artifact, or no such step).
func ApplyRules(step string, kind layouts.ArtifactKind, rules []layouts.ArtifactRule, self StepArtifacts, others map[string]StepArtifacts) error {
	var all Artifacts
	switch kind {
	case layouts.Materials:
		all = self.Materials
	case layouts.Products:
		all = self.Products
	default:
		return &RuleError{Step: step, Kind: kind, Reason: fmt.Sprintf("unknown artifact kind %q (want %s or %s)", kind, layouts.Materials, layouts.Products)}
	}

	queue := make(map[string]bool, len(all))
	for _, name := range slices.Sorted(maps.Keys(all)) {
		if err := predicates.CheckArtifactName(name); err != nil {
			return &RuleError{Step: step, Kind: kind, Artifact: name, Reason: err.Error()}
		}
		queue[name] = true
	}
	// misses records, per artifact, why the first MATCH that selected it did
	// not consume it, for the DISALLOW message.
	misses := map[string]matchMiss{}

	for _, rule := range rules {
		fail := func(artifact, reason string) error {
			return &RuleError{Step: step, Kind: kind, Rule: ruleText(rule), Artifact: artifact, Reason: reason}
		}
		if rule.Kind == layouts.RuleRequire {
			// in-toto: REQUIRE takes a literal name, not a pattern.
			if _, ok := all[rule.Pattern]; !ok {
				return fail(rule.Pattern, fmt.Sprintf("required artifact is not among the step's %s", strings.ToLower(string(kind))))
			}
			continue
		}
		pat, err := compileGlob(rule.Pattern)
		if err != nil {
			return fail("", fmt.Sprintf("bad pattern %q: %v", rule.Pattern, err))
		}
		if rule.Kind == layouts.RuleDisallow {
			hits := selectQueued(queue, pat, "")
			if len(hits) == 0 {
				continue
			}
			// Name the artifact an earlier MATCH rejected for its digest if
			// there is one (the likelier tampering), else one it found no
			// counterpart for: their reasons say most.
			first := 0
			for i, h := range hits {
				if misses[h].rank > misses[hits[first]].rank {
					first = i
				}
			}
			name := hits[first]
			rest := append(append([]string{}, hits[:first]...), hits[first+1:]...)
			reason := "not consumed by any earlier rule"
			if m, ok := misses[name]; ok {
				reason += "; " + m.text
			}
			if len(rest) > 0 {
				reason += fmt.Sprintf(" (%d more disallowed: %s)", len(rest), listNames(rest, 5))
			}
			return fail(name, reason)
		}

		var consumed []string
		switch rule.Kind {
		case layouts.RuleAllow:
			consumed = selectQueued(queue, pat, "")
		case layouts.RuleCreate:
			// Created: a product that is not a material. For material rules
			// this is never true, so CREATE consumes nothing there.
			for _, name := range selectQueued(queue, pat, "") {
				_, isMat := self.Materials[name]
				_, isProd := self.Products[name]
				if kind == layouts.Products && isProd && !isMat {
					consumed = append(consumed, name)
				}
			}
		case layouts.RuleDelete:
			// Deleted: a material that is not a product; only material rules.
			for _, name := range selectQueued(queue, pat, "") {
				_, isMat := self.Materials[name]
				_, isProd := self.Products[name]
				if kind == layouts.Materials && isMat && !isProd {
					consumed = append(consumed, name)
				}
			}
		case layouts.RuleModify:
			for _, name := range selectQueued(queue, pat, "") {
				m, isMat := self.Materials[name]
				p, isProd := self.Products[name]
				if _, same := m.agree(p); isMat && isProd && !same {
					consumed = append(consumed, name)
				}
			}
		case layouts.RuleMatch:
			consumed = applyMatch(step, rule, pat, all, queue, self, others, misses)
		default:
			return fail("", fmt.Sprintf("unknown rule kind %q", rule.Kind))
		}
		for _, name := range consumed {
			delete(queue, name)
		}
	}
	return nil
}

// matchMiss is why a MATCH did not consume an artifact; rank 2 (a digest
// differs) says more than rank 1 (no counterpart at all).
type matchMiss struct {
	text string
	rank int
}

// applyMatch returns the queued artifacts the MATCH rule consumes, and notes
// in misses why a selected artifact was not consumed.
func applyMatch(step string, rule layouts.ArtifactRule, pat []globTok, all Artifacts, queue map[string]bool, self StepArtifacts, others map[string]StepArtifacts, misses map[string]matchMiss) []string {
	src := normPrefix(rule.SourcePrefix)
	dst := normPrefix(rule.DestPrefix)
	with := rule.With
	if with == "" {
		with = layouts.Products
	}
	from, haveStep := others[rule.FromStep]
	if !haveStep && rule.FromStep == step {
		from, haveStep = self, true
	}
	var target Artifacts
	if with == layouts.Materials {
		target = from.Materials
	} else {
		target = from.Products
	}
	where := fmt.Sprintf("%s of step %s", with, rule.FromStep)
	note := func(name string, rank int, why string) {
		if _, ok := misses[name]; !ok {
			misses[name] = matchMiss{fmt.Sprintf("%s selected it but %s", ruleText(rule), why), rank}
		}
	}

	var consumed []string
	for _, name := range selectQueued(queue, pat, src) {
		if !haveStep {
			note(name, 1, fmt.Sprintf("step %s has no verified artifacts to match against", rule.FromStep))
			continue
		}
		base := name
		if src != "" {
			base = strings.TrimPrefix(name, src+"/")
		}
		dstName := base
		if dst != "" {
			dstName = dst + "/" + base
		}
		want, ok := target[dstName]
		if !ok {
			note(name, 1, fmt.Sprintf("%q is not among the %s", dstName, where))
			continue
		}
		if d := all[name].mismatch(want); d != "" {
			note(name, 2, fmt.Sprintf("digest differs from %s: %s", where, d))
			continue
		}
		consumed = append(consumed, name)
	}
	return consumed
}

// selectQueued returns, sorted, the queued artifacts whose name matches
// pattern; with a prefix, only names under prefix+"/" qualify and the
// pattern applies to the rest of the name.
func selectQueued(queue map[string]bool, pat []globTok, prefix string) []string {
	var out []string
	for name := range queue {
		rel := name
		if prefix != "" {
			if !strings.HasPrefix(name, prefix+"/") {
				continue
			}
			rel = name[len(prefix)+1:]
		}
		if matchToks(pat, rel) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// normPrefix drops the trailing slashes of an IN prefix; "" means none.
func normPrefix(p string) string { return strings.TrimRight(p, "/") }

func quote(s string) string { return fmt.Sprintf("%q", s) }

// listNames renders up to max names, then a count of the rest.
func listNames(names []string, max int) string {
	q := make([]string, 0, max)
	for i, n := range names {
		if i == max {
			return strings.Join(q, ", ") + fmt.Sprintf(", … %d more", len(names)-max)
		}
		q = append(q, quote(n))
	}
	return strings.Join(q, ", ")
}

// ruleText is the rule as written, or a canonical rendering when the rule
// was built without its source text.
func ruleText(r layouts.ArtifactRule) string {
	if r.Raw != "" {
		return r.Raw
	}
	if r.Kind != layouts.RuleMatch {
		return string(r.Kind) + " " + r.Pattern
	}
	s := "MATCH " + r.Pattern
	if r.SourcePrefix != "" {
		s += " IN " + r.SourcePrefix
	}
	with := r.With
	if with == "" {
		with = layouts.Products
	}
	s += " WITH " + string(with)
	if r.DestPrefix != "" {
		s += " IN " + r.DestPrefix
	}
	return s + " FROM " + r.FromStep
}

// CommandError is a recorded argv that does not match a layout's
// expectedCommand. Index is the first element that differs (it may be past
// the end of the shorter list).
type CommandError struct {
	Index    int
	Expected string // "" with HaveExpected false when expected is shorter
	Actual   string
	// HaveExpected and HaveActual say whether the lists reach Index.
	HaveExpected, HaveActual bool
	ExpectedLen, ActualLen   int
	Reason                   string
}

func (e *CommandError) Error() string {
	exp, act := "(none)", "(none)"
	if e.HaveExpected {
		exp = quote(e.Expected)
	}
	if e.HaveActual {
		act = quote(e.Actual)
	}
	msg := fmt.Sprintf("command element %d: expected %s, got %s", e.Index, exp, act)
	if e.ExpectedLen != e.ActualLen {
		msg += fmt.Sprintf(" (expected %d elements, got %d)", e.ExpectedLen, e.ActualLen)
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// MatchCommand compares a recorded argv with a layout's expectedCommand,
// element by element; each expected element is a path.Match glob.
//
// Unlike artifact patterns, these globs use path.Match semantics: `*` and
// `?` do not match "/", so "*.py" matches "train.py" but not
// "../evil/train.py", and a path argument must be spelled with its
// directories ("scripts/*.py"). A malformed glob is an error naming it.
func MatchCommand(expected, actual []string) error {
	n := max(len(expected), len(actual))
	for i := 0; i < n; i++ {
		e := &CommandError{Index: i, ExpectedLen: len(expected), ActualLen: len(actual)}
		if i < len(expected) {
			e.Expected, e.HaveExpected = expected[i], true
		}
		if i < len(actual) {
			e.Actual, e.HaveActual = actual[i], true
		}
		if !e.HaveExpected || !e.HaveActual {
			return e
		}
		ok, err := path.Match(e.Expected, e.Actual)
		if err != nil {
			e.Reason = fmt.Sprintf("bad glob %q: %v", e.Expected, err)
			return e
		}
		if !ok {
			return e
		}
	}
	return nil
}

// Glob matching for artifact rules. The syntax is fnmatch's as in-toto uses
// it:
//
//	*          any sequence of characters, including "/" and the empty one
//	?          any single character, including "/"
//	[abc]      one character of the set; ranges a-z; [!...] or [^...] negate
//	\c         the character c literally (also inside classes)
//
// A pattern must be well-formed as a whole (closed classes, non-empty
// classes, ordered ranges, no trailing backslash); unlike path.Match the
// error does not depend on the name being matched.

var errBadGlob = errors.New("syntax error in pattern")

type globKind uint8

const (
	globLit globKind = iota
	globAny
	globStar
	globClass
)

type globTok struct {
	kind   globKind
	lit    string // globLit: the bytes to match
	neg    bool   // globClass: negated
	ranges [][2]rune
}

// compileGlob parses a pattern into tokens, merging runs of stars.
func compileGlob(p string) ([]globTok, error) {
	var toks []globTok
	for i := 0; i < len(p); {
		switch c := p[i]; c {
		case '*':
			if len(toks) == 0 || toks[len(toks)-1].kind != globStar {
				toks = append(toks, globTok{kind: globStar})
			}
			i++
		case '?':
			toks = append(toks, globTok{kind: globAny})
			i++
		case '\\':
			if i+1 == len(p) {
				return nil, fmt.Errorf("%w: trailing backslash", errBadGlob)
			}
			_, n := utf8.DecodeRuneInString(p[i+1:])
			toks = append(toks, globTok{kind: globLit, lit: p[i+1 : i+1+n]})
			i += 1 + n
		case '[':
			tok, n, err := compileClass(p[i:])
			if err != nil {
				return nil, err
			}
			toks = append(toks, tok)
			i += n
		default:
			_, n := utf8.DecodeRuneInString(p[i:])
			toks = append(toks, globTok{kind: globLit, lit: p[i : i+n]})
			i += n
		}
	}
	return toks, nil
}

// compileClass parses the class at the start of p ("[...]") and returns it
// with the number of bytes it spans.
func compileClass(p string) (globTok, int, error) {
	tok := globTok{kind: globClass}
	i := 1
	if i < len(p) && (p[i] == '!' || p[i] == '^') {
		tok.neg = true
		i++
	}
	char := func() (rune, error) {
		if i >= len(p) {
			return 0, fmt.Errorf("%w: unclosed character class", errBadGlob)
		}
		if p[i] == '\\' {
			i++
			if i >= len(p) {
				return 0, fmt.Errorf("%w: unclosed character class", errBadGlob)
			}
		} else if p[i] == '-' || p[i] == ']' {
			return 0, fmt.Errorf("%w: unexpected %q in character class", errBadGlob, p[i])
		}
		r, n := utf8.DecodeRuneInString(p[i:])
		i += n
		return r, nil
	}
	for {
		if i >= len(p) {
			return tok, 0, fmt.Errorf("%w: unclosed character class", errBadGlob)
		}
		if p[i] == ']' && len(tok.ranges) > 0 {
			return tok, i + 1, nil
		}
		lo, err := char()
		if err != nil {
			return tok, 0, err
		}
		hi := lo
		if i < len(p) && p[i] == '-' {
			i++
			if hi, err = char(); err != nil {
				return tok, 0, err
			}
			if hi < lo {
				return tok, 0, fmt.Errorf("%w: range %c-%c out of order", errBadGlob, lo, hi)
			}
		}
		tok.ranges = append(tok.ranges, [2]rune{lo, hi})
	}
}

// at reports how many bytes of s the (non-star) token matches at its start.
func (t *globTok) at(s string) (int, bool) {
	if t.kind == globLit {
		return len(t.lit), strings.HasPrefix(s, t.lit)
	}
	if s == "" {
		return 0, false
	}
	r, n := utf8.DecodeRuneInString(s)
	if t.kind == globAny {
		return n, true
	}
	in := false
	for _, rg := range t.ranges {
		if rg[0] <= r && r <= rg[1] {
			in = true
			break
		}
	}
	return n, in != t.neg
}

// matchGlob reports whether name matches pattern as a whole. The only error
// is a malformed pattern.
func matchGlob(pattern, name string) (bool, error) {
	toks, err := compileGlob(pattern)
	if err != nil {
		return false, err
	}
	return matchToks(toks, name), nil
}

// matchToks is the classic single-backtrack wildcard match: on a mismatch,
// the most recent star absorbs one more character and matching resumes
// after it. Because a star matches anything, earlier stars never need
// revisiting, so this is O(len(toks)*len(name)).
func matchToks(toks []globTok, name string) bool {
	ti, ni := 0, 0
	starT, starN := -1, 0
	for {
		if ti < len(toks) {
			t := &toks[ti]
			if t.kind == globStar {
				starT, starN = ti, ni
				ti++
				continue
			}
			if n, ok := t.at(name[ni:]); ok {
				ti++
				ni += n
				continue
			}
		} else if ni == len(name) {
			return true
		}
		if starT < 0 || starN >= len(name) {
			return false
		}
		_, n := utf8.DecodeRuneInString(name[starN:])
		starN += n
		ti, ni = starT+1, starN
	}
}
