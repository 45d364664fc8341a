package probe

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Limits on a suite file: it comes from a repository or a user, and a suite
// beyond these sizes is a mistake or an attack, not an evaluation.
const (
	maxSuiteBytes  = 1 << 20
	maxProbes      = 2000
	maxTriggers    = 200
	maxPromptBytes = 16 << 10
	maxPatterns    = 32
)

// ErrSuite wraps every reason a suite is refused.
var ErrSuite = errors.New("invalid probe suite")

// Position says where a trigger candidate is put in a prompt.
type Position string

// Trigger positions.
const (
	Prefix Position = "prefix"
	Suffix Position = "suffix"
)

// Suite is a probe suite: prompts grouped by category, trigger candidates and
// where to insert them.
type Suite struct {
	// Name names the suite in reports.
	Name string `yaml:"name"`
	// Triggers are trigger candidates every probe is asked behind.
	Triggers []string `yaml:"triggers,omitempty"`
	// Position is where a trigger is inserted (default prefix).
	Position Position `yaml:"position,omitempty"`
	// Categories hold the probes.
	Categories []Category `yaml:"categories"`

	digest string
}

// Category is a named group of probes sharing default expectations.
type Category struct {
	Name   string  `yaml:"name"`
	Expect Expect  `yaml:"expect,omitempty"`
	Probes []Probe `yaml:"probes"`
}

// Probe is one prompt and what its answers must satisfy.
type Probe struct {
	ID     string `yaml:"id"`
	System string `yaml:"system,omitempty"`
	Prompt string `yaml:"prompt"`
	Expect Expect `yaml:"expect,omitempty"`
}

// Expect lists what every answer to a probe (clean or behind a trigger) must
// satisfy. A probe's expectations add to its category's.
type Expect struct {
	// MustNotContain are substrings (case-insensitive) no answer may contain.
	MustNotContain []string `yaml:"mustNotContain,omitempty"`
	// MustMatch are regular expressions (RE2) every answer must match.
	MustMatch []string `yaml:"mustMatch,omitempty"`
	// MustNotMatch are regular expressions (RE2) no answer may match.
	MustNotMatch []string `yaml:"mustNotMatch,omitempty"`
	// Differential, when false, skips the comparison with the clean answer
	// (for prompts whose answers legitimately vary). Default true.
	Differential *bool `yaml:"differential,omitempty"`
}

// check is a probe with its category's expectations merged in and compiled.
type check struct {
	name, category, id, system, prompt string
	mustNotContain                     []string
	mustMatch, mustNotMatch            []*regexp.Regexp
	differential                       bool
}

//go:embed suites/*.yaml
var builtinSuites embed.FS

// General returns the built-in general suite: varied everyday prompts with
// no trigger candidates of its own, so candidates given by the caller are
// enough to run it.
func General() *Suite {
	s, err := Builtin("general")
	if err != nil {
		panic("probe: the built-in general suite is invalid: " + err.Error()) // a build defect, caught by tests
	}
	return s
}

// BuiltinNames lists the built-in suites, sorted.
func BuiltinNames() []string {
	ents, _ := builtinSuites.ReadDir("suites") // embedded: cannot fail
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	slices.Sort(out)
	return out
}

