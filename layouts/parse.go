package layouts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"go.yaml.in/yaml/v3"

	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/trust"
)

// errTooLarge is what ReadFile and Parse say of a layout over MaxSize, so
// that `layout check` and verify report it alike.
var errTooLarge = fmt.Errorf("larger than %d bytes, the limit for a layout", MaxSize)

// ReadFile reads a layout file of at most MaxSize bytes (a device, a FIFO or
// a huge file is refused without reading it all). Errors name the file.
func ReadFile(path string) ([]byte, error) {
	data, err := fsutil.ReadFileMax(path, MaxSize)
	var tl *fsutil.TooLargeError
	switch {
	case errors.As(err, &tl):
		return nil, fmt.Errorf("layout %s: %w", path, errTooLarge)
	case err != nil:
		return nil, fmt.Errorf("layout %s: %w", path, fsutil.Cause(err))
	}
	return data, nil
}

// Limits on what Parse accepts. A layout is small; anything near these is
// a mistake or an attack.
const (
	MaxSize      = 1 << 20 // bytes
	maxDepth     = 32      // YAML nesting
	maxErrors    = 50      // errors reported before giving up
	maxRegexpLen = 1024
)

// ErrInvalid is wrapped by every error Parse returns: the layout's content
// is wrong (a policy answer), as opposed to a file that cannot be read.
var ErrInvalid = errors.New("invalid layout")

// Error is one problem in a layout, located by line (0 when the problem is
// not tied to a line).
type Error struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Msg  string `json:"message"`
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *Error) Unwrap() error { return ErrInvalid }

// Errors are all problems Parse found, in file order; Error() gives one per
// line.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns each error, so errors.As and errors.Is see them.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// nameRE is the syntax of functionary names (the same as step names, so
// either may appear in messages and file names unquoted).
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// extensionNames are the Fulcio certificate extensions a keyless identity
// may constrain: sigstore-go's certificate.Extensions JSON names, except
// the issuer, which has its own field.
var extensionNames = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeOf(certificate.Extensions{})
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" && name != "issuer" {
			m[name] = true
		}
	}
	return m
}()

// Parse parses and validates a layout (YAML, or JSON, which is YAML). file
// names the layout in messages and Layout.File. Parse is strict: unknown
// fields, duplicate keys, anchors, aliases, merge keys, custom tags and
// more than one document are errors; every error carries file:line and
// wraps ErrInvalid. Parse does not check signatures or expiry.
func Parse(data []byte, file string) (*Layout, error) {
	if file == "" {
		file = "layout"
	}
	p := &parser{file: file}
	l := p.parse(data)
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
		return nil, p.errs
	}
	sum := sha256.Sum256(data)
	l.SHA256 = hex.EncodeToString(sum[:])
	l.File = file
	return l, nil
}

type parser struct {
	file string
	errs Errors
	// declared holds every functionary name the layout declares, valid or
	// not, so a broken functionary is reported once, not at every use.
	declared map[string]bool
}

func (p *parser) errorf(line int, format string, args ...any) {
	if len(p.errs) == maxErrors {
		p.errs = append(p.errs, &Error{File: p.file, Line: line, Msg: "too many errors"})
	}
	if len(p.errs) > maxErrors {
		return
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) parse(data []byte) *Layout {
	if len(data) > MaxSize {
		p.errorf(0, "%s", errTooLarge)
		return nil
	}
	if !utf8.Valid(data) {
		p.errorf(0, "layout is not valid UTF-8")
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errorf(0, "empty layout")
		} else {
			p.yamlError(err)
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			line = 0
		}
		p.errorf(line, "more than one YAML document")
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		p.errorf(doc.Line, "empty layout")
		return nil
	}
	p.checkNodes(doc.Content[0], 1)
	if len(p.errs) > 0 {
		return nil
	}
	return p.layout(doc.Content[0])
}

// yamlLineRE finds the line yaml.v3 puts in its messages.
var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

func (p *parser) yamlError(err error) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.errorf(line, "YAML syntax: %s", m[2])
		return
	}
	p.errorf(0, "YAML syntax: %s", msg)
}

// allowedTags are the explicit tags accepted: the core ones a layout uses.
var allowedTags = map[string]bool{"!!str": true, "!!int": true, "!!bool": true, "!!map": true, "!!seq": true}

