package model

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// gateSeed is the property tests' seed: def, or MLATTEST_GATE_SEED to
// explore others.
func gateSeed(def uint64) uint64 {
	if s, err := strconv.ParseUint(os.Getenv("MLATTEST_GATE_SEED"), 10, 64); err == nil {
		return s
	}
	return def
}

// stWriter lays a safetensors file out as the reference writer does: the
// __metadata__ entry, tensors at contiguous offsets, the JSON header padded
// with spaces to a multiple of align (8 for the reference writer, 1 for
// writers that do not pad), then padded further by whole multiples of
// align until its length has the wanted residue mod 256 and at least min
// bytes.
func stWriter(rng *rand.Rand, tensors int, dims [2]int, residue, min, align int, fill func(b []byte)) ([]byte, int) {
	var h strings.Builder
	h.WriteString(`{"__metadata__":{"format":"pt"}`)
	off := 0
	for i := range tensors {
		n := 4 * dims[0] * dims[1]
		fmt.Fprintf(&h, `,"layer.%d.weight":{"dtype":"F32","shape":[%d,%d],"data_offsets":[%d,%d]}`, i, dims[0], dims[1], off, off+n)
		off += n
	}
	h.WriteString("}")
	hl := h.Len()
	for hl%align != 0 || hl%256 != residue || hl < min {
		hl++
	}
	header := h.String() + strings.Repeat(" ", hl-h.Len())
	data := make([]byte, off)
	fill(data)
	_ = rng
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes(), hl
}

// Every header length a writer can produce, modulo 256 and with the high
// bytes that make its first bytes the most pickle-like, with random, zero
// and newline-free tensor bytes: always safe, never a pickle. The
// reference writer's 8-byte alignment allows 32 residues; unpadded writers
// all 256. 0x2e is STOP: header lengths 0x2e88 and 0x2e8888 make the
// length bytes NEWTRUE, STOP (a pickle of True, which runs nothing).
func TestSafetensorsEveryHeaderResidue(t *testing.T) {
	rng := rand.New(rand.NewPCG(gateSeed(12), 34))
	fills := map[string]func([]byte){
		"random": func(b []byte) {
			for i := range b {
				b[i] = byte(rng.UintN(256))
			}
		},
		"zeros": func([]byte) {},
		"no newline": func(b []byte) {
			for i := range b {
				b[i] = byte(rng.UintN(255)) + 1
				if b[i] == '\n' {
					b[i] = 'x'
				}
			}
		},
	}
	dir := t.TempDir()
	s := New(WithDigest(false))
	n := 0
	for _, align := range []int{8, 1} {
		for residue := 0; residue < 256; residue += align {
			for _, min := range []int{0, 0x2e00, 0x2e0000} {
				for _, fname := range []string{"random", "zeros", "no newline"} {
					fill := fills[fname]
					if min == 0x2e0000 && (fname != "random" || align == 1 && !strings.ContainsRune("SVILFgcipP", rune(residue))) {
						// 3 MiB headers: one content pattern, and for
						// unpadded writers the opcodes that read a line.
						continue
					}
					tensors := 1 + rng.IntN(4)
					b, hl := stWriter(rng, tensors, [2]int{1 + rng.IntN(8), 1 + rng.IntN(8)}, residue, min, align, fill)
					p := filepath.Join(dir, "model.safetensors")
					if err := os.WriteFile(p, b, 0o644); err != nil {
						t.Fatal(err)
					}
					r, err := s.ScanFile(context.Background(), p)
					if err != nil {
						t.Fatal(err)
					}
					if r.Verdict != Safe || r.Format != FormatSafetensors || r.Pickle || r.PickleGated() {
						t.Fatalf("align %d header length %d (%#x) %s: %s pickle=%v", align, hl, hl, fname, describe(r), r.Pickle)
					}
					n++
				}
			}
		}
	}
	t.Logf("%d files", n)
}

// The reproduction: 60 F32 64x64 tensors, header length ≡ 0x50
// (PERSID) or 0x70 (PUT) mod 256.
func TestSafetensorsPersidPutHeaders(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, residue := range []int{0x50, 0x70, 0x80, 0x28, 0x58} {
		b, hl := stWriter(rng, 60, [2]int{64, 64}, residue, 0, 8, func(b []byte) {
			for i := range b {
				b[i] = byte(rng.UintN(256))
			}
		})
		if b[0] != byte(residue) {
			t.Fatalf("first byte %#x", b[0])
		}
		if r := scanBytes(b); r.Verdict != Safe || r.Pickle || len(r.Findings) != 0 {
			t.Fatalf("header length %#x: %s", hl, describe(r))
		}
	}
}