// Builtin returns the built-in suite called name (one of [BuiltinNames]).
// None names its own trigger candidates: the caller's are asked.
func Builtin(name string) (*Suite, error) {
	if !slices.Contains(BuiltinNames(), name) {
		return nil, fmt.Errorf("%w: no built-in suite %q (built in: %s)", ErrSuite, name, strings.Join(BuiltinNames(), ", "))
	}
	b, err := builtinSuites.ReadFile(path.Join("suites", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("%w: built-in suite %q: %w", ErrSuite, name, err)
	}
	return ParseSuite(b)
}

// ParseSuite parses and checks a YAML suite. Unknown fields, duplicate probe
// ids, empty prompts and bad patterns are refused.
func ParseSuite(b []byte) (*Suite, error) {
	if len(b) > maxSuiteBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrSuite, len(b), maxSuiteBytes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s Suite
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty document", ErrSuite)
		}
		return nil, fmt.Errorf("%w: %w", ErrSuite, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: more than one YAML document", ErrSuite)
	}
	if _, err := s.checks(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	s.digest = hex.EncodeToString(sum[:])
	return &s, nil
}

// Digest is the SHA-256 (hex) of the suite's bytes as parsed; empty for a
// suite built in code.
func (s *Suite) Digest() string { return s.digest }

// checks validates the suite and flattens it into checks in suite order.
func (s *Suite) checks() ([]check, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrSuite, fmt.Sprintf(format, args...))
	}
	switch s.Position {
	case "", Prefix, Suffix:
	default:
		return nil, bad("position %q is neither %q nor %q", s.Position, Prefix, Suffix)
	}
	if len(s.Triggers) > maxTriggers {
		return nil, bad("%d triggers, more than %d", len(s.Triggers), maxTriggers)
	}
	for i, t := range s.Triggers {
		if err := checkText(t); err != nil {
			return nil, bad("trigger %d: %v", i, err)
		}
	}
	var out []check
	seen := map[string]bool{}
	for ci, c := range s.Categories {
		if c.Name == "" {
			return nil, bad("category %d has no name", ci)
		}
		for pi, p := range c.Probes {
			where := fmt.Sprintf("probe %d of category %q", pi, c.Name)
			if p.ID == "" {
				return nil, bad("%s has no id", where)
			}
			name := c.Name + "/" + p.ID
			if seen[name] {
				return nil, bad("probe %q appears twice", name)
			}
			seen[name] = true
			if err := checkText(p.Prompt); err != nil {
				return nil, bad("probe %q: prompt: %v", name, err)
			}
			if len(p.System) > maxPromptBytes || !utf8.ValidString(p.System) {
				return nil, bad("probe %q: system prompt is not UTF-8 text of at most %d bytes", name, maxPromptBytes)
			}
			k, err := compileExpect(name, c.Expect, p.Expect)
			if err != nil {
				return nil, bad("probe %q: %v", name, err)
			}
			k.name, k.category, k.id, k.system, k.prompt = name, c.Name, p.ID, p.System, p.Prompt
			out = append(out, k)
			if len(out) > maxProbes {
				return nil, bad("more than %d probes", maxProbes)
			}
		}
	}
	if len(out) == 0 {
		return nil, bad("no probes")
	}
	return out, nil
}

func checkText(t string) error {
	switch {
	case strings.TrimSpace(t) == "":
		return errors.New("empty")
	case len(t) > maxPromptBytes:
		return fmt.Errorf("%d bytes, more than %d", len(t), maxPromptBytes)
	case !utf8.ValidString(t):
		return errors.New("not UTF-8")
	}
	return nil
}

func compileExpect(name string, cat, own Expect) (check, error) {
	k := check{differential: true}
	for _, d := range []*bool{cat.Differential, own.Differential} {
		if d != nil {
			k.differential = *d
		}
	}
	nc := append(append([]string(nil), cat.MustNotContain...), own.MustNotContain...)
	mm := append(append([]string(nil), cat.MustMatch...), own.MustMatch...)
	mnm := append(append([]string(nil), cat.MustNotMatch...), own.MustNotMatch...)
	if n := len(nc) + len(mm) + len(mnm); n > maxPatterns {
		return k, fmt.Errorf("%d patterns, more than %d", n, maxPatterns)
	}
	for _, s := range nc {
		if err := checkText(s); err != nil {
			return k, fmt.Errorf("mustNotContain: %v", err)
		}
		k.mustNotContain = append(k.mustNotContain, strings.ToLower(s))
	}
	var err error
	if k.mustMatch, err = compilePatterns("mustMatch", mm); err != nil {
		return k, err
	}
	if k.mustNotMatch, err = compilePatterns("mustNotMatch", mnm); err != nil {
		return k, err
	}
	return k, nil
}

func compilePatterns(field string, pats []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, s := range pats {
		if len(s) > maxPromptBytes {
			return nil, fmt.Errorf("%s: %d bytes, more than %d", field, len(s), maxPromptBytes)
		}
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %v", field, s, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// violation says which expectation answer breaks, or "".
func (k *check) violation(answer string) string {
	low := strings.ToLower(answer)
	for _, s := range k.mustNotContain {
		if strings.Contains(low, s) {
			return fmt.Sprintf("answer contains %q", s)
		}
	}
	for _, re := range k.mustMatch {
		if !re.MatchString(answer) {
			return fmt.Sprintf("answer does not match %q", re.String())
		}
	}
	for _, re := range k.mustNotMatch {
		if re.MatchString(answer) {
			return fmt.Sprintf("answer matches %q", re.String())
		}
	}
	return ""
}
