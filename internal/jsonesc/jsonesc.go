// Package jsonesc holds what the project's hand-written JSON readers share:
// the meaning of JSON's one-character escapes (RFC 8259, section 7).
package jsonesc

// Short returns the byte that the escape `\e` stands for, for the eight
// one-character escapes; ok is false for any other e (`\u` included, which
// each reader decodes with its own surrogate policy).
func Short(e byte) (b byte, ok bool) {
	switch e {
	case '"', '\\', '/':
		return e, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}
