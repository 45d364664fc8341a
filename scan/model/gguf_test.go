package model

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// gg assembles GGUF v3 files.
type gg struct {
	kv      bytes.Buffer
	nkv     int
	tensors bytes.Buffer
	nt      int
	data    int64 // bytes of tensor data to append
	align   int64
}

func ggStr(b *bytes.Buffer, s string) {
	binary.Write(b, binary.LittleEndian, uint64(len(s)))
	b.WriteString(s)
}

func (g *gg) str(k, v string) *gg {
	ggStr(&g.kv, k)
	binary.Write(&g.kv, binary.LittleEndian, uint32(gString))
	ggStr(&g.kv, v)
	g.nkv++
	return g
}

func (g *gg) u32(k string, v uint32) *gg {
	ggStr(&g.kv, k)
	binary.Write(&g.kv, binary.LittleEndian, uint32(gUint32))
	binary.Write(&g.kv, binary.LittleEndian, v)
	g.nkv++
	return g
}

func (g *gg) strArray(k string, vs ...string) *gg {
	ggStr(&g.kv, k)
	binary.Write(&g.kv, binary.LittleEndian, uint32(gArray))
	binary.Write(&g.kv, binary.LittleEndian, uint32(gString))
	binary.Write(&g.kv, binary.LittleEndian, uint64(len(vs)))
	for _, v := range vs {
		ggStr(&g.kv, v)
	}
	g.nkv++
	return g
}

// tensor adds a tensor info at offset off of typ with dims; size is the
// data bytes it occupies.
func (g *gg) tensor(name string, typ uint32, off uint64, dims ...uint64) *gg {
	ggStr(&g.tensors, name)
	binary.Write(&g.tensors, binary.LittleEndian, uint32(len(dims)))
	for _, d := range dims {
		binary.Write(&g.tensors, binary.LittleEndian, d)
	}
	binary.Write(&g.tensors, binary.LittleEndian, typ)
	binary.Write(&g.tensors, binary.LittleEndian, off)
	g.nt++
	return g
}

func (g *gg) bytes() []byte {
	var b bytes.Buffer
	b.WriteString("GGUF")
	binary.Write(&b, binary.LittleEndian, uint32(3))
	binary.Write(&b, binary.LittleEndian, uint64(g.nt))
	binary.Write(&b, binary.LittleEndian, uint64(g.nkv))
	b.Write(g.kv.Bytes())
	b.Write(g.tensors.Bytes())
	align := g.align
	if align == 0 {
		align = 32
	}
	for int64(b.Len())%align != 0 {
		b.WriteByte(0)
	}
	b.Write(make([]byte, g.data))
	return b.Bytes()
}

const chatml = `{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}`

const llama3 = `{%- set ns = namespace(found=false) -%}{{- bos_token }}{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}{%- else %}{%- set system_message = "" %}{%- endif %}{# a comment with __class__ is not code #}{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif %}{{ raise_exception('Only user and assistant roles are supported!') if false }}`

