package predicates

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Sentinels of CheckJSON (and of every strict parse in this package); test
// for them with errors.Is.
var (
	// ErrDuplicateKey: an object names a key twice. JSON parsers disagree
	// on which value wins (encoding/json and protojson's Struct keep the
	// last), so a signer could show one reader one value and another reader
	// another.
	ErrDuplicateKey = errors.New("duplicate object key")
	// ErrTrailingData: bytes other than whitespace after the JSON value.
	ErrTrailingData = errors.New("trailing data after the JSON value")
	// ErrJSONSyntax: not JSON, invalid UTF-8, or nested deeper than the
	// limit.
	ErrJSONSyntax = errors.New("malformed JSON")
)

// CheckJSON checks that b is exactly one JSON value in valid UTF-8, with no
// object naming a key twice (keys are compared after unescaping) and nesting
// at most 128 deep. It builds nothing: string values are only scanned, so a
// huge document costs no more memory than its bytes. Errors wrap
// ErrDuplicateKey, ErrTrailingData or ErrJSONSyntax.
func CheckJSON(b []byte) error {
	if !utf8.Valid(b) {
		return fmt.Errorf("%w: invalid UTF-8", ErrJSONSyntax)
	}
	s := jsonScanner{b: b}
	if err := s.value(0); err != nil {
		return err
	}
	s.space()
	if s.i < len(s.b) {
		return fmt.Errorf("%w (at byte %d)", ErrTrailingData, s.i)
	}
	return nil
}

// jsonScanner is a recursive-descent JSON checker; recursion is bounded by
// maxJSONDepth.
type jsonScanner struct {
	b []byte
	i int
}

func (s *jsonScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s (at byte %d)", ErrJSONSyntax, fmt.Sprintf(format, args...), s.i)
}

func (s *jsonScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScanner) value(depth int) error {
	s.space()
	if s.i == len(s.b) {
		return s.errorf("unexpected end of input")
	}
	switch c := s.b[s.i]; {
	case c == '{' || c == '[':
		if depth >= maxJSONDepth {
			return s.errorf("nested deeper than %d", maxJSONDepth)
		}
		if c == '{' {
			return s.object(depth + 1)
		}
		return s.array(depth + 1)
	case c == '"':
		_, err := s.str()
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	return s.errorf("unexpected character %q", s.b[s.i])
}

func (s *jsonScanner) object(depth int) error {
	s.i++ // '{'
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	keys := map[string]struct{}{}
	for {
		s.space()
		if s.i == len(s.b) || s.b[s.i] != '"' {
			return s.errorf("object key is not a string")
		}
		at := s.i
		raw, err := s.str()
		if err != nil {
			return err
		}
		key := string(raw)
		if bytes.IndexByte(raw, '\\') >= 0 {
			// Escapes spell the same key differently; compare what every
			// parser decodes.
			if err := json.Unmarshal(s.b[at:s.i], &key); err != nil {
				return s.errorf("object key: %v", err)
			}
		}
		if _, dup := keys[key]; dup {
			return fmt.Errorf("%w %q (at byte %d)", ErrDuplicateKey, shorten(key), at)
		}
		keys[key] = struct{}{}
		s.space()
		if s.i == len(s.b) || s.b[s.i] != ':' {
			return s.errorf("expected ':' after an object key")
		}
		s.i++
		if err := s.value(depth); err != nil {
			return err
		}
		s.space()
		if s.i == len(s.b) {
			return s.errorf("unexpected end of input in an object")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.errorf("expected ',' or '}' in an object")
		}
	}
}

func (s *jsonScanner) array(depth int) error {
	s.i++ // '['
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		if err := s.value(depth); err != nil {
			return err
		}
		s.space()
		if s.i == len(s.b) {
			return s.errorf("unexpected end of input in an array")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.errorf("expected ',' or ']' in an array")
		}
	}
}

// str scans a string starting at its opening quote and returns its raw
// contents (escapes not decoded).
func (s *jsonScanner) str() ([]byte, error) {
	start := s.i + 1
	for s.i = start; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], nil
		case c < 0x20:
			return nil, s.errorf("control character in a string")
		case c == '\\':
			s.i++
			if s.i == len(s.b) {
				return nil, s.errorf("unexpected end of input in a string")
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if s.i+4 >= len(s.b) {
					return nil, s.errorf("short \\u escape")
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !isHex(h) {
						return nil, s.errorf("invalid \\u escape")
					}
				}
				s.i += 4
			default:
				return nil, s.errorf("invalid escape \\%c", s.b[s.i])
			}
		}
	}
	return nil, s.errorf("unexpected end of input in a string")
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func (s *jsonScanner) literal(word string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return s.errorf("invalid literal")
	}
	s.i += len(word)
	return nil
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScanner) number() error {
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case digits() == 0:
		return s.errorf("invalid number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return s.errorf("invalid number")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return s.errorf("invalid number")
		}
	}
	return nil
}

// shorten bounds a key quoted in an error: the message goes into reports,
// and a key can be as long as the document.
func shorten(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	i := limit
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
