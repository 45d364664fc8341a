package jsonesc

import (
	"encoding/json"
	"testing"
)

// Every byte after a backslash: Short agrees with encoding/json on which
// one-character escapes exist and what they mean.
func TestShortAgreesWithEncodingJSON(t *testing.T) {
	for e := 0; e < 256; e++ {
		var s string
		err := json.Unmarshal([]byte{'"', '\\', byte(e), '"'}, &s)
		got, ok := Short(byte(e))
		if e == 'u' {
			if ok {
				t.Errorf(`Short('u') = ok; \u needs its own decoding`)
			}
			continue
		}
		if ok != (err == nil) || ok && string(got) != s {
			t.Errorf("escape %q: Short = %q, %v; encoding/json = %q, %v", byte(e), got, ok, s, err)
		}
	}
}
