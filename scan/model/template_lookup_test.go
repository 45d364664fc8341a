package model

import "testing"

// TestChatTemplateLookups: lookups are judged by where their name comes
// from (literal, render data, loop variable: pass; built, underscore,
// macro parameter: refused); statements templates do not use fail closed.
func TestChatTemplateLookups(t *testing.T) {
	cases := []struct {
		name, tpl string
		want      Verdict
		rule      string
	}{
		{"literal item", `{{ m['content'] }}`, Safe, ""},
		{"method calls", `{{ m.content.split('\n')[0].strip() }}`, Safe, ""},
		{"loop over data items", `{% for k, v in m.items() %}{{ m[k] ~ v }}{% endfor %}`, Safe, ""},
		{"data name", `{{ m[key] }}{{ m|attr(key) }}`, Safe, ""},
		{"map attribute", `{{ messages|map(attribute='role')|join(',') }}`, Safe, ""},
		{"map attr filter", `{{ messages|map('attr', 'role')|list }}{{ messages|map('upper')|list }}`, Safe, ""},
		{"selectattr", `{{ messages|selectattr('role', 'equalto', 'user')|list|length }}`, Safe, ""},
		{"dotted sort", `{{ messages|sort(attribute='meta.rank')|first }}`, Safe, ""},
		{"groupby sum", `{{ messages|groupby('role') }}{{ messages|sum(attribute='n') }}`, Safe, ""},
		{"index and slice", `{{ messages[-1] }}{{ messages[1:] }}{{ messages[loop.index0 + 1] }}`, Safe, ""},
		{"namespace", `{% set ns = namespace(a=1, sys='') %}{% set ns.a = ns.a + 1 %}{{ ns.a }}`, Safe, ""},
		{"loop controls", `{% for m in messages %}{% if loop.last %}{% break %}{% endif %}{% continue %}{% endfor %}`, Safe, ""},
		{"generation", `{% generation %}{{ m.content }}{% endgeneration %}`, Safe, ""},
		{"macro", `{% macro r(m) %}{{ m.content }}{% endmacro %}{{ r(messages[0]) }}`, Safe, ""},
		{"globals", `{{ raise_exception('no') }}{{ strftime_now('%Y') }}{{ x | tojson }}{{ x | trim }}`, Safe, ""},

		{"underscore item", `{{ m['_private'] }}`, Unknown, ruleChatTemplateAttr},
		{"underscore attribute", `{{ m._x }}`, Unknown, ruleChatTemplateAttr},
		{"dunder item", `{{ m['__class__'] }}`, Malicious, ruleChatTemplateSSTI},
		{"concatenated name", `{% set k = 'con' ~ 'tent' %}{{ m[k] }}`, Unknown, ruleChatTemplateAttr},
		{"joined name", `{% set k = ['con', 'tent']|join %}{{ m[k] }}`, Unknown, ruleChatTemplateAttr},
		{"formatted name", `{{ m['%s'|format('x')] }}`, Unknown, ruleChatTemplateAttr},
		{"escaped name", `{{ m['\x63ontent'] }}`, Unknown, ruleChatTemplateAttr},
		{"loop over built names", `{% for k in ['a' ~ 'b'] %}{{ m[k] }}{% endfor %}`, Unknown, ruleChatTemplateAttr},
		{"macro parameter name", `{% macro f(k) %}{{ m[k] }}{% endmacro %}`, Unknown, ruleChatTemplateAttr},
		{"block set name", `{% set n %}abc{% endset %}{{ m[n] }}`, Unknown, ruleChatTemplateAttr},
		{"built namespace name", `{% set ns = namespace(k='') %}{% set ns.k = 'a' ~ 'b' %}{{ m[ns.k] }}`, Unknown, ruleChatTemplateAttr},
		{"map underscore attribute", `{{ messages|map(attribute='_x')|list }}`, Unknown, ruleChatTemplateAttr},
		{"dotted underscore", `{{ messages|selectattr('a._b')|list }}`, Unknown, ruleChatTemplateAttr},
		{"map computed filter", `{{ messages|map(f)|list }}`, Unknown, ruleChatTemplateAttr},
		{"map attr built", `{% set k = 'a' ~ 'b' %}{{ messages|map('attr', k)|list }}`, Unknown, ruleChatTemplateAttr},
		{"attr without name", `{{ m|attr }}`, Unknown, ruleChatTemplateAttr},
		{"filter statement", `{% filter attr('_x') %}{% endfilter %}`, Unknown, ruleChatTemplateAttr},
		{"do statement", `{% do x.append(1) %}`, Unknown, ruleChatTemplate},
		{"tuple set", `{% set a, k = 1, 'con' ~ 'tent' %}{{ m[k] }}`, Unknown, ruleChatTemplateAttr},
		{"with list", `{% with a = x, k = ['a', 'b']|join %}{{ m[k] }}{% endwith %}`, Unknown, ruleChatTemplateAttr},
		{"varargs", `{% macro f() %}{{ m[varargs[0]] }}{% endmacro %}`, Unknown, ruleChatTemplateAttr},
		{"kwarg names", `{% set k = dict(_=1).popitem()[0] %}{{ m[k + k] }}`, Unknown, ruleChatTemplateAttr},
		{"identifier concatenation", `{{ m|attr(a ~ b) }}`, Unknown, ruleChatTemplateAttr},
		{"plus of names", `{{ m[a + b] }}`, Unknown, ruleChatTemplateAttr},
		{"list hides plus", `{% set k = [a + a, 0][0] %}{{ m[k] }}`, Unknown, ruleChatTemplateAttr},
		{"filter on a name", `{% set k = dict(x=1)|first %}{{ m[k] }}`, Unknown, ruleChatTemplateAttr},
		{"plus whitespace control", `{%+ if x %}{{ m.content }}{%+ endif +%}`, Safe, ""},
		{"unbalanced", `{{ m[0 }}`, Unknown, ruleChatTemplate},
	}
	for _, c := range cases {
		sev, rule, msg := chatTemplateProblem(c.tpl)
		if sev != c.want || rule != c.rule {
			t.Errorf("%s: %s %s %q, want %s %s", c.name, sev, rule, msg, c.want, c.rule)
		}
	}
}
