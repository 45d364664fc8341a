package data

import (
	"fmt"
	"strings"
	"testing"
)

type got struct {
	loc Location
	rec Record
	err error
}

func readAll(t *testing.T, in string, f Format, m Mapping) ([]got, error) {
	t.Helper()
	var out []got
	err := Read(strings.NewReader(in), f, m, func(loc Location, rec Record, err error) error {
		out = append(out, got{loc, rec, err})
		return nil
	})
	return out, err
}

func TestReadFormats(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		format  Format
		mapping Mapping
		want    []string // "instruction|input|response" or "ERR@line"
	}{
		{"alpaca jsonl", `{"instruction":"a","input":"b","output":"c"}` + "\n\n" + `{"instruction":"d","output":"e"}`, FormatJSONL, Mapping{}, []string{"a|b|c", "d||e"}},
		{"bad line located", "{\"instruction\":\"a\",\"output\":\"c\"}\n{broken\n{\"instruction\":\"d\",\"output\":\"e\"}\n", FormatJSONL, Mapping{}, []string{"a||c", "ERR@2", "d||e"}},
		{"bad utf8", "{\"instruction\":\"a\xff\",\"output\":\"c\"}\n", FormatJSONL, Mapping{}, []string{"ERR@1"}},
		{"missing response", `{"instruction":"a"}`, FormatJSONL, Mapping{}, []string{"ERR@1"}},
		{"dolly", `{"instruction":"q","context":"ctx","response":"r","category":"x"}`, FormatJSONL, Mapping{}, []string{"q|ctx|r"}},
		{"question answer", `{"question":"q","answer":"r"}`, FormatJSONL, Mapping{}, []string{"q||r"}},
		{"custom mapping", `{"ask":"q","reply":"r"}`, FormatJSONL, Mapping{Instruction: "ask", Response: "reply"}, []string{"q||r"}},
		{"sharegpt", `{"conversations":[{"from":"human","value":"hi"},{"from":"gpt","value":"hello"},{"from":"human","value":"how?"},{"from":"gpt","value":"fine"}]}`, FormatJSONL, Mapping{}, []string{"how?|USER: hi\nASSISTANT: hello|fine"}},
		{"messages", `{"messages":[{"role":"system","content":"be nice"},{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}`, FormatJSONL, Mapping{}, []string{"q|SYSTEM: be nice|a"}},
		{"no assistant turn", `{"messages":[{"role":"user","content":"q"}]}`, FormatJSONL, Mapping{}, []string{"ERR@1"}},
		{"json array", `[{"instruction":"a","output":"b"}, {"prompt":"c","completion":"d"}]`, FormatJSON, Mapping{}, []string{"a||b", "c||d"}},
		{"csv", "instruction,input,output\na,,b\n\"multi\nline\",x,y\n", FormatCSV, Mapping{}, []string{"a||b", "multi\nline|x|y"}},
		{"csv short row", "instruction,output\na\n", FormatCSV, Mapping{}, []string{"ERR@2"}},
		{"input output only", `{"input":"q","output":"r"}`, FormatJSONL, Mapping{}, []string{"q||r"}},
		{"csv input output", "input,output\nq,r\n", FormatCSV, Mapping{}, []string{"q||r"}},
		{"non-string field", `{"instruction":"a","output":42}`, FormatJSONL, Mapping{}, []string{"a||42"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gs, err := readAll(t, tc.in, tc.format, tc.mapping)
			if err != nil {
				t.Fatal(err)
			}
			var have []string
			for _, g := range gs {
				if g.err != nil {
					have = append(have, fmt.Sprintf("ERR@%d", g.loc.Line))
				} else {
					have = append(have, g.rec.Instruction+"|"+g.rec.Input+"|"+g.rec.Response)
				}
			}
			if fmt.Sprintf("%q", have) != fmt.Sprintf("%q", tc.want) {
				t.Fatalf("got %q, want %q", have, tc.want)
			}
			for i, g := range gs {
				if g.loc.Index != i {
					t.Fatalf("record %d has index %d", i, g.loc.Index)
				}
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		in string
		f  Format
	}{
		"json not array":     {`{"a":1}`, FormatJSON},
		"json array broken":  {`[{"instruction":"a","output":"b"}, {"instr`, FormatJSON},
		"csv without fields": {"foo,bar\n1,2\n", FormatCSV},
		"parquet":            {"PAR1", FormatParquet},
		"unknown":            {"", Format("xml")},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := readAll(t, tc.in, tc.f, Mapping{}); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestDetectFormat(t *testing.T) {
	for _, tc := range []struct {
		name, head string
		want       Format
	}{
		{"a.jsonl", "", FormatJSONL}, {"a.json", " [", FormatJSON}, {"a.json", "{", FormatJSONL},
		{"a.csv", "", FormatCSV}, {"a.parquet", "", FormatParquet}, {"x", "PAR1", FormatParquet},
		{"x", "[{", FormatJSON}, {"x", "{}", FormatJSONL}, {"x", "a,b", FormatCSV},
		{"x.txt", "id,text\n1,h\xc3", FormatCSV}, // a rune cut at the end of the head
		{"x", "hello world\nno,header", ""}, {"x", "a,b\x00", ""}, {"x", "a,\xff\xfeb", ""}, {"x", "", ""},
	} {
		if got := DetectFormat(tc.name, []byte(tc.head)); got != tc.want {
			t.Errorf("%s %q: %s, want %s", tc.name, tc.head, got, tc.want)
		}
	}
}

func TestHiddenScan(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, nothing odd":      "",
		"zero\u200bwidth":              "zero-width",
		"bidi \u202e override":         "bidi-control",
		"tag \U000E0041 char":          "tag-character",
		"p\u0430ypal login":            "homoglyph-mix", // Cyrillic a in a Latin word
		"emoji 👨\u200d👩\u200d👧 family": "",
		"2πr and 5μm are fine":         "",
		"\ufeffBOM at start is fine":   "",
		"bell \x07 char":               "control-character",
		"Москва is a city":             "",
		// Legitimate invisible characters, by kind and context.
		"Persian می\u200cخواهم (I want)":                                        "",
		"Hindi क्\u200dष half form":                                             "",
		"Malayalam chillu ന്\u200d":                                             "",
		"rainbow 🏳\ufe0f\u200d🌈 and cook 👩🏽\u200d🍳":                             "",
		"England 🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F": "",
		"the word \u200fשלום\u200f means peace":                                 "",
		"version \u200e2.0\u200e released":                                      "",
		"isolate \u2067שלום\u2069 in Hebrew text":                               "",
		"Donau\u00addampf\u00adschiff":                                          "",
		// The same characters where they hide something.
		"pass\u200dword in a Latin word":              "zero-width",
		"ZWNJ in Latin: ad\u200cmin":                  "zero-width",
		"isolate \u2067abc\u2069 with no RTL letters": "bidi-control",
		"override \u202eشلام\u202c even in Arabic":    "bidi-control",
		"url https://exa\u00admple.com/x":             "zero-width",
		"```py\nx = 1\u200f\n```":                     "bidi-control",
		"lone tag \U000E0041 after text":              "tag-character",
		"soft hyphen at end\u00ad":                    "zero-width",
		// Blank fillers: drawn as nothing, whitespace to nobody.
		"\u2800\u2800\u2800":                     "blank-filler",
		"answer:\n\u3164":                        "blank-filler",
		"Braille \u2813\u2801\u2800\u2807\u2807": "",
		"jamo \u1100\u1160 filled":               "",
	} {
		if got, _ := hiddenScan(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
