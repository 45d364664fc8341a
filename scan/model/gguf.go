package model

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"unicode/utf8"
)

// GGUF: magic, version (1-3), tensor count, KV count (uint32 in v1, uint64
// later), the KV metadata, the tensor-info table, padding to the alignment,
// then tensor data. Everything up to the data section is parsed with bounds:
// counts are capped, every length is checked against what is left of the
// file, tensor extents must be inside the data section, aligned and laid
// out in order (as ggml's loader demands). Chat templates (Jinja, rendered
// by llama.cpp front ends, some of them with Python's jinja2 outside a
// sandbox: CVE-2024-34359) are checked for constructs that reach Python
// internals.

const (
	ggufMaxKV        = 1 << 16
	ggufMaxTensors   = 1 << 20
	ggufMaxArray     = 1 << 26
	ggufMaxKey       = 1 << 16
	ggufMaxTemplate  = 16 << 20
	ggufMaxArrayNest = 4
	ggufMaxDims      = 4 // GGML_MAX_DIMS
)

// ggufType value types.
const (
	gUint8 = iota
	gInt8
	gUint16
	gInt16
	gUint32
	gInt32
	gFloat32
	gBool
	gString
	gArray
	gUint64
	gInt64
	gFloat64
)

var ggufFixed = map[uint32]int64{gUint8: 1, gInt8: 1, gUint16: 2, gInt16: 2, gUint32: 4, gInt32: 4, gFloat32: 4, gBool: 1, gUint64: 8, gInt64: 8, gFloat64: 8}

// ggmlTypes: block size (elements) and bytes per block of the ggml tensor
// types (ggml.h / ggml.c type traits); removed types are absent.
var ggmlTypes = map[uint32][2]int64{
	0: {1, 4}, 1: {1, 2}, 2: {32, 18}, 3: {32, 20}, 6: {32, 22}, 7: {32, 24}, 8: {32, 34}, 9: {32, 36},
	10: {256, 84}, 11: {256, 110}, 12: {256, 144}, 13: {256, 176}, 14: {256, 210}, 15: {256, 292},
	16: {256, 66}, 17: {256, 74}, 18: {256, 98}, 19: {256, 50}, 20: {32, 18}, 21: {256, 110}, 22: {256, 82},
	23: {256, 136}, 24: {1, 1}, 25: {1, 2}, 26: {1, 4}, 27: {1, 8}, 28: {1, 8}, 29: {256, 56}, 30: {1, 2},
	34: {256, 54}, 35: {256, 66}, 39: {32, 17},
}

type ggufReader struct {
	r    *bufio.Reader
	pos  int64
	size int64 // -1 when unknown
	v1   bool
}

var errGGUFTrunc = errors.New("truncated")

type ggufErr struct {
	off       int64
	sev       Verdict
	rule, msg string
}

func (e *ggufErr) Error() string { return e.msg }

func (g *ggufReader) fail(sev Verdict, rule, format string, args ...any) error {
	return &ggufErr{off: g.pos, sev: sev, rule: rule, msg: fmt.Sprintf(format, args...)}
}

func (g *ggufReader) left() int64 {
	if g.size < 0 {
		return 1 << 62
	}
	return g.size - g.pos
}

func (g *ggufReader) read(n int) ([]byte, error) {
	b := make([]byte, n)
	m, err := io.ReadFull(g.r, b)
	g.pos += int64(m)
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, &ggufErr{off: g.pos, sev: Error, rule: "truncated", msg: "GGUF header ends early"}
		}
		return nil, &ggufErr{off: g.pos, sev: Error, rule: "read-error", msg: err.Error()}
	}
	return b, nil
}

