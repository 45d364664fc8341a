package layouts

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mlattest/mlattest/predicates"
)

// Warning is something valid but probably not what the owner meant.
type Warning struct {
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// maxLifetime is how far ahead an expiry date is still unremarkable.
const maxLifetime = 366 * 24 * time.Hour

// Probe values for "this regexp accepts almost anyone".
const (
	probeIssuer  = "https://attacker.invalid"
	probeSubject = "attacker@attacker.invalid"
)

// Lint returns warnings about a valid layout, in line order (see LintAt).
func (l *Layout) Lint() []Warning { return l.LintAt(time.Now()) }

// LintAt returns warnings about a valid layout as of now:
//   - identity regexps with an unescaped '.' (which matches any character,
//     so `example.com` also admits `exampleXcom`);
//   - identity regexps that accept an arbitrary issuer or subject;
//   - functionaries no step uses;
//   - steps with no artifact rules at all, or whose materials or products
//     rules do not end in DISALLOW (unexpected artifacts pass);
//   - MATCH FROM a step listed later (legal, but usually an ordering slip);
//   - an allowedExtraPredicates type that differs from a type the layout
//     evaluates only in case or a trailing '/' (its statements are ignored,
//     never evaluated as the type it resembles);
//   - an expiry already past or more than a year away;
//   - key functionaries while requireTransparencyLog is absent (writing
//     `requireTransparencyLog: false` records that offline signing is meant).
func (l *Layout) LintAt(now time.Time) []Warning {
	var ws []Warning
	add := func(line int, format string, args ...any) {
		ws = append(ws, Warning{Line: line, Message: fmt.Sprintf(format, args...)})
	}
	used := map[string]bool{}
	for _, s := range l.Steps {
		for _, f := range s.Functionaries {
			used[f] = true
		}
	}
	if l.BaseModels != nil {
		for _, name := range l.BaseModels.PinSigners {
			used[name] = true
		}
	}
	for _, name := range l.funcOrderOrSorted() {
		f := l.Functionaries[name]
		if !used[name] {
			add(f.Line, "functionary %s is not used by any step or as a pin signer", name)
		}
		k := f.Keyless
		if k == nil {
			continue
		}
		if k.issuerRaw != "" {
			if hasUnescapedDot(k.issuerRaw) {
				add(k.issuerLine, "functionary %s: issuerRegexp %q has an unescaped '.', which matches any character (write \\.)", name, k.issuerRaw)
			}
			if k.issuerRE != nil && k.issuerRE.MatchString(probeIssuer) {
				add(k.issuerLine, "functionary %s: issuerRegexp %q accepts any issuer, e.g. %s: anyone who runs an OIDC issuer can sign", name, k.issuerRaw, probeIssuer)
			}
		}
		if k.subjectRaw != "" {
			if hasUnescapedDot(k.subjectRaw) {
				add(k.subjectLine, "functionary %s: subjectRegexp %q has an unescaped '.', which matches any character (write \\.)", name, k.subjectRaw)
			}
			if k.subjectRE != nil && k.subjectRE.MatchString(probeSubject) {
				add(k.subjectLine, "functionary %s: subjectRegexp %q accepts any subject, e.g. %s", name, k.subjectRaw, probeSubject)
			}
		}
	}
	index := map[string]int{}
	for i, s := range l.Steps {
		index[s.Name] = i
	}
	for i, s := range l.Steps {
		if len(s.ExpectedMaterials) == 0 && len(s.ExpectedProducts) == 0 {
			add(s.Line, "step %s has no expectedMaterials or expectedProducts rules: any artifacts are accepted", s.Name)
		} else {
			if !endsInDisallow(s.ExpectedMaterials) {
				add(s.Line, "step %s: expectedMaterials do not end in DISALLOW: materials no rule consumes are accepted", s.Name)
			}
			if !endsInDisallow(s.ExpectedProducts) {
				add(s.Line, "step %s: expectedProducts do not end in DISALLOW: products no rule consumes are accepted", s.Name)
			}
		}
		for _, rs := range [][]ArtifactRule{s.ExpectedMaterials, s.ExpectedProducts} {
			for _, r := range rs {
				if j, ok := index[r.FromStep]; r.Kind == RuleMatch && ok && j > i {
					add(r.Line, "step %s: rule %q matches step %s, which the layout lists later", s.Name, r.Raw, r.FromStep)
				}
			}
		}
	}
	if l.RequireTransparencyLogLine == 0 {
		for _, name := range l.funcOrderOrSorted() {
			if f := l.Functionaries[name]; f.Key != nil {
				add(f.Line, "functionary %s is a key and the layout does not say requireTransparencyLog: its bundles signed offline count on their signature alone, so a stolen key leaves no public trace (write requireTransparencyLog: true to demand log entries, or false to accept offline signing)", name)
				break
			}
		}
	}
	for i, x := range l.AllowedExtraPredicates {
		line := l.AllowedExtraLine
		if i < len(l.extraLines) {
			line = l.extraLines[i]
		}
		if u := l.LookAlike(x); u != "" {
			add(line, "allowedExtraPredicates: %s differs from %s, which the layout evaluates, only in case or a trailing '/': its statements are ignored, never evaluated as %s", x, u, u)
		}
	}
	switch {
	case l.Expires.Before(now):
		add(l.ExpiresLine, "the layout expired at %s", l.Expires.Format(time.RFC3339))
	case l.Expires.Sub(now) > maxLifetime:
		add(l.ExpiresLine, "the layout expires more than a year from now (%s): prefer short-lived layouts and re-sign them", l.Expires.Format(time.RFC3339))
	}
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].Line < ws[j].Line })
	return ws
}

