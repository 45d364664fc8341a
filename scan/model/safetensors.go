package model

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sort"
	"strconv"
	"unicode/utf8"
)

// Safetensors rule names, reported in findings (rule "safetensors/<name>").
const (
	STHeaderSize   = "header-size"        // 8-byte LE length present, header within the file and the limit
	STHeaderStart  = "header-start"       // header starts with '{'
	STHeaderUTF8   = "header-utf8"        // header is valid UTF-8
	STHeaderJSON   = "header-json"        // header is one JSON object (trailing spaces allowed)
	STDuplicateKey = "duplicate-key"      // no key twice in any object
	STTensorEntry  = "tensor-entry"       // each tensor is {dtype, shape, data_offsets} with the right types
	STDtype        = "dtype"              // dtype is a known safetensors dtype
	STShapeSize    = "shape-size"         // product(shape) x dtype size == end - begin
	STBounds       = "offsets-bounds"     // begin <= end <= data section length
	STOverlap      = "offsets-overlap"    // no two tensors share bytes
	STContiguous   = "offsets-contiguous" // no gap between tensors, first at 0
	STCoverage     = "offsets-coverage"   // the last tensor ends at the end of the file
	STMetadata     = "metadata"           // __metadata__ is a string-to-string map
)

// STDtypeBits is the size in bits of each dtype the format defines.
var STDtypeBits = map[string]uint64{
	"BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
	"I16": 16, "U16": 16, "F16": 16, "BF16": 16,
	"I32": 32, "U32": 32, "F32": 32, "C64": 64,
	"I64": 64, "U64": 64, "F64": 64,
	"F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}

type stTensor struct {
	name       string
	begin, end uint64
}

type stError struct {
	rule string
	msg  string
}

func stErr(rule, format string, args ...any) *stError {
	return &stError{rule: rule, msg: fmt.Sprintf(format, args...)}
}

// ValidateSafetensorsHeader checks a safetensors header (the JSON bytes
// after the 8-byte length) against a data section of dataLen bytes. It
// returns the broken rule's name and a message, or "" when valid.
func ValidateSafetensorsHeader(header []byte, dataLen uint64) (rule, msg string) {
	if e := validateSTHeader(header, dataLen); e != nil {
		return e.rule, e.msg
	}
	return "", ""
}

func (sc *scan) stFinding(member string, e *stError) {
	sc.add(member, 8, Invalid, "safetensors/"+e.rule, "%s", e.msg)
}

// scanSafetensorsAt reads only the 8-byte length and the header.
func (sc *scan) scanSafetensorsAt(ra io.ReaderAt, size int64, member string) {
	var lb [8]byte
	if _, err := ra.ReadAt(lb[:], 0); err != nil {
		sc.stFinding(member, stErr(STHeaderSize, "file shorter than the 8-byte header length"))
		return
	}
	n := binary.LittleEndian.Uint64(lb[:])
	if n > uint64(size-8) || n > uint64(sc.lim.MaxHeader) {
		sc.stFinding(member, stErr(STHeaderSize, "header length %d exceeds the file (%d bytes after the length) or the %d byte limit", n, size-8, sc.lim.MaxHeader))
		return
	}
	h := make([]byte, n)
	if _, err := ra.ReadAt(h, 8); err != nil {
		sc.add(member, 8, Error, "read-error", "reading header: %v", err)
		return
	}
	if e := validateSTHeader(h, uint64(size-8)-n); e != nil {
		sc.stFinding(member, e)
	}
}

// scanSafetensorsStream validates a safetensors stream, counting (not
// keeping) the data section.
func (sc *scan) scanSafetensorsStream(br *bufio.Reader, member string) {
	var lb [8]byte
	if _, err := io.ReadFull(br, lb[:]); err != nil {
		sc.stFinding(member, stErr(STHeaderSize, "stream shorter than the 8-byte header length"))
		return
	}
	n := binary.LittleEndian.Uint64(lb[:])
	if n > uint64(sc.lim.MaxHeader) {
		sc.stFinding(member, stErr(STHeaderSize, "header length %d exceeds the %d byte limit", n, sc.lim.MaxHeader))
		return
	}
	// ReadAll grows with the data, so a claimed length costs nothing until
	// the bytes are really there.
	h, err := io.ReadAll(io.LimitReader(br, int64(n)))
	if err != nil || uint64(len(h)) != n {
		sc.stFinding(member, stErr(STHeaderSize, "header length %d exceeds the stream", n))
		return
	}
	dl, err := io.Copy(io.Discard, br)
	if err != nil {
		sc.add(member, -1, Error, "read-error", "reading data: %v", err)
		return
	}
	if e := validateSTHeader(h, uint64(dl)); e != nil {
		sc.stFinding(member, e)
	}
}

func validateSTHeader(h []byte, dataLen uint64) *stError {
	if len(h) == 0 || h[0] != '{' {
		return stErr(STHeaderStart, "header does not start with '{'")
	}
	if !utf8.Valid(h) {
		return stErr(STHeaderUTF8, "header is not valid UTF-8")
	}
	trimmed := bytes.TrimRight(h, " ")
	if !json.Valid(trimmed) {
		return stErr(STHeaderJSON, "header is not valid JSON")
	}
	d := json.NewDecoder(bytes.NewReader(trimmed))
	d.UseNumber()
	var tensors []stTensor
	if err := expectDelim(d, '{'); err != nil {
		return stErr(STHeaderJSON, "header is not a JSON object")
	}
	keys := map[string]bool{}
	for d.More() {
		k, err := stringToken(d)
		if err != nil {
			return stErr(STHeaderJSON, "%v", err)
		}
		if keys[k] {
			return stErr(STDuplicateKey, "key %q appears twice", k)
		}
		keys[k] = true
		if k == "__metadata__" {
			if e := stMetadata(d); e != nil {
				return e
			}
			continue
		}
		t, e := stEntry(d, k, dataLen)
		if e != nil {
			return e
		}
		tensors = append(tensors, t)
	}
	sort.Slice(tensors, func(i, j int) bool {
		if tensors[i].begin != tensors[j].begin {
			return tensors[i].begin < tensors[j].begin
		}
		return tensors[i].end < tensors[j].end
	})
	var at uint64
	for i, t := range tensors {
		if t.begin < at {
			return stErr(STOverlap, "tensor %q [%d,%d) overlaps %q", t.name, t.begin, t.end, tensors[i-1].name)
		}
		if t.begin > at {
			return stErr(STContiguous, "gap of %d bytes before tensor %q at %d", t.begin-at, t.name, t.begin)
		}
		at = t.end
	}
	if at != dataLen {
		return stErr(STCoverage, "tensors end at %d but the data section has %d bytes", at, dataLen)
	}
	return nil
}

func expectDelim(d *json.Decoder, want json.Delim) error {
	t, err := d.Token()
	if err != nil {
		return err
	}
	if dl, ok := t.(json.Delim); !ok || dl != want {
		return fmt.Errorf("expected %q", want)
	}
	return nil
}

func stringToken(d *json.Decoder) (string, error) {
	t, err := d.Token()
	if err != nil {
		return "", err
	}
	s, ok := t.(string)
	if !ok {
		return "", errors.New("expected a string")
	}
	return s, nil
}

func stMetadata(d *json.Decoder) *stError {
	if err := expectDelim(d, '{'); err != nil {
		return stErr(STMetadata, "__metadata__ is not an object")
	}
	keys := map[string]bool{}
	for d.More() {
		k, err := stringToken(d)
		if err != nil {
			return stErr(STMetadata, "%v", err)
		}
		if keys[k] {
			return stErr(STDuplicateKey, "__metadata__ key %q appears twice", k)
		}
		keys[k] = true
		if _, err := stringToken(d); err != nil {
			return stErr(STMetadata, "__metadata__ value of %q is not a string", k)
		}
	}
	if err := expectDelim(d, '}'); err != nil {
		return stErr(STMetadata, "%v", err)
	}
	return nil
}

func nonNegInt(v any) (uint64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	x, err := strconv.ParseUint(string(n), 10, 64)
	return x, err == nil
}

func stEntry(d *json.Decoder, name string, dataLen uint64) (stTensor, *stError) {
	t := stTensor{name: name}
	if err := expectDelim(d, '{'); err != nil {
		return t, stErr(STTensorEntry, "tensor %q is not an object", name)
	}
	var dtype string
	var shape []uint64
	var offs []uint64
	got := map[string]bool{}
	for d.More() {
		k, err := stringToken(d)
		if err != nil {
			return t, stErr(STTensorEntry, "tensor %q: %v", name, err)
		}
		if got[k] {
			return t, stErr(STDuplicateKey, "tensor %q has key %q twice", name, k)
		}
		got[k] = true
		switch k {
		case "dtype":
			s, err := stringToken(d)
			if err != nil {
				return t, stErr(STTensorEntry, "tensor %q: dtype is not a string", name)
			}
			dtype = s
		case "shape", "data_offsets":
			var arr []any
			if err := d.Decode(&arr); err != nil {
				return t, stErr(STTensorEntry, "tensor %q: %s is not an array", name, k)
			}
			var xs []uint64
			for _, a := range arr {
				x, ok := nonNegInt(a)
				if !ok {
					return t, stErr(STTensorEntry, "tensor %q: %s holds %v, not a non-negative integer", name, k, a)
				}
				xs = append(xs, x)
			}
			if k == "shape" {
				shape = xs
				if shape == nil {
					shape = []uint64{}
				}
			} else {
				offs = xs
			}
		default:
			return t, stErr(STTensorEntry, "tensor %q has unknown field %q", name, k)
		}
	}
	if err := expectDelim(d, '}'); err != nil {
		return t, stErr(STTensorEntry, "tensor %q: %v", name, err)
	}
	if !got["dtype"] || !got["shape"] || !got["data_offsets"] {
		return t, stErr(STTensorEntry, "tensor %q needs dtype, shape and data_offsets", name)
	}
	if len(offs) != 2 {
		return t, stErr(STTensorEntry, "tensor %q: data_offsets has %d values, not 2", name, len(offs))
	}
	b, ok := STDtypeBits[dtype]
	if !ok {
		return t, stErr(STDtype, "tensor %q has unknown dtype %q", name, dtype)
	}
	t.begin, t.end = offs[0], offs[1]
	if t.begin > t.end || t.end > dataLen {
		return t, stErr(STBounds, "tensor %q data_offsets [%d,%d] outside the %d-byte data section", name, t.begin, t.end, dataLen)
	}
	n := uint64(1)
	for _, s := range shape {
		hi, lo := bits.Mul64(n, s)
		if hi != 0 {
			return t, stErr(STShapeSize, "tensor %q shape overflows", name)
		}
		n = lo
	}
	hi, totalBits := bits.Mul64(n, b)
	if hi != 0 || totalBits%8 != 0 || totalBits/8 != t.end-t.begin {
		return t, stErr(STShapeSize, "tensor %q: shape %v of %s is %d bits, data_offsets give %d bytes", name, shape, dtype, totalBits, t.end-t.begin)
	}
	return t, nil
}
