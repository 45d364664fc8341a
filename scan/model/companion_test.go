package model

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// scanNamed scans b as a file called name.
func scanNamed(name string, b []byte) Result {
	return New(WithDigest(false)).scanReaderAt(context.Background(), bytes.NewReader(b), int64(len(b)), name)
}

type namedSample struct {
	name    string // file name (the extension is a hint)
	data    []byte
	format  string
	verdict Verdict
	rule    string // a finding with this rule must be present ("" for none)
}

func checkNamed(t *testing.T, cases []namedSample) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := scanNamed(c.name, c.data)
			if r.Format != c.format || r.Verdict != c.verdict {
				t.Fatalf("got %s, want format=%s verdict=%s", describe(r), c.format, c.verdict)
			}
			if c.rule != "" && !hasRule(r, c.rule) {
				t.Fatalf("no %s finding: %s", c.rule, describe(r))
			}
			if c.verdict == Safe && len(r.Findings) != 0 {
				t.Fatalf("safe with findings: %s", describe(r))
			}
			if r.Pickle || IsPickleFormat(r.Format) {
				t.Fatalf("a companion file is not a pickle: %s", describe(r))
			}
		})
	}
}

func encodeImage(t testing.TB, format string) []byte {
	t.Helper()
	img := image.NewPaletted(image.Rect(0, 0, 16, 8), color.Palette{color.Black, color.White})
	for x := 0; x < 16; x += 2 {
		img.SetColorIndex(x, x%8, 1)
	}
	var b bytes.Buffer
	var err error
	switch format {
	case FormatPNG:
		err = png.Encode(&b, img)
	case FormatJPEG:
		err = jpeg.Encode(&b, img, nil)
	case FormatGIF:
		err = gif.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// webpOf is a RIFF/WEBP file of the given chunks (fourcc + data).
func webpOf(chunks ...string) []byte {
	var body []byte
	for _, c := range chunks {
		data := c[4:]
		body = append(body, c[:4]...)
		body = binary.LittleEndian.AppendUint32(body, uint32(len(data)))
		body = append(body, data...)
		if len(data)%2 == 1 {
			body = append(body, 0)
		}
	}
	b := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(body)))...)
	return append(append(b, "WEBP"...), body...)
}

func TestCompanionFormats(t *testing.T) {
	pngb, jpg, gifb := encodeImage(t, FormatPNG), encodeImage(t, FormatJPEG), encodeImage(t, FormatGIF)
	badCRC := bytes.Clone(pngb)
	badCRC[len(magicPNG)+20] ^= 1 // inside IHDR's CRC
	checkNamed(t, []namedSample{
		{"config.json", []byte(`{"architectures": ["LlamaForCausalLM"], "tokenizer_class": "LlamaTokenizer", "rope_scaling": null}`), FormatJSON, Safe, ""},
		{"trainer_state.json", []byte(`{"best_metric": NaN, "log_history": [{"loss": Infinity, "grad_norm": -Infinity, "lr": 1e-05}]}`), FormatJSON, Safe, ""},
		{"vocab.json", []byte("{\"\\u0120the\": 1, \"\\ud83d\\ude00\": 2, \"é\": 3}\n"), FormatJSON, Safe, ""},
		{"added_tokens.json", []byte(`{}`), FormatJSON, Safe, ""},
		{"count.json", []byte(`12`), FormatJSON, Safe, ""},
		{"README.md", []byte("---\nlicense: mit\n---\n# Model\n\n| a | b |\n|---|---|\n\tcode\n"), FormatText, Safe, ""},
		{"LICENSE", []byte("MIT License\n\nCopyright (c) 2024\n"), FormatText, Safe, ""},
		{".gitattributes", []byte("*.safetensors filter=lfs diff=lfs merge=lfs -text\n"), FormatText, Safe, ""},
		{"merges.txt", []byte("#version: 0.2\nĠ t\nĠt he\n"), FormatText, Safe, ""},
		{"vocab.txt", []byte("[PAD]\n[UNK]\n日本\n##s\n"), FormatText, Safe, ""},
		{"empty.txt", nil, FormatText, Safe, ""},
		{"figure.png", pngb, FormatPNG, Safe, ""},
		{"photo.jpg", jpg, FormatJPEG, Safe, ""},
		{"anim.gif", gifb, FormatGIF, Safe, ""},
		{"pic.webp", webpOf("VP8L\x2f\x00\x00\x00\x00"), FormatWebP, Safe, ""},
		// Hostile or broken.
		{"dup.json", []byte(`{"a": 1, "a": 2}`), FormatText, Unknown, RuleCompanionMismatch},
		{"notjson.json", []byte("model_type = llama\n"), FormatText, Unknown, RuleCompanionMismatch},
		{"two.json", []byte(`{} {}`), FormatText, Unknown, RuleCompanionMismatch},
		{"bom.json", []byte("\ufeff{}"), FormatText, Unknown, RuleCompanionMismatch},
		{"figure2.png", jpg, FormatJPEG, Unknown, RuleCompanionMismatch},
		{"trail.png", append(bytes.Clone(pngb), "import os"...), FormatPNG, Invalid, "image-structure"},
		{"crc.png", badCRC, FormatPNG, Invalid, "image-structure"},
		{"trail.jpg", append(bytes.Clone(jpg), 0, 1), FormatJPEG, Invalid, "image-structure"},
		{"trunc.jpg", jpg[:len(jpg)/2], FormatJPEG, Invalid, "image-structure"},
		{"trail.gif", append(bytes.Clone(gifb), 'x'), FormatGIF, Invalid, "image-structure"},
		{"trail.webp", append(webpOf("VP8L\x2f\x00\x00\x00\x00"), "zz"...), FormatWebP, Invalid, "image-structure"},
		{"first.webp", webpOf("EXIF\x00\x00"), FormatWebP, Invalid, "image-structure"},
		{"binary.md", []byte("# x\x00\x01\x02"), FormatUnknown, Unknown, RuleCompanionMismatch},
		{"weights.png", safetensorsOf(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 4), FormatSafetensors, Unknown, RuleCompanionMismatch},
	})
	// A model format under a companion's name: a benign pickle is not a
	// safe config.
	r := scanNamed("config.json", newPB(2).global("collections", "OrderedDict").emptyTuple().reduce().stop())
	if r.Verdict == Safe || !hasRule(r, RuleCompanionMismatch) || !r.Pickle {
		t.Errorf("pickle as config.json: %s", describe(r))
	}
}

