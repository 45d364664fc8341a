// Package strictjson holds the decoding and encoding the project's part
// files share (dataset-scan parts and store parts): one JSON value and
// nothing unknown in, bytes that depend only on the content out.
package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Decode decodes b into v. A field v has no place for is an error, and so
// is anything after the one value (the error says "data after the what").
func Decode(b []byte, v any, what string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the %s", what)
	}
	return nil
}

// Encode encodes v as one line with no HTML escaping, so the bytes depend
// only on v.
func Encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