// checkNodes rejects the YAML features a layout has no use for and that
// make what a reviewer reads differ from what a parser sees.
func (p *parser) checkNodes(n *yaml.Node, depth int) {
	if depth > maxDepth {
		p.errorf(n.Line, "nesting deeper than %d", maxDepth)
		return
	}
	if n.Kind == yaml.AliasNode {
		p.errorf(n.Line, "YAML aliases are not allowed (*%s)", n.Value)
		return
	}
	if n.Anchor != "" {
		p.errorf(n.Line, "YAML anchors are not allowed (&%s)", n.Anchor)
	}
	if n.Style&yaml.TaggedStyle != 0 && !allowedTags[n.Tag] {
		p.errorf(n.Line, "YAML tag %s is not allowed", n.Tag)
	}
	if n.Kind == yaml.MappingNode {
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				p.errorf(k.Line, "YAML merge keys (<<) are not allowed")
				continue
			}
			if k.Kind != yaml.ScalarNode {
				p.errorf(k.Line, "mapping keys must be strings")
				continue
			}
			if first, dup := seen[k.Value]; dup {
				p.errorf(k.Line, "duplicate key %q (first at line %d)", k.Value, first)
			} else {
				seen[k.Value] = k.Line
			}
		}
	}
	for _, c := range n.Content {
		p.checkNodes(c, depth+1)
	}
}

// field is one key of a mapping.
type field struct {
	key, val *yaml.Node
}

// mapping checks that n is a mapping with only the given keys and returns
// its fields by name, in order of the keys given.
func (p *parser) mapping(n *yaml.Node, what string, allowed ...string) (map[string]field, bool) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n.Line, "%s must be a mapping, not %s", what, kindOf(n))
		return nil, false
	}
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	out := map[string]field{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !ok[k.Value] {
			p.errorf(k.Line, "unknown field %q in %s (want one of %s)", k.Value, what, strings.Join(allowed, ", "))
			continue
		}
		out[k.Value] = field{k, v}
	}
	return out, true
}

func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "a scalar (" + strings.TrimPrefix(n.Tag, "!!") + ")"
	}
	return "something else"
}

func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		hint := ""
		if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
			hint = " (quote it)"
		}
		p.errorf(n.Line, "%s must be a string, not %s%s", what, kindOf(n), hint)
		return "", false
	}
	return n.Value, true
}

// nonEmpty is str that also refuses "" and surrounding spaces.
func (p *parser) nonEmpty(n *yaml.Node, what string) (string, bool) {
	s, ok := p.str(n, what)
	if !ok {
		return "", false
	}
	if strings.TrimSpace(s) == "" {
		p.errorf(n.Line, "%s must not be empty", what)
		return "", false
	}
	if strings.TrimSpace(s) != s {
		p.errorf(n.Line, "%s %q has leading or trailing space", what, s)
		return "", false
	}
	return s, true
}

func (p *parser) integer(n *yaml.Node, what string) (int64, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		p.errorf(n.Line, "%s must be an integer, not %s", what, kindOf(n))
		return 0, false
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		p.errorf(n.Line, "%s must be a decimal integer, not %q", what, n.Value)
		return 0, false
	}
	return v, true
}

func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		switch n.Value {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	p.errorf(n.Line, "%s must be true or false", what)
	return false, false
}

func (p *parser) seq(n *yaml.Node, what string) ([]*yaml.Node, bool) {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n.Line, "%s must be a list, not %s", what, kindOf(n))
		return nil, false
	}
	return n.Content, true
}

func (p *parser) required(fs map[string]field, parent *yaml.Node, what string, names ...string) bool {
	ok := true
	for _, name := range names {
		if _, has := fs[name]; !has {
			p.errorf(parent.Line, "%s: missing required field %q", what, name)
			ok = false
		}
	}
	return ok
}

