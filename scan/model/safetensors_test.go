package model

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"testing"
)

func TestSafetensorsEveryDtype(t *testing.T) {
	var dtypes []string
	for d := range STDtypeBits {
		dtypes = append(dtypes, d)
	}
	sort.Strings(dtypes)
	for _, d := range dtypes {
		t.Run(d, func(t *testing.T) {
			n := 16 * STDtypeBits[d] / 8 // 16 elements: whole bytes for every width
			h := fmt.Sprintf(`{"__metadata__":{"format":"pt"},"t":{"dtype":%q,"shape":[4,4],"data_offsets":[0,%d]},"e":{"dtype":%q,"shape":[0],"data_offsets":[%d,%d]}}  `, d, n, d, n, n)
			r := scanBytes(safetensorsOf(h, int(n)))
			if r.Verdict != Safe || r.Format != FormatSafetensors {
				t.Fatalf("%s", describe(r))
			}
		})
	}
}

func TestSafetensorsRules(t *testing.T) {
	f32 := func(name string, shape string, b, e int) string {
		return fmt.Sprintf(`%q:{"dtype":"F32","shape":%s,"data_offsets":[%d,%d]}`, name, shape, b, e)
	}
	cases := []struct {
		name string
		file []byte
		rule string
	}{
		{"short file", []byte{1, 2, 3}, STHeaderSize},
		{"length beyond file", append([]byte{0xff, 0xff, 0, 0, 0, 0, 0, 0}, []byte(`{}`)...), STHeaderSize},
		{"not an object", safetensorsOf(`["a"]`, 0), STHeaderStart},
		{"bad utf8", safetensorsOf("{\"\xff\":1}", 0), STHeaderUTF8},
		{"bad json", safetensorsOf(`{"a":}`, 0), STHeaderJSON},
		{"duplicate key", safetensorsOf("{"+f32("a", "[1]", 0, 4)+","+f32("a", "[1]", 4, 8)+"}", 8), STDuplicateKey},
		{"duplicate field", safetensorsOf(`{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 4), STDuplicateKey},
		{"missing field", safetensorsOf(`{"a":{"dtype":"F32","shape":[1]}}`, 4), STTensorEntry},
		{"extra field", safetensorsOf(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, 4), STTensorEntry},
		{"negative shape", safetensorsOf("{"+f32("a", "[-1]", 0, 4)+"}", 4), STTensorEntry},
		{"three offsets", safetensorsOf(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,4]}}`, 4), STTensorEntry},
		{"unknown dtype", safetensorsOf(`{"a":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}}`, 4), STDtype},
		{"shape mismatch", safetensorsOf("{"+f32("a", "[2]", 0, 4)+"}", 4), STShapeSize},
		{"shape overflow", safetensorsOf("{"+f32("a", "[4294967296,4294967296,4]", 0, 4)+"}", 4), STShapeSize},
		{"out of bounds", safetensorsOf("{"+f32("a", "[1]", 0, 4)+","+f32("b", "[1]", 4, 8)+"}", 4), STBounds},
		{"begin after end", safetensorsOf("{"+f32("a", "[0]", 4, 0)+"}", 4), STBounds},
		{"overlap", safetensorsOf("{"+f32("a", "[2]", 0, 8)+","+f32("b", "[1]", 4, 8)+"}", 8), STOverlap},
		{"gap", safetensorsOf("{"+f32("a", "[1]", 0, 4)+","+f32("b", "[1]", 8, 12)+"}", 12), STContiguous},
		{"not covering", safetensorsOf("{"+f32("a", "[1]", 0, 4)+"}", 8), STCoverage},
		{"metadata not map", safetensorsOf(`{"__metadata__":{"a":1}}`, 0), STMetadata},
		{"metadata array", safetensorsOf(`{"__metadata__":["a"]}`, 0), STMetadata},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := New(WithDigest(false)).scanReaderAt(context.Background(), bytes.NewReader(c.file), int64(len(c.file)), "model.safetensors")
			if r.Verdict != Invalid || !hasRule(r, "safetensors/"+c.rule) {
				t.Fatalf("want %s: %s", c.rule, describe(r))
			}
		})
	}
}

// TestSafetensorsHeaderOnly: the data section is never read.
func TestSafetensorsHeaderOnly(t *testing.T) {
	h := `{"a":{"dtype":"U8","shape":[1048576],"data_offsets":[0,1048576]}}`
	b := safetensorsOf(h, 1<<20)
	r := New(WithDigest(false)).ScanReaderAt(context.Background(), bytes.NewReader(b), int64(len(b)))
	if r.Verdict != Safe {
		t.Fatal(describe(r))
	}
	if r.BytesRead > 100<<10 {
		t.Fatalf("read %d bytes of a %d byte file", r.BytesRead, len(b))
	}
}

// Without the name hint, bytes that are not recognisably safetensors are
// "unknown", never safe; inside a zip the member name is the hint.
func TestSafetensorsNameHint(t *testing.T) {
	bad := safetensorsOf(`["a"]`, 0)
	if r := scanBytes(bad); r.Verdict != Unknown {
		t.Fatal(describe(r))
	}
	r := scanBytes(zipOf(t, [2]string{"w/model.safetensors", string(bad)}))
	if !hasRule(r, "safetensors/"+STHeaderStart) {
		t.Fatal(describe(r))
	}
}
