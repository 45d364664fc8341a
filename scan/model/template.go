package model

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Rules of the chat-template checker. A template in GGUF metadata reports
// them prefixed with "gguf-" (gguf-chat-template-ssti, ...), the ids GGUF
// scans have always carried; templates in tokenizer configs and template
// files report them as they are.
const (
	ruleChatTemplate     = "chat-template"
	ruleChatTemplateSSTI = "chat-template-ssti"
	ruleChatTemplateLoad = "chat-template-load"
	ruleChatTemplateAttr = "chat-template-attr"
)

// checkTemplate records the chat-template checker's answer for one
// template; what names where it was found.
func (sc *scan) checkTemplate(member, what, tpl string) {
	if sev, rule, msg := chatTemplateProblem(tpl); sev != Safe {
		sc.add(member, -1, sev, rule, "%s: %s", what, msg)
	}
}

// chatTemplateProblem checks a Jinja chat template for constructs that
// reach Python internals when rendered by jinja2 outside its sandbox
// (CVE-2024-34359: {{ ”.__class__.__mro__[1].__subclasses__() }} and
// friends). Chat templates only need loops, conditions, string operations
// and the message dicts, so instead of knowing every gadget the check
// blocks what every gadget needs: a dunder attribute (spelled directly, in
// a string, through escapes or by concatenating string pieces), the
// non-dunder frame/code/globals attributes, and dynamic attribute access
// (|attr, whose name can be computed at render time). Loading other
// templates (import/include/extends/from) is unknown: what runs then is
// not in the file.
func chatTemplateProblem(tpl string) (Verdict, string, string) {
	worst, rule, msg := Safe, "", ""
	// Macro internals carry whatever a caller passes: built.
	scope := jinjaScope{"varargs": fromBuilt, "kwargs": fromBuilt, "caller": fromBuilt}
	note := func(sev Verdict, r, m string) {
		if verdictRank[sev] > verdictRank[worst] {
			worst, rule, msg = sev, r, m
		}
	}
	if !utf8.ValidString(tpl) {
		note(Unknown, ruleChatTemplate, "template is not UTF-8")
	}
	for i := 0; i < len(tpl); {
		j := strings.Index(tpl[i:], "{")
		if j < 0 || i+j+1 >= len(tpl) {
			break
		}
		start := i + j
		var closer string
		switch tpl[start+1] {
		case '{':
			closer = "}}"
		case '%':
			closer = "%}"
		case '#':
			end := strings.Index(tpl[start+2:], "#}")
			if end < 0 {
				note(Unknown, ruleChatTemplate, "unterminated comment")
				return worst, rule, msg
			}
			i = start + 2 + end + 2
			continue
		default:
			i = start + 1
			continue
		}
		code, end, ok := jinjaCode(tpl, start+2, closer)
		if !ok {
			note(Unknown, ruleChatTemplate, "unterminated "+tpl[start:start+2]+" block")
			return worst, rule, msg
		}
		i = end
		if sev, r, m := jinjaCodeProblem(code, closer == "%}", scope); sev != Safe {
			note(sev, r, m)
		}
	}
	return worst, rule, msg
}

// jinjaCode returns the code of a block up to its closer, skipping string
// literals (a closer inside a string does not end the block).
func jinjaCode(s string, i int, closer string) (string, int, bool) {
	start := i
	for i < len(s) {
		c := s[i]
		if c == '\'' || c == '"' {
			k := i + 1
			for k < len(s) && s[k] != c {
				if s[k] == '\\' {
					k++
				}
				k++
			}
			if k >= len(s) {
				return "", 0, false
			}
			i = k + 1
			continue
		}
		if strings.HasPrefix(s[i:], closer) {
			return s[start:i], i + len(closer), true
		}
		i++
	}
	return "", 0, false
}

// jinjaInternals are attributes (or names) that lead from any object to
// code, frames or globals without dunders.
var jinjaInternals = map[string]bool{
	"mro": true, "subclasses": true, "globals": true, "builtins": true, "func_globals": true,
	"f_globals": true, "f_builtins": true, "f_locals": true, "f_back": true, "gi_frame": true,
	"gi_code": true, "cr_frame": true, "cr_code": true, "ag_frame": true, "tb_frame": true,
	"co_code": true, "im_func": true, "im_class": true, "func_code": true, "import_module": true,
	"popen": true, "environ": true,
}