func (p *parser) layout(root *yaml.Node) *Layout {
	fs, ok := p.mapping(root, "layout", "serial", "expires", "functionaries", "steps", "subject", "baseModels", "requireTransparencyLog", "allowedExtraPredicates")
	if !ok {
		return nil
	}
	p.required(fs, root, "layout", "serial", "expires", "functionaries", "steps", "subject")
	l := &Layout{Functionaries: map[string]*Functionary{}}
	if f, has := fs["serial"]; has {
		l.SerialLine = f.key.Line
		if v, ok := p.integer(f.val, "serial"); ok {
			if v < 1 {
				p.errorf(f.val.Line, "serial must be at least 1, not %d", v)
			}
			l.Serial = v
		}
	}
	if f, has := fs["expires"]; has {
		l.ExpiresLine = f.key.Line
		l.Expires = p.expires(f.val)
	}
	if f, has := fs["functionaries"]; has {
		p.functionaries(f.val, l)
	}
	if f, has := fs["steps"]; has {
		p.steps(f.val, l)
	}
	if f, has := fs["subject"]; has {
		p.subject(f.val, l)
	}
	if f, has := fs["baseModels"]; has {
		p.baseModels(f.val, l)
	}
	if f, has := fs["requireTransparencyLog"]; has {
		l.RequireTransparencyLogLine = f.key.Line
		l.RequireTransparencyLog, _ = p.boolean(f.val, "requireTransparencyLog")
	}
	if f, has := fs["allowedExtraPredicates"]; has {
		l.AllowedExtraLine = f.key.Line
		p.allowedExtra(f.val, l)
	}
	p.crossCheck(l)
	return l
}

func (p *parser) expires(n *yaml.Node) time.Time {
	// An unquoted date-time is a YAML timestamp; accept it as its text.
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!timestamp") {
		p.errorf(n.Line, "expires must be an RFC 3339 date-time string, not %s", kindOf(n))
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, n.Value)
	if err != nil {
		p.errorf(n.Line, "expires %q is not an RFC 3339 date-time (e.g. 2027-01-31T00:00:00Z)", n.Value)
		return time.Time{}
	}
	return t.UTC()
}

func (p *parser) functionaries(n *yaml.Node, l *Layout) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n.Line, "functionaries must be a mapping from name to functionary, not %s", kindOf(n))
		return
	}
	if len(n.Content) == 0 {
		p.errorf(n.Line, "functionaries must not be empty")
	}
	p.declared = map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p.declared[k.Value] = true
		if !nameRE.MatchString(k.Value) {
			p.errorf(k.Line, "invalid functionary name %q: want 1-128 of [A-Za-z0-9._-], starting with a letter or digit", k.Value)
			continue
		}
		if _, dup := l.Functionaries[k.Value]; dup {
			continue // reported by checkNodes
		}
		f := p.functionary(k.Value, k.Line, v)
		if f != nil {
			l.Functionaries[f.Name] = f
			l.funcOrder = append(l.funcOrder, f.Name)
		}
	}
}

func (p *parser) functionary(name string, line int, n *yaml.Node) *Functionary {
	what := "functionary " + name
	fs, ok := p.mapping(n, what, "key", "keyless")
	if !ok {
		return nil
	}
	kf, hasKey := fs["key"]
	lf, hasKeyless := fs["keyless"]
	if hasKey == hasKeyless {
		p.errorf(line, "%s: want exactly one of \"key\" and \"keyless\"", what)
		return nil
	}
	f := &Functionary{Name: name, Line: line}
	if hasKey {
		k, ok := p.key(kf.val, what)
		if !ok {
			return nil
		}
		f.Key = k
		return f
	}
	k, ok := p.keyless(lf.val, what)
	if !ok {
		return nil
	}
	f.Keyless = k
	return f
}

func (p *parser) key(n *yaml.Node, what string) (*Key, bool) {
	s, ok := p.str(n, what+": key")
	if !ok {
		return nil, false
	}
	pub, err := trust.ParsePublicKey([]byte(s))
	if err != nil {
		p.errorf(n.Line, "%s: key: %v", what, err)
		return nil, false
	}
	id, err := trust.KeyID(pub)
	if err != nil {
		p.errorf(n.Line, "%s: key: %v", what, err)
		return nil, false
	}
	return &Key{Public: pub, ID: id}, true
}