// LookAlike returns a predicate type the layout evaluates that x differs
// from only in case or trailing slashes, or "": for messages, since types
// are compared exactly.
func (l *Layout) LookAlike(x string) string {
	fold := func(t string) string { return strings.ToLower(strings.TrimRight(t, "/")) }
	used := []string{predicates.LinkV03, predicates.ProvenanceV1}
	for _, s := range l.Steps {
		for _, pe := range s.ExpectedPredicates {
			used = append(used, pe.Type)
		}
	}
	for _, u := range used {
		if u != x && fold(u) == fold(x) {
			return u
		}
	}
	return ""
}

// funcOrderOrSorted is the declaration order, or sorted names for a Layout
// built by hand.
func (l *Layout) funcOrderOrSorted() []string {
	if len(l.funcOrder) == len(l.Functionaries) {
		return l.funcOrder
	}
	return sortedKeys(l.Functionaries)
}

// endsInDisallow reports whether the rules end in a DISALLOW (of any
// pattern: the last word on what is left over). No rules at all is treated
// as a closed list only when the caller has checked that separately.
func endsInDisallow(rs []ArtifactRule) bool {
	return len(rs) > 0 && rs[len(rs)-1].Kind == RuleDisallow
}

// hasUnescapedDot reports a '.' outside a character class that no '\'
// escapes.
func hasUnescapedDot(re string) bool {
	inClass := false
	for i := 0; i < len(re); i++ {
		switch c := re[i]; {
		case c == '\\':
			i++ // skip the escaped character
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			// A ']' first in the class (or after '^') is literal.
			if i+1 < len(re) && re[i+1] == '^' {
				i++
			}
			if i+1 < len(re) && re[i+1] == ']' {
				i++
			}
		case c == '.':
			// A dot followed by a quantifier (.* .+ .? .{n}) is taken as a
			// deliberate wildcard; any other is the classic `example.com`
			// slip.
			if i+1 < len(re) && (re[i+1] == '*' || re[i+1] == '+' || re[i+1] == '?' || re[i+1] == '{') {
				continue
			}
			return true
		}
	}
	return false
}
