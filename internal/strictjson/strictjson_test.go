package strictjson

import (
	"strings"
	"testing"
)

type value struct {
	A string `json:"a"`
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, in, wantErr string
	}{
		{"one value", `{"a":"x"}` + "\n", ""},
		{"unknown field", `{"a":"x","b":1}`, `unknown field "b"`},
		{"second value", `{"a":"x"} {}`, "data after the value"},
		{"trailing garbage", `{"a":"x"}x`, "data after the value"},
		{"not JSON", `{"a":`, "unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v value
			err := Decode([]byte(tc.in), &v, "value")
			if tc.wantErr == "" {
				if err != nil || v.A != "x" {
					t.Fatalf("Decode = %+v, %v; want {A:x}", v, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestEncodeNoHTMLEscape(t *testing.T) {
	b, err := Encode(value{A: "<a&b>"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"a":"<a&b>"}`+"\n"; got != want {
		t.Fatalf("Encode = %q, want %q", got, want)
	}
}