type jtok struct {
	kind byte // 'i' identifier, 's' string, 'n' number, 'o' operator/other
	text string
	esc  bool // a string written with backslash escapes
}

func jinjaTokens(code string) ([]jtok, bool) {
	var toks []jtok
	for i := 0; i < len(code); {
		c := code[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || (c == '-' || c == '+') && (i == 0 || i == len(code)-1):
			i++
		case c == '\'' || c == '"':
			k := i + 1
			var b strings.Builder
			for k < len(code) && code[k] != c {
				if code[k] == '\\' && k+1 < len(code) {
					r, n, ok := pyEscape(code[k:])
					if !ok {
						return nil, false
					}
					b.WriteString(r)
					k += n
					continue
				}
				b.WriteByte(code[k])
				k++
			}
			toks = append(toks, jtok{kind: 's', text: b.String(), esc: strings.Contains(code[i:min(k, len(code))], `\`)})
			i = k + 1
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80:
			k := i
			for k < len(code) && (code[k] == '_' || code[k] >= 'a' && code[k] <= 'z' || code[k] >= 'A' && code[k] <= 'Z' || code[k] >= '0' && code[k] <= '9' || code[k] >= 0x80) {
				k++
			}
			toks = append(toks, jtok{kind: 'i', text: code[i:k]})
			i = k
		case c >= '0' && c <= '9':
			k := i
			for k < len(code) && (code[k] >= '0' && code[k] <= '9' || code[k] == '.' && k+1 < len(code) && code[k+1] >= '0' && code[k+1] <= '9' || code[k] == '_') {
				k++
			}
			toks = append(toks, jtok{kind: 'n', text: code[i:k]})
			i = k
		default:
			toks = append(toks, jtok{kind: 'o', text: string(c)})
			i++
		}
	}
	return toks, true
}

// pyEscape decodes one backslash escape of a Python string literal.
func pyEscape(s string) (string, int, bool) {
	if len(s) < 2 {
		return "", 0, false
	}
	hex := func(n int) (string, int, bool) {
		if len(s) < 2+n {
			return "", 0, false
		}
		x, err := strconv.ParseUint(s[2:2+n], 16, 32)
		if err != nil {
			return "", 0, false
		}
		return string(rune(x)), 2 + n, true
	}
	switch s[1] {
	case 'x':
		return hex(2)
	case 'u':
		return hex(4)
	case 'U':
		return hex(8)
	case 'N':
		return "", 0, false // named characters could spell anything
	case 'n':
		return "\n", 2, true
	case 't':
		return "\t", 2, true
	case 'r':
		return "\r", 2, true
	}
	if s[1] >= '0' && s[1] <= '7' {
		n := 1
		for n < 3 && 1+n < len(s) && s[1+n] >= '0' && s[1+n] <= '7' {
			n++
		}
		x, _ := strconv.ParseUint(s[1:1+n], 8, 32)
		return string(rune(x)), 1 + n, true
	}
	return s[1:2], 2, true
}

func jinjaCodeProblem(code string, stmt bool, scope jinjaScope) (Verdict, string, string) {
	toks, ok := jinjaTokens(code)
	if !ok {
		return Malicious, ruleChatTemplateSSTI, "string escape that names a character (\\N{...}) or is cut short: could spell a dunder"
	}
	if stmt && len(toks) > 0 && toks[0].kind == 'i' {
		switch toks[0].text {
		case "import", "include", "extends", "from":
			return Unknown, ruleChatTemplateLoad, "template loads another template ({% " + toks[0].text + " %}), which is not in the file"
		}
	}
	// Adjacent string pieces joined by ~ or + are one string at render
	// time; so are pieces repeated with *.
	var joined strings.Builder
	flush := func() (Verdict, string, string) {
		s := joined.String()
		joined.Reset()
		if strings.Contains(s, "__") {
			return Malicious, ruleChatTemplateSSTI, "string concatenation builds the dunder name " + strconv.Quote(s)
		}
		return Safe, "", ""
	}
	pending := false
	for k, t := range toks {
		switch t.kind {
		case 'i':
			if strings.Contains(t.text, "__") {
				return Malicious, ruleChatTemplateSSTI, "dunder attribute " + t.text + " reaches Python internals"
			}
			if jinjaInternals[t.text] && k > 0 && toks[k-1].text == "." {
				return Malicious, ruleChatTemplateSSTI, "attribute ." + t.text + " reaches Python internals"
			}
			if t.text == "attr" && k > 0 && toks[k-1].text == "|" {
				// Unknown unless what follows shows a dunder: keep looking.
				pending = true
			}
			if sev, r, m := flush(); sev != Safe {
				return sev, r, m
			}
		case 's':
			if strings.Contains(t.text, "__") {
				return Malicious, ruleChatTemplateSSTI, "string " + strconv.Quote(t.text) + " names a dunder attribute"
			}
			if jinjaInternals[t.text] {
				return Malicious, ruleChatTemplateSSTI, "string " + strconv.Quote(t.text) + " names an attribute that reaches Python internals"
			}
			if k+2 < len(toks) && toks[k+1].text == "*" && strings.Contains(t.text, "_") {
				return Malicious, ruleChatTemplateSSTI, "underscores repeated with * can build a dunder name"
			}
			joined.WriteString(t.text)
		case 'o':
			if t.text != "~" && t.text != "+" && t.text != "(" && t.text != ")" {
				if sev, r, m := flush(); sev != Safe {
					return sev, r, m
				}
			}
		}
	}
	if sev, r, m := flush(); sev != Safe {
		return sev, r, m
	}
	_ = pending // |attr is judged by where its name comes from, below
	if stmt && len(toks) > 0 {
		if sev, r, m := scope.statement(toks); sev != Safe {
			return sev, r, m
		}
	}
	return lookupProblem(toks, scope)
}

// Lookups by name. Every attribute, item and attribute-taking filter
// lookup is judged by where its name comes from: a literal whose value
// does not start with "_" passes, and so does a name from the render data
// or a loop over it; a name the template builds (concatenation, filters,
// format, escapes, a {% set %} of such) or takes as a macro parameter is
// refused, since it can spell anything at render time.

// origin is where a variable's value comes from.
type origin int

const (
	fromData  origin = iota // render data, globals, loops over them
	fromBuilt               // built by the template: refused as a lookup name
)

// jinjaScope holds the variables the template assigns, across blocks
// (scoping is ignored: a name built anywhere stays suspect everywhere).
type jinjaScope map[string]origin

// statementKeywords are the statements transformers' environment knows
// (loop controls and its generation extension included).
var statementKeywords = map[string]bool{
	"if": true, "elif": true, "else": true, "endif": true, "for": true, "endfor": true,
	"set": true, "endset": true, "macro": true, "endmacro": true, "call": true, "endcall": true,
	"filter": true, "endfilter": true, "with": true, "endwith": true, "break": true, "continue": true,
	"generation": true, "endgeneration": true, "raw": true, "endraw": true,
	"block": true, "endblock": true, "autoescape": true, "endautoescape": true,
}

// statement records the variables a statement assigns; statements it does
// not know are unknown (fail closed).
func (sc jinjaScope) statement(toks []jtok) (Verdict, string, string) {
	kw := toks[0].text
	if toks[0].kind != 'i' || !statementKeywords[kw] {
		return Unknown, ruleChatTemplate, "statement {% " + kw + " %} is not one chat templates use"
	}
	switch kw {
	case "for":
		in := indexTok(toks, "in")
		if in < 0 {
			return Unknown, ruleChatTemplate, "for without in"
		}
		o := exprOrigin(toks[in+1:], sc)
		for _, t := range toks[1:in] {
			if t.kind == 'i' {
				sc[t.text] = o
			}
		}
	case "set", "with":
		eq := indexTok(toks, "=")
		if eq < 0 { // {% set x %}...{% endset %} captures output
			for _, t := range toks[1:] {
				if t.kind == 'i' {
					sc[t.text] = fromBuilt
				}
			}
			break
		}
		o := exprOrigin(toks[eq+1:], sc)
		targets := toks[1:eq]
		if kw == "with" {
			// with a = x, b = y: every name is judged by the whole list.
			targets = toks[1:]
		}
		for k, t := range targets {
			if t.kind != 'i' || k > 0 && targets[k-1].text == "." {
				continue
			}
			switch {
			case k+1 < len(targets) && targets[k+1].text == ".":
				// ns.x = built taints the namespace ns as a whole.
				if o == fromBuilt {
					sc[t.text] = fromBuilt
				}
			case kw == "with" && !(k+1 < len(targets) && targets[k+1].text == "="):
			default:
				sc[t.text] = o
			}
		}
	case "macro", "call":
		for _, t := range toks[1:] {
			if t.kind == 'i' {
				sc[t.text] = fromBuilt
			}
		}
	}
	return Safe, "", ""
}

func indexTok(toks []jtok, text string) int {
	for i, t := range toks {
		if t.text == text && t.kind != 's' {
			return i
		}
	}
	return -1
}

// exprOrigin: an expression is data (render data, loop variables,
// arithmetic on them) unless it can build a string: a template variable of
// built origin, string literals or keyword-argument names (dict(_=1))
// combined with operators or calls, "~", filters, "%", or "+"/"-" that are
// not arithmetic with a number. A bare literal or list of literals is
// built only when a literal is suspect.
func exprOrigin(toks []jtok, sc jinjaScope) origin {
	strs, ops := false, false
	for k, t := range toks {
		switch {
		case t.kind == 'i' && k+1 < len(toks) && toks[k+1].text == "=" && toks[k+1].kind == 'o':
			strs = true // a keyword argument's name is a string at render time
		case t.kind == 'i' && (k == 0 || toks[k-1].text != ".") && sc[t.text] == fromBuilt:
			return fromBuilt
		case t.kind == 's':
			strs = true
			if t.esc || strings.HasPrefix(t.text, "_") {
				return fromBuilt
			}
		case t.kind == 'o' && strings.Contains("~|%", t.text):
			return fromBuilt
		case t.kind == 'o' && (t.text == "+" || t.text == "-"):
			if !(k+1 < len(toks) && toks[k+1].kind == 'n' || k > 0 && toks[k-1].kind == 'n') {
				return fromBuilt
			}
		case t.kind == 'o' && strings.Contains("*(", t.text):
			ops = true
		}
	}
	if strs && ops {
		return fromBuilt
	}
	return fromData
}

// jinjaKeywords are identifiers that are operators, not operands.
var jinjaKeywords = map[string]bool{"in": true, "and": true, "or": true, "not": true, "is": true, "if": true, "else": true}

// attributeFilters take an attribute name: positionally (first argument)
// or as attribute=.
var attributeFilters = map[string]bool{
	"attr": true, "map": true, "selectattr": true, "rejectattr": true, "sort": true, "groupby": true,
	"sum": true, "unique": true, "min": true, "max": true,
}

// lookupProblem judges every lookup of one block.
func lookupProblem(toks []jtok, sc jinjaScope) (Verdict, string, string) {
	for k := 0; k < len(toks); k++ {
		t := toks[k]
		switch {
		case t.text == "." && t.kind == 'o' && k+1 < len(toks) && toks[k+1].kind == 'i':
			if sev, m := nameProblem(toks[k+1].text, false); sev != Safe {
				return sev, ruleChatTemplateAttr, "attribute ." + toks[k+1].text + ": " + m
			}
		case t.text == "[" && t.kind == 'o' && k > 0 && operandEnd(toks[k-1]):
			end := matching(toks, k)
			if end < 0 {
				return Unknown, ruleChatTemplate, "unbalanced [ in an expression"
			}
			if sev, m := keyProblem(toks[k+1:end], sc, false); sev != Safe {
				return sev, ruleChatTemplateAttr, "item lookup: " + m
			}
		case t.kind == 'i' && k > 0 && (toks[k-1].text == "|" || k == 1 && toks[0].text == "filter") && attributeFilters[t.text]:
			if sev, m := filterProblem(t.text, toks, k, sc); sev != Safe {
				return sev, ruleChatTemplateAttr, "|" + t.text + ": " + m
			}
		}
	}
	return Safe, "", ""
}

func operandEnd(t jtok) bool {
	return t.kind == 's' || t.kind == 'n' || t.kind == 'i' && !jinjaKeywords[t.text] || t.text == ")" || t.text == "]"
}

// matching returns the index of the bracket closing the one at open.
func matching(toks []jtok, open int) int {
	pairs := map[string]string{"(": ")", "[": "]", "{": "}"}
	var stack []string
	for k := open; k < len(toks); k++ {
		if toks[k].kind != 'o' {
			continue
		}
		if c, ok := pairs[toks[k].text]; ok {
			stack = append(stack, c)
		} else if len(stack) > 0 && toks[k].text == stack[len(stack)-1] {
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return k
			}
		} else if toks[k].text == ")" || toks[k].text == "]" || toks[k].text == "}" {
			return -1
		}
	}
	return -1
}

// nameProblem judges a literal name; dotted names (an attribute= argument)
// are judged component by component, as Jinja splits them.
func nameProblem(name string, dotted bool) (Verdict, string) {
	parts := []string{name}
	if dotted {
		parts = strings.Split(name, ".")
	}
	for _, p := range parts {
		switch {
		case strings.HasPrefix(p, "__"):
			return Malicious, "the name " + strconv.Quote(p) + " is a dunder"
		case strings.HasPrefix(p, "_"):
			return Unknown, "the name " + strconv.Quote(p) + " starts with an underscore"
		}
	}
	return Safe, ""
}

// keyProblem judges the expression naming a lookup.
func keyProblem(key []jtok, sc jinjaScope, dotted bool) (Verdict, string) {
	if len(key) == 0 {
		return Unknown, "empty lookup"
	}
	if len(key) == 1 && key[0].kind == 's' {
		if key[0].esc {
			return Unknown, "the name " + strconv.Quote(key[0].text) + " is spelled with escapes"
		}
		return nameProblem(key[0].text, dotted)
	}
	if exprOrigin(key, sc) == fromBuilt {
		return Unknown, "the name is built by the template"
	}
	for _, t := range key {
		if t.kind == 's' {
			return Unknown, "the name is built by the template"
		}
	}
	return Safe, ""
}

// filterProblem judges the attribute argument of a filter at toks[k].
func filterProblem(name string, toks []jtok, k int, sc jinjaScope) (Verdict, string) {
	if k+1 >= len(toks) || toks[k+1].text != "(" {
		if name == "attr" {
			return Unknown, "attr without an argument"
		}
		return Safe, ""
	}
	end := matching(toks, k+1)
	if end < 0 {
		return Unknown, "unbalanced ( in a filter call"
	}
	args := splitArgs(toks[k+2 : end])
	for i, a := range args {
		if len(a) >= 2 && a[0].kind == 'i' && a[1].text == "=" {
			if a[0].text == "attribute" {
				if sev, m := keyProblem(a[2:], sc, true); sev != Safe {
					return sev, m
				}
			}
			continue
		}
		switch {
		case i == 0 && name == "attr":
			return keyProblem(a, sc, false)
		case i == 0 && (name == "selectattr" || name == "rejectattr" || name == "groupby"):
			if sev, m := keyProblem(a, sc, true); sev != Safe {
				return sev, m
			}
		case i == 0 && name == "map":
			// map('filter', ...) applies a filter by name: attr's name is
			// the next argument; a computed filter name could be attr.
			if len(a) != 1 || a[0].kind != 's' || a[0].esc {
				return Unknown, "map applies a filter whose name is computed"
			}
			if a[0].text == "attr" {
				if len(args) < 2 {
					return Unknown, "map('attr') without a name"
				}
				return keyProblem(args[1], sc, false)
			}
		}
	}
	return Safe, ""
}

// splitArgs splits call arguments at top-level commas.
func splitArgs(toks []jtok) [][]jtok {
	var out [][]jtok
	depth, start := 0, 0
	for k, t := range toks {
		if t.kind != 'o' {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
		case ",":
			if depth == 0 {
				out = append(out, toks[start:k])
				start = k + 1
			}
		}
	}
	if start < len(toks) {
		out = append(out, toks[start:])
	}
	return out
}