// Polyglots: the pickle view decides. Constants run nothing; an import is
// malicious even when the pickle fails afterwards; the scanner's limits
// leave it unknown.
func TestPolyglotNeedsAParse(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	constant, hl := stWriter(rng, 2, [2]int{3, 3}, 0x88, 0x2e00, 8, func([]byte) {})
	if hl&0xffff != 0x2e88 {
		t.Fatalf("header length %#x", hl)
	}
	if r := scanBytes(constant); r.Verdict != Safe || r.Pickle || !hasRule(r, "polyglot-constant") {
		t.Fatalf("constant: %s", describe(r))
	}
	gguf := []byte("GGUF\x03\x00\x00\x00" + "\x00N0N0N0N" + "0N0N0N0N" + "0cos\nsystem\n")
	gguf = append(gguf, make([]byte, 600)...)
	if r := scanBytes(gguf); r.Verdict != Malicious || !r.Pickle || !hasRule(r, "polyglot") || !hasRule(r, "dangerous-import") {
		t.Fatalf("import then failure: %s", describe(r))
	}
	lim := DefaultLimits()
	lim.MaxStack = 4
	deep := []byte("GGUF\x03\x00\x00\x00" + "\x00NNNNNNN" + "NNN.")
	deep = append(deep, make([]byte, 600)...)
	r := New(WithDigest(false), WithLimits(lim)).ScanReaderAt(context.Background(), bytes.NewReader(deep), int64(len(deep)))
	// (Such a GGUF's tensor count is absurd: invalid as GGUF too.)
	if r.Verdict == Malicious || r.Pickle || !hasRule(r, "polyglot-undecided") || hasRule(r, "polyglot") {
		t.Fatalf("limits: %s", describe(r))
	}
}

// Random binary products, one per possible first byte: never a pickle for
// run's gate (the issue: 9 first bytes made 3.5% of them "pickle-format").
func TestRandomBinariesAreNotPickles(t *testing.T) {
	rng := rand.New(rand.NewPCG(gateSeed(7), 8))
	s := New(WithDigest(false))
	dir := t.TempDir()
	for first := range 256 {
		b := make([]byte, 4096+rng.IntN(4096))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		b[0] = byte(first)
		p := filepath.Join(dir, fmt.Sprintf("optimizer-%02x.bin", first))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := s.ScanFile(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		// (Safe happens: random bytes can spell a short pickle of constants,
		// NEWFALSE STOP, before bytes that are no pickle; loading that is
		// harmless.)
		if r.PickleGated() || r.Verdict == Malicious {
			t.Errorf("first byte %#02x: %s pickle=%v", first, describe(r), r.Pickle)
		}
	}
}

// A file is judged by what it is: a name that promises another format is
// never safe and is gated like a pickle.
func TestFormatMismatch(t *testing.T) {
	st := safetensorsOf(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 8)
	pickle21 := newPB(2).global("collections", "OrderedDict").emptyTuple().reduce().stop()
	gguf := append([]byte("GGUF\x03\x00\x00\x00"), make([]byte, 16)...)
	for _, c := range []struct {
		name     string
		data     []byte
		verdict  Verdict
		mismatch bool
	}{
		{"model.safetensors", pickle21, Unknown, true},
		{"model.safetensors", gguf, Unknown, true},
		{"model.safetensors", st, Safe, false},
		{"MODEL.SAFETENSORS", st, Safe, false},
		{"model.bin", st, Safe, false},
		{"model.bin", pickle21, Safe, false},
		{"model.pkl", pickle21, Safe, false},
		{"model.gguf", st, Unknown, true},
		{"model.pt", pickle21, Unknown, true},
		{"model.pt", torchZip(t, torchDataPkl()), Safe, false},
		{"model.joblib", zl(numpyPkl()), Safe, false},
		{"model.npy", st, Unknown, true},
		{"model.onnx", []byte("not a model at all"), Unknown, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), c.name)
			if err := os.WriteFile(p, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := New().ScanFile(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != c.verdict || hasRule(r, RuleFormatMismatch) != c.mismatch || c.mismatch && !r.PickleGated() {
				t.Fatalf("%s gated=%v", describe(r), r.PickleGated())
			}
		})
	}
}

// Bytes after the last STOP that no unpickler runs are a fact with their
// offset, not a reason for unknown; a second pickle after it is judged.
func TestTrailingData(t *testing.T) {
	pk := numpyPkl()
	r := scanBytes(append(append([]byte(nil), pk...), "zzzz\x00\x01junk"...))
	if r.Verdict != Safe || !hasRule(r, "trailing-data") || r.Findings[0].Offset != int64(len(pk)) {
		t.Fatalf("junk: %s", describe(r))
	}
	r = scanBytes(append(append([]byte(nil), pk...), "cos\nsystem\n(S'id'\n"...))
	if r.Verdict != Malicious || !hasRule(r, "dangerous-import") {
		t.Fatalf("truncated evil pickle after STOP: %s", describe(r))
	}
	// A pickle of constants that fills the file is a pickle file (gated by
	// format); two bytes of one before data are an accident of the data.
	if r := scanBytes([]byte("\x80\x04K\x01.")); !r.PickleGated() || r.Verdict != Safe {
		t.Fatalf("constant pickle file: %s gated=%v", describe(r), r.PickleGated())
	}
	if r := scanBytes([]byte("\x89.\xcf\x01random data")); r.PickleGated() || !hasRule(r, "trailing-data") {
		t.Fatalf("constant pickle before data: %s gated=%v", describe(r), r.PickleGated())
	}
	if r := scanBytes(append(append([]byte(nil), pk...), "zz"...)); !r.PickleGated() {
		t.Fatalf("importing pickle before data: %s", describe(r))
	}
}
