package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzJSON checks the strict JSON parser against encoding/json: what it
// accepts without NaN/Infinity is valid JSON, and valid UTF-8 JSON it
// refuses is refused for a duplicate key or its depth.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{"a": [1, 2.5e-3, -0, true, null, "\u00e9\ud83d\ude00"]}`, `{"a": NaN, "b": -Infinity}`,
		`{"a": 1, "a": 2}`, `[[[[]]]]`, `"\ud800"`, ` 12 `, `{"x": {"y": {}}} x`} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile("testdata/repos/causal-lm-sharded/tokenizer_config.json"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := parseJSON(b)
		special := bytes.Contains(b, []byte("NaN")) || bytes.Contains(b, []byte("Infinity"))
		if err == nil && !special && !json.Valid(b) {
			t.Fatalf("accepted what encoding/json refuses: %q", b)
		}
		if err == nil && v == nil && !bytes.Contains(b, []byte("null")) {
			t.Fatalf("nil value without null: %q", b)
		}
		var je *errJSON
		if err != nil && !errors.As(err, &je) {
			t.Fatalf("error of another type: %v", err)
		}
		if err != nil && utf8.Valid(b) && json.Valid(b) && !strings.Contains(err.Error(), "duplicate key") && !strings.Contains(err.Error(), "nested deeper") {
			t.Fatalf("refused valid JSON %q: %v", b, err)
		}
	})
}

// FuzzSentencepiece: the ModelProto parser never panics, and what it
// accepts is a model the scanner calls sentencepiece and safe.
func FuzzSentencepiece(f *testing.F) {
	f.Add([]byte("\x0a\x0e\x0a\x05<unk>\x15\x00\x00\x00\x00\x18\x02"))
	f.Add([]byte("\x0a\x07\x0a\x01a\x15\x00\x00\x80\xbf\x12\x04\x20\x3c\x28\x01"))
	if b, err := os.ReadFile("testdata/repos/lora-adapter/tokenizer.model"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ok := looksSentencepiece(b) && checkSentencepiece(b) == nil
		r := scanNamed("tokenizer.model", b)
		if r.Format == FormatSentencepiece && (!ok || r.Verdict != Safe) {
			t.Fatalf("sentencepiece verdict %s, parser accepted: %v: %s", r.Verdict, ok, describe(r))
		}
	})
}

// FuzzImage: structure checks never panic, and an image they accept is
// refused with a byte appended.
func FuzzImage(f *testing.F) {
	for _, fm := range []string{FormatPNG, FormatJPEG, FormatGIF} {
		f.Add(encodeImage(f, fm))
	}
	f.Add(webpOf("VP8L\x2f\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fm := imageFormat(b)
		if fm == "" {
			return
		}
		if checkImage(fm, b) == nil && checkImage(fm, append(bytes.Clone(b), 0)) == nil {
			t.Fatalf("%s with a trailing byte accepted", fm)
		}
	})
}