func (g *ggufReader) u32() (uint32, error) {
	b, err := g.read(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (g *ggufReader) u64() (uint64, error) {
	b, err := g.read(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// count reads a count or length (uint32 in v1).
func (g *ggufReader) count() (uint64, error) {
	if g.v1 {
		x, err := g.u32()
		return uint64(x), err
	}
	return g.u64()
}

func (g *ggufReader) skip(n int64) error {
	if n > g.left() {
		return g.fail(Error, "truncated", "GGUF field of %d bytes runs past the end of the file", n)
	}
	d, err := io.CopyN(io.Discard, g.r, n)
	g.pos += d
	if err != nil {
		return g.fail(Error, "truncated", "GGUF header ends early")
	}
	return nil
}

// str reads a string, keeping it when it is at most keep bytes.
func (g *ggufReader) str(keep int64) (string, bool, error) {
	n, err := g.count()
	if err != nil {
		return "", false, err
	}
	if n > uint64(g.left()) {
		return "", false, g.fail(Error, "truncated", "string of %d bytes is longer than the rest of the file", n)
	}
	if int64(n) > keep {
		return "", false, g.skip(int64(n))
	}
	b, err := g.read(int(n))
	return string(b), true, err
}

// value reads a value of type t; for strings it keeps up to keep bytes.
func (g *ggufReader) value(t uint32, keep int64, depth int) (s string, kept bool, num uint64, err error) {
	if sz, ok := ggufFixed[t]; ok {
		b, err := g.read(int(sz))
		if err != nil {
			return "", false, 0, err
		}
		var x uint64
		for i := len(b) - 1; i >= 0; i-- {
			x = x<<8 | uint64(b[i])
		}
		return "", false, x, nil
	}
	switch t {
	case gString:
		s, kept, err := g.str(keep)
		return s, kept, 0, err
	case gArray:
		if depth >= ggufMaxArrayNest {
			return "", false, 0, g.fail(Invalid, "gguf-value", "arrays nested deeper than %d", ggufMaxArrayNest)
		}
		et, err := g.u32()
		if err != nil {
			return "", false, 0, err
		}
		n, err := g.count()
		if err != nil {
			return "", false, 0, err
		}
		if n > ggufMaxArray || n > uint64(g.left()) {
			return "", false, 0, g.fail(Invalid, "gguf-value", "array of %d elements", n)
		}
		if sz, ok := ggufFixed[et]; ok {
			return "", false, 0, g.skip(int64(n) * sz)
		}
		if et != gString && et != gArray {
			return "", false, 0, g.fail(Invalid, "gguf-value", "array of unknown type %d", et)
		}
		for i := uint64(0); i < n; i++ {
			if _, _, _, err := g.value(et, 0, depth+1); err != nil {
				return "", false, 0, err
			}
		}
		return "", false, 0, nil
	}
	return "", false, 0, g.fail(Invalid, "gguf-value", "value of unknown type %d", t)
}

// scanGGUF parses the GGUF header, metadata and tensor table of a stream
// of size bytes (-1: unknown, then the rest is drained to learn it).
func (sc *scan) scanGGUF(br *bufio.Reader, size int64, member string) {
	g := &ggufReader{r: br, size: size}
	if err := sc.ggufParse(g, member); err != nil {
		var ge *ggufErr
		if errors.As(err, &ge) {
			sc.add(member, ge.off, ge.sev, ge.rule, "%s", ge.msg)
		} else {
			sc.add(member, g.pos, Error, "read-error", "%v", err)
		}
	}
}

func (sc *scan) ggufParse(g *ggufReader, member string) error {
	if _, err := g.read(4); err != nil { // magic, already sniffed
		return err
	}
	v, err := g.u32()
	if err != nil {
		return err
	}
	if v < 1 || v > 3 {
		return &ggufErr{off: 4, sev: Invalid, rule: "gguf-version", msg: fmt.Sprintf("GGUF version %d", v)}
	}
	g.v1 = v == 1
	nt, err := g.count()
	if err != nil {
		return err
	}
	nkv, err := g.count()
	if err != nil {
		return err
	}
	if nt > ggufMaxTensors {
		return g.fail(Invalid, "gguf-header", "GGUF tensor count %d (at most %d)", nt, ggufMaxTensors)
	}
	if nkv > ggufMaxKV {
		return g.fail(Invalid, "gguf-header", "GGUF metadata count %d (at most %d)", nkv, ggufMaxKV)
	}
	align := uint64(32)
	keys := map[string]bool{}
	for i := uint64(0); i < nkv; i++ {
		if sc.ctx.Err() != nil {
			return sc.ctx.Err()
		}
		koff := g.pos
		key, ok, err := g.str(ggufMaxKey)
		if err != nil {
			return err
		}
		if !ok || key == "" || !utf8.ValidString(key) {
			return &ggufErr{off: koff, sev: Invalid, rule: "gguf-key", msg: "metadata key is empty, too long or not UTF-8"}
		}
		if keys[key] {
			return &ggufErr{off: koff, sev: Invalid, rule: "gguf-duplicate-key", msg: fmt.Sprintf("metadata key %q appears twice", key)}
		}
		keys[key] = true
		t, err := g.u32()
		if err != nil {
			return err
		}
		keep := int64(0)
		template := strings.HasPrefix(key, "tokenizer.chat_template")
		if template && t == gString {
			keep = ggufMaxTemplate
		}
		voff := g.pos
		s, kept, num, err := g.value(t, keep, 0)
		if err != nil {
			return err
		}
		switch {
		case key == "general.alignment":
			if t != gUint32 || num == 0 || num&(num-1) != 0 {
				return &ggufErr{off: voff, sev: Invalid, rule: "gguf-alignment", msg: "general.alignment is not a power-of-two uint32"}
			}
			align = num
		case template && t == gString && !kept:
			sc.add(member, voff, Unknown, "gguf-chat-template", "chat template %s is longer than %d bytes and was not checked", key, ggufMaxTemplate)
		case template && t == gString:
			if sev, rule, msg := chatTemplateProblem(s); sev != Safe {
				sc.add(member, voff, sev, "gguf-"+rule, "%s: %s", key, msg)
			}
		}
	}
	type tinfo struct {
		off, size int64
	}
	infos := make([]tinfo, 0, min(nt, 4096))
	names := map[string]bool{}
	for i := uint64(0); i < nt; i++ {
		if sc.ctx.Err() != nil {
			return sc.ctx.Err()
		}
		noff := g.pos
		name, ok, err := g.str(ggufMaxKey)
		if err != nil {
			return err
		}
		if !ok || names[name] {
			return &ggufErr{off: noff, sev: Invalid, rule: "gguf-tensor-name", msg: fmt.Sprintf("tensor name %q is too long or repeated", name)}
		}
		names[name] = true
		nd, err := g.u32()
		if err != nil {
			return err
		}
		if nd > ggufMaxDims {
			return &ggufErr{off: noff, sev: Invalid, rule: "gguf-tensor-dims", msg: fmt.Sprintf("tensor %q has %d dimensions", name, nd)}
		}
		ne := make([]uint64, nd)
		elems := uint64(1)
		for d := range ne {
			if ne[d], err = g.u64(); err != nil {
				return err
			}
			hi, lo := bits.Mul64(elems, ne[d])
			if hi != 0 || lo > 1<<62 || int64(ne[d]) < 0 {
				return &ggufErr{off: noff, sev: Invalid, rule: "gguf-tensor-dims", msg: fmt.Sprintf("tensor %q size overflows", name)}
			}
			elems = lo
		}
		typ, err := g.u32()
		if err != nil {
			return err
		}
		off, err := g.u64()
		if err != nil {
			return err
		}
		tt, ok := ggmlTypes[typ]
		if !ok {
			return &ggufErr{off: noff, sev: Unknown, rule: "gguf-tensor-type", msg: fmt.Sprintf("tensor %q has ggml type %d, whose size is not known", name, typ)}
		}
		if nd > 0 && ne[0]%uint64(tt[0]) != 0 {
			return &ggufErr{off: noff, sev: Invalid, rule: "gguf-tensor-dims", msg: fmt.Sprintf("tensor %q: first dimension %d is not a multiple of the block size %d", name, ne[0], tt[0])}
		}
		nbytes := elems / uint64(tt[0]) * uint64(tt[1])
		if nbytes > 1<<62 || off > 1<<62 {
			return &ggufErr{off: noff, sev: Invalid, rule: "gguf-tensor-offset", msg: fmt.Sprintf("tensor %q extent overflows", name)}
		}
		infos = append(infos, tinfo{off: int64(off), size: int64(nbytes)})
	}
	// The data section starts at the next multiple of the alignment.
	dataStart := (g.pos + int64(align) - 1) / int64(align) * int64(align)
	size := g.size
	if size < 0 {
		n, err := io.Copy(io.Discard, g.r)
		if err != nil {
			return &ggufErr{off: g.pos, sev: Error, rule: "read-error", msg: err.Error()}
		}
		size = g.pos + n
	}
	if len(infos) > 0 && dataStart > size {
		return &ggufErr{off: g.pos, sev: Invalid, rule: "gguf-tensor-offset", msg: "data section starts past the end of the file"}
	}
	expect := int64(0)
	for i, t := range infos {
		if t.off != expect {
			return &ggufErr{off: -1, sev: Invalid, rule: "gguf-tensor-offset", msg: fmt.Sprintf("tensor %d starts at data offset %d, not at %d (aligned, in order)", i, t.off, expect)}
		}
		if t.size > size-dataStart-t.off {
			return &ggufErr{off: -1, sev: Invalid, rule: "gguf-tensor-offset", msg: fmt.Sprintf("tensor %d (%d bytes at data offset %d) runs past the end of the file", i, t.size, t.off)}
		}
		expect = t.off + (t.size+int64(align)-1)/int64(align)*int64(align)
	}
	return nil
}