func (p *parser) keyless(n *yaml.Node, what string) (*KeylessIdentity, bool) {
	what += ": keyless"
	fs, ok := p.mapping(n, what, "issuer", "issuerRegexp", "subject", "subjectRegexp", "extensions")
	if !ok {
		return nil, false
	}
	k := &KeylessIdentity{}
	ok = true
	pair := func(exact, re string, dst, dstRE, raw *string, compiled **regexp.Regexp, line *int) {
		ef, hasE := fs[exact]
		rf, hasR := fs[re]
		switch {
		case hasE && hasR:
			p.errorf(rf.key.Line, "%s: %q and %q are exclusive", what, exact, re)
			ok = false
		case !hasE && !hasR:
			p.errorf(n.Line, "%s: missing %q or %q", what, exact, re)
			ok = false
		case hasE:
			v, good := p.nonEmpty(ef.val, what+": "+exact)
			ok = ok && good
			*dst = v
		default:
			v, good := p.nonEmpty(rf.val, what+": "+re)
			if !good {
				ok = false
				return
			}
			c, anchored, err := compileAnchored(v)
			if err != nil {
				p.errorf(rf.val.Line, "%s: %s: %v", what, re, err)
				ok = false
				return
			}
			*raw, *dstRE, *compiled, *line = v, anchored, c, rf.val.Line
		}
	}
	pair("issuer", "issuerRegexp", &k.Issuer, &k.IssuerRegexp, &k.issuerRaw, &k.issuerRE, &k.issuerLine)
	pair("subject", "subjectRegexp", &k.Subject, &k.SubjectRegexp, &k.subjectRaw, &k.subjectRE, &k.subjectLine)
	if ef, has := fs["extensions"]; has {
		if ef.val.Kind != yaml.MappingNode {
			p.errorf(ef.val.Line, "%s: extensions must be a mapping, not %s", what, kindOf(ef.val))
			return nil, false
		}
		k.Extensions = map[string]string{}
		for i := 0; i+1 < len(ef.val.Content); i += 2 {
			kn, vn := ef.val.Content[i], ef.val.Content[i+1]
			if !extensionNames[kn.Value] {
				if kn.Value == "issuer" {
					p.errorf(kn.Line, "%s: the issuer is not an extension here: use the issuer field", what)
				} else {
					p.errorf(kn.Line, "%s: unknown certificate extension %q (want one of %s)", what, kn.Value, strings.Join(sortedKeys(extensionNames), ", "))
				}
				ok = false
				continue
			}
			v, good := p.nonEmpty(vn, what+": extension "+kn.Value)
			ok = ok && good
			k.Extensions[kn.Value] = v
		}
	}
	return k, ok
}

