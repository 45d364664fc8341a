package layouts

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Summary writes a readable account of what the layout demands: serial,
// expiry, functionaries, each step in order (who, how many, rules,
// command, predicates) and the released subject.
func (l *Layout) Summary(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("layout %s", l.File)
	p("  sha256:  %s", l.SHA256)
	p("  serial:  %d", l.Serial)
	p("  expires: %s", l.Expires.UTC().Format(time.RFC3339))
	p("")
	p("functionaries:")
	for _, name := range l.funcOrderOrSorted() {
		p("  %-12s %s", name, l.Functionaries[name].Describe())
	}
	switch {
	case l.RequireTransparencyLog:
		p("  every attestation bundle needs a transparency-log entry (requireTransparencyLog)")
	case len(l.Keyless()) < len(l.Functionaries):
		p("  bundles signed offline with a key count on their signature alone (no transparency log)")
	}
	p("")
	p("steps, in order:")
	for i, s := range l.Steps {
		p("  %d. %s", i+1, s.Name)
		p("     signed by %d of: %s", s.Threshold, strings.Join(s.Functionaries, ", "))
		if s.AllowFailure {
			p("     a non-zero exit code is accepted")
		} else {
			p("     the command must exit 0")
		}
		if s.ExpectedCommand != nil {
			p("     command: %s", strings.Join(s.ExpectedCommand, " "))
		}
		ruleBlock(p, "materials", s.ExpectedMaterials)
		ruleBlock(p, "products", s.ExpectedProducts)
		for _, pe := range s.ExpectedPredicates {
			p("     predicate %s:", pe.Type)
			if len(pe.Expressions) == 0 {
				p("       (present and signed; no expressions)")
			}
			for _, e := range pe.Expressions {
				suffix := ""
				if e.AllowMissing {
					suffix = "   [true if a field is missing]"
				}
				p("       - %s%s", strings.Join(strings.Fields(e.Source), " "), suffix)
			}
		}
	}
	if bm := l.BaseModels; bm != nil {
		p("")
		p("base models: only these, file for file:")
		for _, pin := range bm.Pins {
			p("  %s (%d files, pinned here)", pin.URI(), len(pin.Files))
		}
		if len(bm.PinSigners) > 0 {
			p("  any model pinned by a model-pin statement signed by: %s", strings.Join(bm.PinSigners, ", "))
		}
	}
	if len(l.AllowedExtraPredicates) > 0 {
		p("")
		p("signed statements of these types are ignored (reported, not evaluated) where a step does not use them:")
		for _, t := range l.AllowedExtraPredicates {
			p("  %s", t)
		}
	}
	p("")
	p("released model: the products of step %s matching %s, exactly", l.Subject.Step, strings.Join(l.Subject.Patterns, " "))
}

func ruleBlock(p func(string, ...any), what string, rs []ArtifactRule) {
	if len(rs) == 0 {
		p("     %s: anything (no rules)", what)
		return
	}
	p("     %s:", what)
	for _, r := range rs {
		p("       %s", r.Raw)
	}
}

// Describe says who a functionary is, in one line.
func (f *Functionary) Describe() string {
	switch {
	case f.Key != nil:
		return "key " + f.Key.ID
	case f.Keyless != nil:
		k := f.Keyless
		var b strings.Builder
		if k.Subject != "" {
			fmt.Fprintf(&b, "subject %q", k.Subject)
		} else {
			fmt.Fprintf(&b, "subject matching %q", k.subjectDisplay())
		}
		if k.Issuer != "" {
			fmt.Fprintf(&b, " from issuer %q", k.Issuer)
		} else {
			fmt.Fprintf(&b, " from issuer matching %q", k.issuerDisplay())
		}
		for _, name := range sortedKeys(k.Extensions) {
			fmt.Fprintf(&b, ", %s=%q", name, k.Extensions[name])
		}
		return b.String()
	}
	return "(no identity)"
}

func (k *KeylessIdentity) subjectDisplay() string {
	if k.subjectRaw != "" {
		return k.subjectRaw
	}
	return k.SubjectRegexp
}

func (k *KeylessIdentity) issuerDisplay() string {
	if k.issuerRaw != "" {
		return k.issuerRaw
	}
	return k.IssuerRegexp
}