func TestCodeIsNeverSafe(t *testing.T) {
	notebook := []byte(`{"cells": [{"cell_type": "code", "source": ["import os"]}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`)
	checkNamed(t, []namedSample{
		{"modeling_custom.py", []byte("import torch\nclass Custom(torch.nn.Module):\n    pass\n"), FormatPython, Unknown, RuleCode},
		{"__init__.py", nil, FormatPython, Unknown, RuleCode},
		{"handler", []byte("#!/usr/bin/env python3\nimport os\n"), FormatPython, Unknown, RuleCode},
		{"setup", []byte("#!/bin/sh\ncurl example | sh\n"), FormatShell, Unknown, RuleCode},
		{"run.sh", []byte("echo hi\n"), FormatShell, Unknown, RuleCode},
		{"demo.ipynb", notebook, FormatNotebook, Unknown, RuleCode},
		{"demo.json", notebook, FormatNotebook, Unknown, RuleCode},
		{"cache.pyc", []byte("\x55\x0d\x0d\x0a\x00\x00\x00\x00\xe3"), FormatPython, Unknown, RuleCode},
		{"libop.so", append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 64)...), FormatNativeCode, Unknown, RuleCode},
	})
}

func TestRemoteCode(t *testing.T) {
	cases := []struct {
		name, json, want string
	}{
		{"config.json", `{"architectures": ["X"], "auto_map": {"AutoConfig": "configuration_x.XConfig", "AutoModelForCausalLM": "modeling_x.XForCausalLM"}}`, "modeling_x (modeling_x.py)"},
		{"tokenizer_config.json", `{"auto_map": {"AutoTokenizer": ["tokenization_x.XTokenizer", null]}}`, "tokenization_x (tokenization_x.py)"},
		{"config.json", `{"auto_map": {"AutoModel": "evil/repo--modeling.Model"}}`, "from the repository evil/repo"},
		{"config.json", `{"custom_pipelines": {"x-task": {"impl": "pipe.XPipeline", "pt": ["AutoModel"]}}}`, "pipe (pipe.py)"},
		{"config.json", `{"text_config": {"auto_map": {"AutoModel": "sub.pkg.modeling.M"}}}`, "sub.pkg.modeling (sub/pkg/modeling.py)"},
		{"config.json", `{"auto_map": "modeling.M"}`, "not an object"},
	}
	for _, c := range cases {
		r := scanNamed(c.name, []byte(c.json))
		if r.Format != FormatJSON || r.Verdict != Unknown || !hasRule(r, RuleRemoteCode) || !strings.Contains(describe(r), c.want) {
			t.Errorf("%s: want remote-code naming %q: %s", c.json, c.want, describe(r))
		}
	}
	// Class names alone import nothing from the repository.
	if r := scanNamed("config.json", []byte(`{"architectures": ["LlamaForCausalLM"], "tokenizer_class": "LlamaTokenizerFast", "auto_map_note": "x"}`)); r.Verdict != Safe {
		t.Errorf("class names: %s", describe(r))
	}
}