// compileAnchored compiles re alone (so it cannot close the anchoring
// group, as `a)|(b` would) and then anchored to match whole values.
func compileAnchored(re string) (*regexp.Regexp, string, error) {
	if len(re) > maxRegexpLen {
		return nil, "", fmt.Errorf("regexp longer than %d bytes", maxRegexpLen)
	}
	if _, err := regexp.Compile(re); err != nil {
		return nil, "", err
	}
	a := "^(?:" + re + ")$"
	c, err := regexp.Compile(a)
	if err != nil {
		return nil, "", err
	}
	return c, a, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (p *parser) steps(n *yaml.Node, l *Layout) {
	items, ok := p.seq(n, "steps")
	if !ok {
		return
	}
	if len(items) == 0 {
		p.errorf(n.Line, "steps must not be empty")
	}
	seen := map[string]int{}
	for _, it := range items {
		s := p.step(it, l)
		if s == nil {
			continue
		}
		if first, dup := seen[s.Name]; dup {
			p.errorf(s.Line, "duplicate step name %q (first at line %d)", s.Name, first)
			continue
		}
		seen[s.Name] = s.Line
		l.Steps = append(l.Steps, s)
	}
}

func (p *parser) step(n *yaml.Node, l *Layout) *Step {
	what := "step"
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k, v := n.Content[i], n.Content[i+1]; k.Value == "name" && v.Kind == yaml.ScalarNode && predicates.CheckStepName(v.Value) == nil {
				what = "step " + v.Value
			}
		}
	}
	fs, ok := p.mapping(n, what, "name", "functionaries", "threshold", "expectedMaterials",
		"expectedProducts", "expectedCommand", "expectedPredicates", "allowFailure")
	if !ok {
		return nil
	}
	s := &Step{Line: n.Line, Threshold: 1}
	if f, has := fs["name"]; has {
		name, ok := p.str(f.val, "step name")
		if !ok {
			return nil
		}
		if err := predicates.CheckStepName(name); err != nil {
			p.errorf(f.val.Line, "%v", err)
			return nil
		}
		s.Name = name
		what = "step " + name
	} else {
		p.errorf(n.Line, "step: missing required field \"name\"")
		return nil
	}
	broken := 0
	if f, has := fs["functionaries"]; has {
		items, ok := p.seq(f.val, what+": functionaries")
		if ok && len(items) == 0 {
			p.errorf(f.val.Line, "%s: functionaries must not be empty", what)
		}
		seen := map[string]bool{}
		for _, it := range items {
			name, ok := p.str(it, what+": functionary name")
			if !ok {
				continue
			}
			if _, known := l.Functionaries[name]; !known {
				if !p.declared[name] {
					p.errorf(it.Line, "%s: unknown functionary %q", what, name)
				} else {
					broken++ // reported where it is declared
				}
				continue
			}
			if seen[name] {
				p.errorf(it.Line, "%s: functionary %q listed twice", what, name)
				continue
			}
			seen[name] = true
			s.Functionaries = append(s.Functionaries, name)
		}
	} else {
		p.errorf(n.Line, "%s: missing required field \"functionaries\"", what)
	}
	if f, has := fs["threshold"]; has {
		if v, ok := p.integer(f.val, what+": threshold"); ok {
			switch {
			case v < 1:
				p.errorf(f.val.Line, "%s: threshold must be at least 1, not %d", what, v)
			case v > int64(len(s.Functionaries)+broken):
				p.errorf(f.val.Line, "%s: threshold %d is more than its %d functionaries", what, v, len(s.Functionaries))
			default:
				s.Threshold = int(v)
			}
		}
	}
	s.ExpectedMaterials = p.rules(fs, "expectedMaterials", what)
	s.ExpectedProducts = p.rules(fs, "expectedProducts", what)
	if f, has := fs["expectedCommand"]; has {
		s.commandLine = f.key.Line
		items, ok := p.seq(f.val, what+": expectedCommand")
		if ok && len(items) == 0 {
			p.errorf(f.val.Line, "%s: expectedCommand must not be empty (omit it to accept any command)", what)
		}
		s.ExpectedCommand = []string{}
		for _, it := range items {
			g, ok := p.str(it, what+": expectedCommand element")
			if !ok {
				continue
			}
			if _, err := path.Match(g, ""); err != nil {
				p.errorf(it.Line, "%s: expectedCommand element %q: bad glob: %v", what, g, err)
				continue
			}
			s.ExpectedCommand = append(s.ExpectedCommand, g)
		}
	}
	if f, has := fs["expectedPredicates"]; has {
		s.ExpectedPredicates = p.predicates(f.val, what)
	}
	if f, has := fs["allowFailure"]; has {
		s.AllowFailure, _ = p.boolean(f.val, what+": allowFailure")
	}
	return s
}

func (p *parser) rules(fs map[string]field, key, what string) []ArtifactRule {
	f, has := fs[key]
	if !has {
		return nil
	}
	items, ok := p.seq(f.val, what+": "+key)
	if !ok {
		return nil
	}
	out := []ArtifactRule{}
	for _, it := range items {
		s, ok := p.str(it, what+": "+key+" rule")
		if !ok {
			continue
		}
		r, err := ParseRule(s)
		if err != nil {
			p.errorf(it.Line, "%s: %s: %v", what, key, err)
			continue
		}
		r.Line = it.Line
		out = append(out, r)
	}
	return out
}

func (p *parser) predicates(n *yaml.Node, what string) []*PredicateExpectation {
	items, ok := p.seq(n, what+": expectedPredicates")
	if !ok {
		return nil
	}
	var out []*PredicateExpectation
	seen := map[string]int{}
	for _, it := range items {
		fs, ok := p.mapping(it, what+": expectedPredicates entry", "type", "expressions")
		if !ok {
			continue
		}
		tf, has := fs["type"]
		if !has {
			p.errorf(it.Line, "%s: expectedPredicates entry: missing required field \"type\"", what)
			continue
		}
		typ, ok := p.nonEmpty(tf.val, what+": predicate type")
		if !ok {
			continue
		}
		if u, err := url.Parse(typ); err != nil || !u.IsAbs() {
			p.errorf(tf.val.Line, "%s: predicate type %q is not an absolute URI", what, typ)
			continue
		}
		if first, dup := seen[typ]; dup {
			p.errorf(tf.val.Line, "%s: predicate type %q expected twice (first at line %d): put all its expressions in one entry", what, typ, first)
			continue
		}
		seen[typ] = tf.val.Line
		pe := &PredicateExpectation{Type: typ, Line: it.Line}
		if ef, has := fs["expressions"]; has {
			exprs, ok := p.seq(ef.val, what+": expressions")
			if !ok {
				continue
			}
			for _, en := range exprs {
				if e := p.expression(en, what); e != nil {
					pe.Expressions = append(pe.Expressions, e)
				}
			}
		}
		out = append(out, pe)
	}
	return out
}

