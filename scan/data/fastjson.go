package data

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/mlattest/mlattest/internal/jsonesc"
)

// jsonField is one member of a flat JSON object read by scanFlatObject:
// its key and its value, already unquoted (a JSON null is "").
type jsonField struct {
	key   []byte
	val   string
	isStr bool
}

// maxFlatFields bounds the members the fast path handles; objects with more
// go through encoding/json.
const maxFlatFields = 32

// scanFlatObject is the hot path of JSONL reading: it accepts only a strict
// subset of JSON — one object whose keys are plain strings and whose values
// are strings or null — and returns its members. line is b as a string
// (one copy per record: unescaped values are substrings of it). Anything
// else (nested values, numbers, escaped keys, odd surrogates, any syntax
// error) returns ok=false, and the caller decodes with encoding/json, so
// errors and unusual values are reported exactly as before. b must be
// valid UTF-8.
func scanFlatObject(b []byte, line string, dst []jsonField) ([]jsonField, bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return dst, false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return dst, skipWS(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return dst, false
		}
		ks := i + 1
		ke := plainRun(b, ks)
		if ke >= len(b) || b[ke] != '"' {
			return dst, false
		}
		i = skipWS(b, ke+1)
		if i >= len(b) || b[i] != ':' {
			return dst, false
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return dst, false
		}
		var f jsonField
		f.key = b[ks:ke]
		switch b[i] {
		case '"':
			vs := i + 1
			ve := plainRun(b, vs)
			if ve >= len(b) || b[ve] < 0x20 {
				return dst, false
			}
			if b[ve] == '"' {
				f.val = line[vs:ve]
				i = ve + 1
			} else {
				s, end, ok := unquoteRest(b, vs, ve)
				if !ok {
					return dst, false
				}
				f.val, i = s, end
			}
			f.isStr = true
		case 'n':
			if len(b)-i < 4 || string(b[i:i+4]) != "null" {
				return dst, false
			}
			i += 4
		default:
			return dst, false
		}
		if len(dst) == maxFlatFields {
			return dst, false
		}
		dst = append(dst, f)
		i = skipWS(b, i)
		if i >= len(b) {
			return dst, false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return dst, skipWS(b, i+1) == len(b)
		default:
			return dst, false
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// unquoteRest decodes a JSON string whose plain prefix is b[vs:esc] and
// whose first escape is at esc; it returns the text and the index after the
// closing quote. Surrogate escapes are left to encoding/json (ok=false),
// which substitutes U+FFFD for unpaired ones.
func unquoteRest(b []byte, vs, esc int) (string, int, bool) {
	// Most strings fit the stack buffer: one allocation, the final string.
	var stack [2048]byte
	out := stack[:0]
	out = append(out, b[vs:esc]...)
	i := esc
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return string(out), i + 1, true
		case c < 0x20:
			return "", 0, false
		case c != '\\':
			// copy the plain run up to the next quote or escape
			j := plainRun(b, i+1)
			out = append(out, b[i:j]...)
			i = j
			continue
		}
		if i+1 >= len(b) {
			return "", 0, false
		}
		if c, ok := jsonesc.Short(b[i+1]); ok {
			out = append(out, c)
			i += 2
			continue
		}
		if b[i+1] != 'u' || i+6 > len(b) {
			return "", 0, false
		}
		r := rune(0)
		for _, h := range b[i+2 : i+6] {
			switch {
			case h >= '0' && h <= '9':
				r = r<<4 | rune(h-'0')
			case h >= 'a' && h <= 'f':
				r = r<<4 | rune(h-'a'+10)
			case h >= 'A' && h <= 'F':
				r = r<<4 | rune(h-'A'+10)
			default:
				return "", 0, false
			}
		}
		if r >= 0xD800 && r < 0xE000 {
			return "", 0, false
		}
		out = utf8.AppendRune(out, r)
		i += 6
	}
	return "", 0, false
}

const (
	lsb8 = 0x0101010101010101
	msb8 = 0x8080808080808080
)

// plainRun returns the index of the first quote, backslash or control
// character in b at or after i (len(b) if none), eight bytes at a time.
func plainRun(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ (lsb8 * '"')
		bs := x ^ (lsb8 * '\\')
		// a byte is flagged when it is zero (quote, backslash) or below 0x20;
		// bytes of 0x80 and above never are.
		m := ((q - lsb8) &^ q) | ((bs - lsb8) &^ bs) | ((x - lsb8*0x20) &^ x)
		if m&msb8 != 0 {
			break
		}
	}
	for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 {
		i++
	}
	return i
}
