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
		if sev, r, m := jinjaCodeProblem(code, closer == "%}"); sev != Safe {
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
	kind byte // 'i' identifier, 's' string, 'o' operator/other
	text string
}

func jinjaTokens(code string) ([]jtok, bool) {
	var toks []jtok
	for i := 0; i < len(code); {
		c := code[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '-' && (i == 0 || i == len(code)-1):
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
			toks = append(toks, jtok{'s', b.String()})
			i = k + 1
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80:
			k := i
			for k < len(code) && (code[k] == '_' || code[k] >= 'a' && code[k] <= 'z' || code[k] >= 'A' && code[k] <= 'Z' || code[k] >= '0' && code[k] <= '9' || code[k] >= 0x80) {
				k++
			}
			toks = append(toks, jtok{'i', code[i:k]})
			i = k
		default:
			toks = append(toks, jtok{'o', string(c)})
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

func jinjaCodeProblem(code string, stmt bool) (Verdict, string, string) {
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
	if pending {
		return Unknown, ruleChatTemplateAttr, "|attr looks attributes up by a name computed at render time"
	}
	return Safe, "", ""
}