func TestChatTemplateInConfigs(t *testing.T) {
	honest, _ := filepath.Glob("testdata/templates/honest/*.jinja")
	hostile, _ := filepath.Glob("testdata/templates/hostile/*.jinja")
	if len(honest) < 3 || len(hostile) < 9 {
		t.Fatalf("fixtures missing: %d honest, %d hostile", len(honest), len(hostile))
	}
	quote := jsonQuote
	for _, p := range append(honest, hostile...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		bad := strings.Contains(p, "hostile")
		for _, f := range []struct{ name, data string }{
			{"chat_template.jinja", string(b)},
			{"tokenizer_config.json", `{"chat_template": ` + quote(string(b)) + `}`},
			{"tokenizer_config.json", `{"chat_template": [{"name": "default", "template": "{{ messages }}"}, {"name": "x", "template": ` + quote(string(b)) + `}]}`},
			{"chat_template.json", `{"chat_template": ` + quote(string(b)) + `}`},
		} {
			r := scanNamed(f.name, []byte(f.data))
			if r.Format != FormatText && r.Format != FormatJSON {
				t.Errorf("%s in %s: format %s", p, f.name, r.Format)
			}
			if got := r.Verdict != Safe; got != bad {
				t.Errorf("%s in %s: %s", p, f.name, describe(r))
			}
			if bad && !hasRule(r, ruleChatTemplateSSTI) && !hasRule(r, ruleChatTemplateAttr) {
				t.Errorf("%s in %s: no chat-template finding: %s", p, f.name, describe(r))
			}
		}
	}
	if r := scanNamed("tokenizer_config.json", []byte(`{"chat_template": 5}`)); r.Verdict != Unknown || !hasRule(r, ruleChatTemplate) {
		t.Errorf("number template: %s", describe(r))
	}
}

func jsonQuote(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Files above the buffer limit are judged as streamed text only, runes
// split across reads included.
func TestLargeCompanionStreamed(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxBuffered = 8
	s := New(WithDigest(false), WithLimits(lim))
	for _, c := range []struct {
		data string
		ok   bool
	}{
		{"日本語のモデルカード ✓ ok\n", true},
		{"日本\xe8\x00", false},
		{"abcdefghij\xe6\x97", false},
		{"", true},
	} {
		if got := isTextStream(bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(c.data)), 16)); got != c.ok {
			t.Errorf("%q: %v", c.data, got)
		}
	}
	if r := s.scanReaderAt(context.Background(), strings.NewReader("日本語のモデルカード\n"), 31, "card.md"); r.Format != FormatText || r.Verdict != Safe {
		t.Errorf("large card: %s", describe(r))
	}
}

// A large binary file of no format is judged by its first bytes: the
// companion check does not read it all.
func TestUnknownBinaryReadsLittle(t *testing.T) {
	b := make([]byte, 4<<20)
	for i := range b {
		b[i] = byte(i*7 + 1)
	}
	r := scanNamed("optimizer.state", b)
	if r.Format != FormatUnknown || r.Verdict != Unknown || r.BytesRead > 1<<20 {
		t.Fatalf("read %d of %d bytes: %s", r.BytesRead, len(b), describe(r))
	}
}

func TestSentencepiece(t *testing.T) {
	real, err := os.ReadFile("testdata/repos/lora-adapter/tokenizer.model")
	if err != nil {
		t.Fatal(err)
	}
	piece := "\x0a\x0e\x0a\x05<unk>\x15\x00\x00\x00\x00\x18\x02"
	for _, c := range []struct {
		name, data string
		ok         bool
	}{
		{"real", string(real), true},
		{"piece and normalizer", piece + "\x1a\x08\x0a\x04nmt_\x18\x01", true},
		{"self test", piece + "\x22\x08\x0a\x06\x0a\x01a\x12\x01b", true},
		{"normalizer name as varint", piece + "\x1a\x02\x08\x01", false},
		{"trainer vocab_size as bytes", piece + "\x12\x03\x22\x01x", false},
		{"unknown top-level field", piece + "\x32\x00", false},
		{"piece type 9", "\x0a\x07\x0a\x01a\x18\x09", false},
		{"piece not UTF-8", "\x0a\x03\x0a\x01\xff", false},
		{"too short", "\x0a\x00", false},
		{"truncated", piece[:len(piece)-3], false},
		{"group", piece + "\x1b", false},
	} {
		r := scanNamed("tokenizer.model", []byte(c.data))
		if got := r.Format == FormatSentencepiece && r.Verdict == Safe; got != c.ok {
			t.Errorf("%s: %s", c.name, describe(r))
		}
		if !c.ok && r.Verdict == Safe {
			t.Errorf("%s: safe", c.name)
		}
	}
}