func (p *parser) expression(n *yaml.Node, what string) *Expression {
	src, allowMissing, srcNode := "", false, n
	switch n.Kind {
	case yaml.ScalarNode:
		s, ok := p.str(n, what+": expression")
		if !ok {
			return nil
		}
		src = s
	case yaml.MappingNode:
		fs, ok := p.mapping(n, what+": expression", "expr", "allowMissing")
		if !ok {
			return nil
		}
		ef, has := fs["expr"]
		if !has {
			p.errorf(n.Line, "%s: expression: missing required field \"expr\"", what)
			return nil
		}
		s, ok := p.str(ef.val, what+": expr")
		if !ok {
			return nil
		}
		src, srcNode = s, ef.val
		if af, has := fs["allowMissing"]; has {
			if allowMissing, ok = p.boolean(af.val, what+": allowMissing"); !ok {
				return nil
			}
		}
	default:
		p.errorf(n.Line, "%s: an expression must be a string or {expr, allowMissing}, not %s", what, kindOf(n))
		return nil
	}
	e, err := CompileExpression(src)
	if err != nil {
		p.errorf(srcNode.Line, "%s: %v", what, err)
		return nil
	}
	e.AllowMissing = allowMissing
	e.Line = srcNode.Line
	return e
}

func (p *parser) subject(n *yaml.Node, l *Layout) {
	fs, ok := p.mapping(n, "subject", "step", "patterns")
	if !ok {
		return
	}
	l.Subject.Line = n.Line
	if f, has := fs["step"]; has {
		l.Subject.Step, _ = p.str(f.val, "subject: step")
		l.Subject.Line = f.val.Line
	} else {
		p.errorf(n.Line, "subject: missing required field \"step\"")
	}
	l.Subject.Patterns = []string{"*"}
	if f, has := fs["patterns"]; has {
		items, ok := p.seq(f.val, "subject: patterns")
		if !ok {
			return
		}
		if len(items) == 0 {
			p.errorf(f.val.Line, "subject: patterns must not be empty (omit it for all products)")
			return
		}
		l.Subject.Patterns = nil
		for _, it := range items {
			g, ok := p.nonEmpty(it, "subject: pattern")
			if !ok {
				continue
			}
			if _, err := path.Match(g, ""); err != nil {
				p.errorf(it.Line, "subject: pattern %q: bad glob: %v", g, err)
				continue
			}
			l.Subject.Patterns = append(l.Subject.Patterns, g)
		}
	}
}

// allowedExtra parses allowedExtraPredicates: predicate types whose signed
// statements verify ignores (reported, never evaluated) instead of failing.
func (p *parser) allowedExtra(n *yaml.Node, l *Layout) {
	const what = "allowedExtraPredicates"
	items, ok := p.seq(n, what)
	if !ok {
		return
	}
	if len(items) == 0 {
		p.errorf(n.Line, "%s must not be empty (omit it to allow no extra predicate types)", what)
	}
	seen := map[string]int{}
	for _, it := range items {
		typ, ok := p.nonEmpty(it, what+": predicate type")
		if !ok {
			continue
		}
		if u, err := url.Parse(typ); err != nil || !u.IsAbs() {
			p.errorf(it.Line, "%s: predicate type %q is not an absolute URI", what, typ)
			continue
		}
		if first, dup := seen[typ]; dup {
			p.errorf(it.Line, "%s: predicate type %q listed twice (first at line %d)", what, typ, first)
			continue
		}
		seen[typ] = it.Line
		if alwaysEvaluated[typ] {
			p.errorf(it.Line, "%s: %s is evaluated for every step: it cannot be ignored", what, typ)
			continue
		}
		l.AllowedExtraPredicates = append(l.AllowedExtraPredicates, typ)
		l.extraLines = append(l.extraLines, it.Line)
	}
}