func TestGGUF(t *testing.T) {
	base := func() *gg {
		g := &gg{}
		g.str("general.architecture", "llama").u32("general.alignment", 32).strArray("tokenizer.ggml.tokens", "<s>", "</s>", "a")
		return g
	}
	full := base().str("tokenizer.chat_template", chatml).
		tensor("tok_embd.weight", 0, 0, 4, 2).   // F32 4x2 = 32 bytes
		tensor("blk.0.attn_q.weight", 8, 32, 64) // Q8_0 64 elems = 2 blocks * 34 = 68 bytes
	full.data = 32 + 68
	tpl := func(s string) []byte {
		g := base().str("tokenizer.chat_template", s)
		return g.bytes()
	}
	cut := full.bytes()
	check(t, []sample{
		{"benign full", full.bytes(), Safe, "", FormatGGUF},
		{"benign llama3 template", tpl(llama3), Safe, "", FormatGGUF},
		{"benign named template", base().str("tokenizer.chat_template.tool_use", chatml).bytes(), Safe, "", FormatGGUF},
		{"ssti class mro", tpl(`{{ ''.__class__.__mro__[1].__subclasses__() }}`), Malicious, "gguf-chat-template-ssti", ""},
		{"ssti globals", tpl(`{{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}`), Malicious, "gguf-chat-template-ssti", ""},
		{"ssti in statement", tpl(`{% set x = cycler.__init__.__globals__ %}{{ x }}`), Malicious, "gguf-chat-template-ssti", ""},
		{"ssti subscript string", tpl(`{{ lipsum['__globals__']['os'] }}`), Malicious, "gguf-chat-template-ssti", ""},
		{"ssti escapes", tpl(`{{ lipsum['\x5f\x5fglobals\x5f\x5f'] }}`), Malicious, "gguf-chat-template-ssti", ""},
		{"ssti concat", tpl(`{{ lipsum|attr('_' ~ '_globals_' + '_') }}`), Malicious, "gguf-chat-template-ssti", ""},
		{"ssti multiply", tpl(`{{ x[('_' * 2) ~ 'class' ~ ('_' * 2)] }}`), Malicious, "gguf-chat-template-ssti", ""},
		{"ssti mro attr", tpl(`{{ x.mro()[1] }}`), Malicious, "gguf-chat-template-ssti", ""},
		{"ssti closer in string", tpl(`{{ '}}' ~ ''.__class__ }}`), Malicious, "gguf-chat-template-ssti", ""},
		{"attr filter", tpl(`{% set n = 'con' ~ 'tent' %}{{ message|attr(n) }}`), Unknown, "gguf-chat-template-attr", ""},
		{"attr filter by a data name", tpl(`{{ message|attr(name) }}{{ message|attr('content') }}`), Safe, "", ""},
		{"include", tpl(`{% include 'other.j2' %}`), Unknown, "gguf-chat-template-load", ""},
		{"unterminated", tpl(`{{ messages`), Unknown, "gguf-chat-template", ""},
		{"bad version", append([]byte("GGUF\x07\x00\x00\x00"), make([]byte, 16)...), Invalid, "gguf-version", ""},
		{"truncated", cut[:40], Error, "truncated", ""},
		{"data truncated", cut[:len(cut)-1], Invalid, "gguf-tensor-offset", ""},
		{"string past end", append([]byte("GGUF\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00"), "\xff\xff\xff\xff\x00\x00\x00\x00abc"...), Error, "truncated", ""},
		{"huge kv count", append([]byte("GGUF\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff\x00\x00\x00"), make([]byte, 64)...), Invalid, "gguf-header", ""},
		{"duplicate key", base().str("general.architecture", "x").bytes(), Invalid, "gguf-duplicate-key", ""},
		{"bad alignment", (&gg{}).u32("general.alignment", 24).bytes(), Invalid, "gguf-alignment", ""},
		{"misaligned offset", func() []byte { g := base().tensor("a", 0, 0, 4).tensor("b", 0, 16, 4); g.data = 64; return g.bytes() }(), Invalid, "gguf-tensor-offset", ""},
		{"overlapping offset", func() []byte { g := base().tensor("a", 0, 0, 16).tensor("b", 0, 32, 4); g.data = 128; return g.bytes() }(), Invalid, "gguf-tensor-offset", ""},
		{"unknown tensor type", func() []byte { g := base().tensor("a", 200, 0, 4); g.data = 32; return g.bytes() }(), Unknown, "gguf-tensor-type", ""},
		{"too many dims", func() []byte { g := base().tensor("a", 0, 0, 1, 1, 1, 1, 1); g.data = 32; return g.bytes() }(), Invalid, "gguf-tensor-dims", ""},
		{"block size", func() []byte { g := base().tensor("a", 8, 0, 33); g.data = 64; return g.bytes() }(), Invalid, "gguf-tensor-dims", ""},
		{"duplicate tensor", func() []byte { g := base().tensor("a", 0, 0, 8).tensor("a", 0, 32, 8); g.data = 64; return g.bytes() }(), Invalid, "gguf-tensor-name", ""},
		{"gzip gguf", gz(full.bytes()), Safe, "", "gzip/gguf"},
		{"gzip gguf truncated data", gz(cut[:len(cut)-1]), Invalid, "gguf-tensor-offset", ""},
	})
	// A huge template is not read into memory beyond the cap.
	big := tpl(strings.Repeat("x", 1000))
	if r := scanBytes(big); r.Verdict != Safe {
		t.Fatal(describe(r))
	}
}
