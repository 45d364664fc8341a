package predicates

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
		is   error // nil: accepted
	}{
		{"object", `{"a":1,"b":[true,false,null,"x",-0.5e+3]}`, nil},
		{"whitespace around", " \t\r\n{} \n", nil},
		{"same key in sibling objects", `[{"a":1},{"a":2}]`, nil},
		{"same key at two levels", `{"a":{"a":1}}`, nil},
		{"escaped key differing after decoding", `{"a":1,"\u0062":2}`, nil},
		{"string with escapes", `"\"\\\/\b\f\n\r\t\u00e9"`, nil},

		{"duplicate key", `{"a":1,"a":2}`, ErrDuplicateKey},
		{"duplicate key nested", `{"x":[{"a":1,"b":2,"a":3}]}`, ErrDuplicateKey},
		{"duplicate key by escape", `{"a":1,"\u0061":2}`, ErrDuplicateKey},
		{"duplicate key by escaped slash", `{"a/b":1,"a\/b":2}`, ErrDuplicateKey},
		{"trailing value", `{} {}`, ErrTrailingData},
		{"trailing garbage", `{"a":1}x`, ErrTrailingData},
		{"trailing NUL", "{}\x00", ErrTrailingData},
		{"empty", ``, ErrJSONSyntax},
		{"unterminated string", `"abc`, ErrJSONSyntax},
		{"control character", "\"a\nb\"", ErrJSONSyntax},
		{"bad escape", `"\x"`, ErrJSONSyntax},
		{"short unicode escape", `"\u12"`, ErrJSONSyntax},
		{"leading zero", `01`, ErrTrailingData}, // "0" then "1"
		{"bare minus", `-`, ErrJSONSyntax},
		{"dot without digits", `1.`, ErrJSONSyntax},
		{"exponent without digits", `1e+`, ErrJSONSyntax},
		{"key not a string", `{a:1}`, ErrJSONSyntax},
		{"missing colon", `{"a" 1}`, ErrJSONSyntax},
		{"trailing comma", `[1,]`, ErrJSONSyntax},
		{"unclosed object", `{"a":1`, ErrJSONSyntax},
		{"bad literal", `tru`, ErrJSONSyntax},
		{"invalid UTF-8", "\"\xff\"", ErrJSONSyntax},
		{"deep nesting", strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1), ErrJSONSyntax},
		{"nesting at the limit", strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth), nil},
	}
	t.Run("a long duplicate key is shortened in the error", func(t *testing.T) {
		k := strings.Repeat("é", 1<<20)
		err := CheckJSON([]byte(`{"` + k + `":1,"` + k + `":2}`))
		if !errors.Is(err, ErrDuplicateKey) || len(err.Error()) > 200 || !utf8.ValidString(err.Error()) {
			t.Fatalf("error of %d bytes: %.200v", len(err.Error()), err)
		}
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckJSON([]byte(tc.in))
			if tc.is == nil {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.is) {
				t.Fatalf("error %v, want %v", err, tc.is)
			}
		})
	}
}

// refCheck is CheckJSON's contract computed with encoding/json: valid UTF-8,
// json.Valid, no duplicate keys after decoding, depth within the limit.
func refCheck(b []byte) (ok, dup bool) {
	if !utf8.Valid(b) || !json.Valid(b) {
		return false, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	// Numbers as written: 1E700 is valid JSON that only a float64 cannot
	// hold, and CheckJSON judges syntax (the fuzzer found the difference).
	dec.UseNumber()
	type frame struct {
		keys   map[string]bool
		isObj  bool
		wantKV bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return true, false
		}
		if err != nil {
			return false, false
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if len(stack) >= maxJSONDepth {
					return false, false
				}
				if len(stack) > 0 && stack[len(stack)-1].isObj {
					stack[len(stack)-1].wantKV = false
				}
				stack = append(stack, &frame{keys: map[string]bool{}, isObj: d == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if len(stack) == 0 {
			continue
		}
		top := stack[len(stack)-1]
		if !top.isObj {
			continue
		}
		if !top.wantKV {
			k := tok.(string)
			if top.keys[k] {
				return false, true
			}
			top.keys[k], top.wantKV = true, true
			continue
		}
		top.wantKV = false
	}
}

// FuzzCheckJSON: CheckJSON accepts exactly what encoding/json accepts as one
// value without duplicate keys (within the depth limit), and a duplicate is
// always reported as ErrDuplicateKey.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":[1,{"\u0062":2,"b":3}]}`, `{} {}`, `"\ud800"`, `-0.0e-0`, `[[[]]]`} {
		f.Add([]byte(s))
	}
	if golden, err := os.ReadFile(filepath.Join("testdata", "link.golden.json")); err == nil {
		f.Add(golden)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := CheckJSON(data)
		ok, dup := refCheck(data)
		if (err == nil) != ok {
			t.Fatalf("CheckJSON: %v, reference accepts: %v", err, ok)
		}
		if dup && !errors.Is(err, ErrDuplicateKey) {
			t.Fatalf("duplicate key reported as %v", err)
		}
		if err != nil && !errors.Is(err, ErrDuplicateKey) && !errors.Is(err, ErrTrailingData) && !errors.Is(err, ErrJSONSyntax) {
			t.Fatalf("error without a sentinel: %v", err)
		}
	})
}
