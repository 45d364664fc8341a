package model

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/mlattest/mlattest/internal/jsonesc"
)

// jsonMaxDepth bounds nesting: real configs and tokenizers nest a handful
// of levels, and a recursive parser must not be driven off its stack.
const jsonMaxDepth = 512

// jsonObject keeps an object's members in file order (duplicates are
// refused while parsing, so keys are unique).
type jsonObject struct {
	keys []string
	vals map[string]any
}

func (o *jsonObject) get(k string) (any, bool) {
	v, ok := o.vals[k]
	return v, ok
}

// jsonNumber is a number as written (NaN, Infinity and -Infinity included:
// Python's json module writes and reads them).
type jsonNumber string

// errJSON is a syntax error at a byte offset.
type errJSON struct {
	off int
	msg string
}

func (e *errJSON) Error() string { return fmt.Sprintf("offset %d: %s", e.off, e.msg) }

// parseJSON parses exactly one JSON value the way Python's json.loads
// reads a UTF-8 file: whitespace around it, no duplicate object keys (a
// reader keeping the first and one keeping the last would see different
// configs), NaN/Infinity/-Infinity accepted, lone surrogate escapes
// accepted as Python does. Values are *jsonObject, []any, string,
// jsonNumber, bool and nil.
func parseJSON(b []byte) (any, error) {
	if !utf8.Valid(b) {
		return nil, &errJSON{off: invalidUTF8At(b), msg: "not UTF-8"}
	}
	p := &jsonParser{b: b}
	p.space()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(b) {
		return nil, p.fail("data after the value")
	}
	return v, nil
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

type jsonParser struct {
	b []byte
	i int
}

func (p *jsonParser) fail(msg string) error { return &errJSON{off: p.i, msg: msg} }

func (p *jsonParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) lit(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

func (p *jsonParser) value(depth int) (any, error) {
	if depth > jsonMaxDepth {
		return nil, p.fail("nested deeper than " + strconv.Itoa(jsonMaxDepth))
	}
	if p.i >= len(p.b) {
		return nil, p.fail("value expected")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.str()
	case p.lit("true"):
		return true, nil
	case p.lit("false"):
		return false, nil
	case p.lit("null"):
		return nil, nil
	case p.lit("NaN"):
		return jsonNumber("NaN"), nil
	case p.lit("Infinity"):
		return jsonNumber("Infinity"), nil
	case p.lit("-Infinity"):
		return jsonNumber("-Infinity"), nil
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	return nil, p.fail("value expected")
}

func (p *jsonParser) object(depth int) (any, error) {
	p.i++ // {
	o := &jsonObject{vals: map[string]any{}}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return o, nil
	}
	for {
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, p.fail("object key expected")
		}
		at := p.i
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		if _, dup := o.vals[k]; dup {
			return nil, &errJSON{off: at, msg: "duplicate key " + strconv.Quote(k)}
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, p.fail("':' expected")
		}
		p.i++
		p.space()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		o.keys = append(o.keys, k)
		o.vals[k] = v
		p.space()
		if p.i >= len(p.b) {
			return nil, p.fail("unterminated object")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return o, nil
		default:
			return nil, p.fail("',' or '}' expected")
		}
	}
}

func (p *jsonParser) array(depth int) (any, error) {
	p.i++ // [
	a := []any{}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return a, nil
	}
	for {
		p.space()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		p.space()
		if p.i >= len(p.b) {
			return nil, p.fail("unterminated array")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return a, nil
		default:
			return nil, p.fail("',' or ']' expected")
		}
	}
}

// number follows the JSON grammar (Python's is the same: no leading zeros,
// no leading '+', no bare '.').
func (p *jsonParser) number() (any, error) {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.i < len(p.b) && p.b[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return nil, p.fail("digit expected")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, p.fail("digit expected after '.'")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, p.fail("digit expected in exponent")
		}
	}
	return jsonNumber(p.b[start:p.i]), nil
}

// str decodes a string; control characters must be escaped (Python's
// strict mode, the default).
func (p *jsonParser) str() (string, error) {
	p.i++ // "
	var out []byte
	for {
		if p.i >= len(p.b) {
			return "", p.fail("unterminated string")
		}
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), nil
		case c < 0x20:
			return "", p.fail("control character in string")
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.b) {
			return "", p.fail("unterminated escape")
		}
		e := p.b[p.i+1]
		p.i += 2
		if c, ok := jsonesc.Short(e); ok {
			out = append(out, c)
			continue
		}
		switch e {
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.fail("bad \\u escape")
			}
			if utf16.IsSurrogate(r) && p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
				save := p.i
				p.i += 2
				if r2, ok := p.hex4(); ok && utf16.DecodeRune(r, r2) != utf8.RuneError {
					r = utf16.DecodeRune(r, r2)
				} else {
					p.i = save
				}
			}
			// A lone surrogate decodes (Python keeps it; Go cannot
			// represent it and writes U+FFFD, which is no name a lookup
			// can reach).
			out = utf8.AppendRune(out, r)
		default:
			return "", p.fail("bad escape \\" + string(rune(e)))
		}
	}
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	x, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(x), true
}