// baseModels parses
//
//	baseModels:
//	  pinSigners: [owner]
//	  pins:
//	    - model: hf://ORG/NAME@COMMIT
//	      files: {PATH: SHA256, ...}
func (p *parser) baseModels(n *yaml.Node, l *Layout) {
	fs, ok := p.mapping(n, "baseModels", "pinSigners", "pins")
	if !ok {
		return
	}
	bm := &BaseModelPolicy{Line: n.Line}
	l.BaseModels = bm
	if f, has := fs["pinSigners"]; has {
		items, _ := p.seq(f.val, "baseModels: pinSigners")
		seen := map[string]bool{}
		for _, it := range items {
			name, ok := p.str(it, "baseModels: pin signer")
			if !ok {
				continue
			}
			switch {
			case !p.declared[name]:
				p.errorf(it.Line, "baseModels: unknown functionary %q in pinSigners", name)
			case seen[name]:
				p.errorf(it.Line, "baseModels: functionary %q listed twice in pinSigners", name)
			case l.Functionaries[name] != nil:
				bm.PinSigners = append(bm.PinSigners, name)
			}
			seen[name] = true
		}
	}
	if f, has := fs["pins"]; has {
		items, _ := p.seq(f.val, "baseModels: pins")
		seen := map[string]int{}
		for _, it := range items {
			pin, ok := p.pin(it)
			if !ok {
				continue
			}
			if first, dup := seen[pin.URI()]; dup {
				p.errorf(it.Line, "baseModels: %s pinned twice (first at line %d)", pin.URI(), first)
				continue
			}
			seen[pin.URI()] = it.Line
			bm.Pins = append(bm.Pins, pin)
		}
	}
	written := 0 // entries written, valid or not: a broken one has its own error
	for _, k := range []string{"pinSigners", "pins"} {
		if f, has := fs[k]; has {
			written += len(f.val.Content)
		}
	}
	if written == 0 {
		p.errorf(n.Line, "baseModels: give pins, pinSigners, or both (an empty policy would refuse every base model)")
	}
}

func (p *parser) pin(n *yaml.Node) (predicates.ModelPin, bool) {
	fs, ok := p.mapping(n, "baseModels: pin", "model", "files")
	if !ok || !p.required(fs, n, "baseModels: pin", "model", "files") {
		return predicates.ModelPin{}, false
	}
	uri, ok := p.str(fs["model"].val, "baseModels: pin model")
	if !ok {
		return predicates.ModelPin{}, false
	}
	repo, rev, err := predicates.ParseHFURI(uri)
	if err != nil {
		p.errorf(fs["model"].val.Line, "baseModels: %v", err)
		return predicates.ModelPin{}, false
	}
	pin := predicates.ModelPin{Repository: repo, Revision: rev}
	files := fs["files"].val
	if files.Kind != yaml.MappingNode {
		p.errorf(files.Line, "baseModels: pin %s: files must be a mapping from path to sha256, not %s", uri, kindOf(files))
		return predicates.ModelPin{}, false
	}
	for i := 0; i+1 < len(files.Content); i += 2 {
		path, ok1 := p.str(files.Content[i], "baseModels: pinned file path")
		sum, ok2 := p.str(files.Content[i+1], "baseModels: pinned file sha256")
		if ok1 && ok2 {
			pin.Files = append(pin.Files, predicates.ModelPinFile{Path: path, SHA256: sum})
		}
	}
	if err := pin.Check(); err != nil {
		p.errorf(files.Line, "baseModels: %v", err)
		return predicates.ModelPin{}, false
	}
	return pin, true
}

// crossCheck checks references between parts of the layout.
func (p *parser) crossCheck(l *Layout) {
	names := map[string]bool{}
	for _, s := range l.Steps {
		names[s.Name] = true
	}
	for _, s := range l.Steps {
		for _, rs := range [][]ArtifactRule{s.ExpectedMaterials, s.ExpectedProducts} {
			for _, r := range rs {
				if r.Kind == RuleMatch && !names[r.FromStep] {
					p.errorf(r.Line, "step %s: rule %q: FROM unknown step %q", s.Name, r.Raw, r.FromStep)
				}
			}
		}
	}
	if l.Subject.Step != "" && !names[l.Subject.Step] {
		p.errorf(l.Subject.Line, "subject: unknown step %q", l.Subject.Step)
	}
}