// checkJSON records what a JSON companion file makes loaders do: import
// repository modules (auto_map, custom_pipelines), render chat templates,
// open shards (weight_map of an index). A notebook is code.
func (sc *scan) checkJSON(v any) string {
	o, ok := v.(*jsonObject)
	if !ok {
		return FormatJSON
	}
	if _, cells := o.get("cells"); cells {
		if _, nb := o.get("nbformat"); nb {
			return FormatNotebook
		}
	}
	sc.remoteCode(o, 0)
	if t, ok := o.get("chat_template"); ok {
		sc.checkChatTemplateValue(t)
	}
	if wm, ok := o.get("weight_map"); ok && strings.HasSuffix(sc.name, ".index.json") {
		sc.parseWeightMap(wm)
	}
	return FormatJSON
}

// remoteCode reports every auto_map and custom_pipelines entry, at any
// depth (composite configs nest their parts' configs).
func (sc *scan) remoteCode(v any, depth int) {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			sc.remoteCode(e, depth+1)
		}
	case *jsonObject:
		for _, k := range v.keys {
			e := v.vals[k]
			switch k {
			case "auto_map":
				sc.autoMap(e)
				continue
			case "custom_pipelines":
				sc.customPipelines(e)
				continue
			}
			sc.remoteCode(e, depth+1)
		}
	}
}

// autoMap: {"AutoModel": "modeling_x.XModel", "AutoTokenizer":
// ["tokenization_x.XTokenizer", null], ...}; "owner/repo--module.Class"
// names another repository's module.
func (sc *scan) autoMap(v any) {
	o, ok := v.(*jsonObject)
	if !ok {
		sc.add("", -1, Unknown, RuleRemoteCode, "auto_map is present but is not an object: what it imports cannot be told")
		return
	}
	for _, k := range o.keys {
		refs := []any{o.vals[k]}
		if l, ok := o.vals[k].([]any); ok {
			refs = l
		}
		for _, r := range refs {
			switch r := r.(type) {
			case nil:
			case string:
				sc.add("", -1, Unknown, RuleRemoteCode, "auto_map %s: %s", k, describeCodeRef(r))
			default:
				sc.add("", -1, Unknown, RuleRemoteCode, "auto_map %s has an entry that is not a module reference", k)
			}
		}
	}
}

// customPipelines: {"task": {"impl": "module.Class", "pt": [...], ...}}.
func (sc *scan) customPipelines(v any) {
	o, ok := v.(*jsonObject)
	if !ok {
		sc.add("", -1, Unknown, RuleRemoteCode, "custom_pipelines is present but is not an object: what it imports cannot be told")
		return
	}
	for _, k := range o.keys {
		impl := ""
		if p, ok := o.vals[k].(*jsonObject); ok {
			impl, _ = p.vals["impl"].(string)
		}
		if impl == "" {
			sc.add("", -1, Unknown, RuleRemoteCode, "custom_pipelines %s names no implementation module that can be read", k)
			continue
		}
		sc.add("", -1, Unknown, RuleRemoteCode, "custom_pipelines %s: %s", k, describeCodeRef(impl))
	}
}

// describeCodeRef names the module a class reference makes loaders import.
func describeCodeRef(ref string) string {
	repo, ref, other := strings.Cut(ref, "--")
	if !other {
		ref, repo = repo, ""
	}
	module := ref
	if i := strings.LastIndexByte(ref, '.'); i > 0 {
		module = ref[:i]
	}
	file := strings.ReplaceAll(module, ".", "/") + ".py"
	if repo != "" {
		return fmt.Sprintf("%s imports module %s (%s) from the repository %s", ref, module, file, repo)
	}
	return fmt.Sprintf("%s imports module %s (%s) from this repository", ref, module, file)
}

// checkChatTemplateValue checks chat_template: a string, or a list of
// {"name": ..., "template": ...}.
func (sc *scan) checkChatTemplateValue(v any) {
	switch v := v.(type) {
	case string:
		sc.checkTemplate("", "chat_template", v)
		return
	case []any:
		for i, e := range v {
			o, ok := e.(*jsonObject)
			if !ok {
				sc.add("", -1, Unknown, ruleChatTemplate, "chat_template entry %d is not an object with a name and a template", i)
				continue
			}
			name, _ := o.vals["name"].(string)
			tpl, ok := o.vals["template"].(string)
			if !ok {
				sc.add("", -1, Unknown, ruleChatTemplate, "chat_template entry %d (%q) has no template string", i, name)
				continue
			}
			sc.checkTemplate("", fmt.Sprintf("chat_template %q", name), tpl)
		}
		return
	case nil:
		return
	}
	sc.add("", -1, Unknown, ruleChatTemplate, "chat_template is neither a string nor a list of templates")
}
