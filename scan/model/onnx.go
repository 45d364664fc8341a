package model

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// An ONNX model is a protobuf ModelProto. Loading one runs the operators
// its graph names: operators of the standard domains are implemented by the
// runtime, any other domain needs a custom-op library (native code), and
// tensors may point at external data files. The walker below reads only
// the fields that decide this, skipping everything else (raw tensor data
// included) by its length, so a 2 GiB model costs a few reads. It is
// bounded: message nesting is capped and every field is visited once.

// onnxStandardDomains are implemented by ONNX runtimes themselves.
var onnxStandardDomains = map[string]bool{
	"": true, "ai.onnx": true, "ai.onnx.ml": true, "ai.onnx.training": true, "ai.onnx.preview.training": true,
}

type onnxMsg uint8

const (
	onnxModel onnxMsg = iota
	onnxOpset
	onnxGraph
	onnxNode
	onnxAttr
	onnxTensor
	onnxSparse
	onnxEntry
	onnxTraining
	onnxFunction
)

// onnxSub maps (message, field number) to the message type of
// length-delimited submessage fields the walk descends into (onnx.proto).
var onnxSub = map[onnxMsg]map[uint64]onnxMsg{
	onnxModel:    {7: onnxGraph, 8: onnxOpset, 20: onnxTraining, 25: onnxFunction},
	onnxGraph:    {1: onnxNode, 5: onnxTensor, 15: onnxSparse},
	onnxNode:     {5: onnxAttr},
	onnxAttr:     {5: onnxTensor, 6: onnxGraph, 10: onnxTensor, 11: onnxGraph, 22: onnxSparse, 23: onnxSparse},
	onnxTensor:   {13: onnxEntry},
	onnxSparse:   {1: onnxTensor, 2: onnxTensor},
	onnxTraining: {1: onnxGraph, 2: onnxGraph},
	onnxFunction: {7: onnxNode, 9: onnxOpset, 11: onnxAttr},
}

// onnxStrings are the string fields the walk keeps: domains, op types,
// function names and external-data entries.
var onnxStrings = map[onnxMsg]map[uint64]bool{
	onnxOpset:    {1: true},
	onnxNode:     {4: true, 7: true},
	onnxFunction: {1: true, 10: true},
	onnxEntry:    {1: true, 2: true},
}

const (
	onnxMaxDepth  = 64
	onnxMaxString = 4096
	onnxWindow    = 64 << 10
)

var errONNX = errors.New("malformed protobuf")

// onnxInfo is what one message contributed.
type onnxInfo struct {
	strs     map[uint64]string
	long     bool  // a kept string field was longer than onnxMaxString
	location int64 // TensorProto.data_location
	entries  [][2]string
}

type onnxWalker struct {
	ra    io.ReaderAt
	size  int64
	base  int64
	win   []byte
	nodes []onnxRef // (domain, op_type) of every node
	opset []string
	funcs map[string]bool // domain + "\x00" + name of model-local functions
	ext   []onnxExt
}

type onnxRef struct {
	domain, op string
	off        int64
}

type onnxExt struct {
	location string
	ok       bool // a location entry is present
	off      int64
}

// get returns n bytes at off from a cached window.
func (w *onnxWalker) get(off int64, n int) ([]byte, error) {
	if off < 0 || int64(n) > w.size-off {
		return nil, fmt.Errorf("%w: field runs past the end at offset %d", errONNX, off)
	}
	if off < w.base || off+int64(n) > w.base+int64(len(w.win)) {
		l := max(int64(n), min(onnxWindow, w.size-off))
		if cap(w.win) < int(l) {
			w.win = make([]byte, l)
		}
		w.win = w.win[:l]
		if _, err := w.ra.ReadAt(w.win, off); err != nil && err != io.EOF {
			w.win = w.win[:0]
			return nil, err
		}
		w.base = off
	}
	return w.win[off-w.base : off-w.base+int64(n)], nil
}

func (w *onnxWalker) varint(off, end int64) (uint64, int64, error) {
	var x uint64
	for i := 0; i < 10; i++ {
		if off >= end {
			return 0, 0, fmt.Errorf("%w: truncated varint at offset %d", errONNX, off)
		}
		b, err := w.get(off, 1)
		if err != nil {
			return 0, 0, err
		}
		off++
		x |= uint64(b[0]&0x7f) << (7 * i)
		if b[0] < 0x80 {
			if i == 9 && b[0] > 1 {
				break
			}
			return x, off, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: varint too long at offset %d", errONNX, off)
}

// walk visits the fields of one message of type m in [off, end).
func (w *onnxWalker) walk(m onnxMsg, off, end int64, depth int) (*onnxInfo, error) {
	if depth > onnxMaxDepth {
		return nil, fmt.Errorf("%w: messages nested deeper than %d at offset %d", errONNX, onnxMaxDepth, off)
	}
	info := &onnxInfo{}
	for off < end {
		tagOff := off
		tag, next, err := w.varint(off, end)
		if err != nil {
			return nil, err
		}
		off = next
		field, wt := tag>>3, tag&7
		if field == 0 || field > 1<<29-1 {
			return nil, fmt.Errorf("%w: field number %d at offset %d", errONNX, field, tagOff)
		}
		switch wt {
		case 0:
			v, next, err := w.varint(off, end)
			if err != nil {
				return nil, err
			}
			off = next
			if m == onnxTensor && field == 14 {
				info.location = int64(v)
			}
		case 1:
			off += 8
		case 5:
			off += 4
		case 2:
			l, next, err := w.varint(off, end)
			if err != nil {
				return nil, err
			}
			off = next
			if l > uint64(end-off) {
				return nil, fmt.Errorf("%w: length %d at offset %d runs past its message", errONNX, l, tagOff)
			}
			start, stop := off, off+int64(l)
			off = stop
			if sub, ok := onnxSub[m][field]; ok {
				ci, err := w.walk(sub, start, stop, depth+1)
				if err != nil {
					return nil, err
				}
				w.child(m, sub, ci, start)
				if sub == onnxEntry {
					info.entries = append(info.entries, [2]string{ci.strs[1], ci.strs[2]})
					if ci.long {
						info.long = true
					}
				}
				continue
			}
			if onnxStrings[m][field] {
				if l > onnxMaxString {
					info.long = true
					continue
				}
				b, err := w.get(start, int(l))
				if err != nil {
					return nil, err
				}
				if info.strs == nil {
					info.strs = map[uint64]string{}
				}
				info.strs[field] = string(b)
			}
		default:
			return nil, fmt.Errorf("%w: wire type %d at offset %d", errONNX, wt, tagOff)
		}
		if off > end {
			return nil, fmt.Errorf("%w: fixed-size field runs past its message at offset %d", errONNX, tagOff)
		}
	}
	return info, nil
}

// child records what a finished submessage means for the model.
func (w *onnxWalker) child(parent, m onnxMsg, ci *onnxInfo, off int64) {
	switch m {
	case onnxNode:
		w.nodes = append(w.nodes, onnxRef{domain: ci.strs[7], op: ci.strs[4], off: off})
		if ci.long {
			w.nodes = append(w.nodes, onnxRef{domain: "<over-long name>", off: off})
		}
	case onnxOpset:
		if parent == onnxModel || parent == onnxFunction {
			w.opset = append(w.opset, ci.strs[1])
		}
	case onnxFunction:
		if w.funcs == nil {
			w.funcs = map[string]bool{}
		}
		w.funcs[ci.strs[10]+"\x00"+ci.strs[1]] = true
		w.funcs[ci.strs[10]] = true
	case onnxTensor:
		if ci.location != 1 && len(ci.entries) == 0 {
			return
		}
		e := onnxExt{off: off}
		for _, kv := range ci.entries {
			if kv[0] == "location" {
				e.location, e.ok = kv[1], true
			}
		}
		if ci.long {
			e.ok, e.location = true, "<over-long location>"
		}
		w.ext = append(w.ext, e)
	}
}

// externalPathProblem says why an external-data location is not confined
// to the model's directory ("" when it is).
func externalPathProblem(loc string) string {
	switch {
	case loc == "":
		return "empty location"
	case strings.ContainsRune(loc, 0):
		return "location contains a NUL byte"
	case strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, `\`):
		return "absolute location"
	case len(loc) >= 2 && loc[1] == ':':
		return "location with a drive letter"
	}
	for _, part := range strings.FieldsFunc(loc, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return "location climbs out of the model directory"
		}
	}
	return ""
}

// scanONNXAt validates an ONNX ModelProto held in ra.
func (sc *scan) scanONNXAt(ra io.ReaderAt, size int64, member string) {
	w := &onnxWalker{ra: ra, size: size}
	if _, err := w.walk(onnxModel, 0, size, 0); err != nil {
		if errors.Is(err, errONNX) {
			sc.add(member, -1, Error, "onnx-malformed", "%v", err)
		} else {
			sc.add(member, -1, Error, "read-error", "reading: %v", err)
		}
		return
	}
	custom := map[string]int64{}
	for _, n := range w.nodes {
		if onnxStandardDomains[n.domain] || w.funcs[n.domain+"\x00"+n.op] {
			continue
		}
		if _, seen := custom[n.domain]; !seen {
			custom[n.domain] = n.off
		}
	}
	for _, d := range w.opset {
		if _, seen := custom[d]; !seen && !onnxStandardDomains[d] && !w.funcs[d] {
			custom[d] = -1
		}
	}
	domains := make([]string, 0, len(custom))
	for d := range custom {
		domains = append(domains, d)
	}
	sort.Strings(domains)
	for _, d := range domains {
		sc.add(member, custom[d], Unknown, "onnx-custom-domain", "operator domain %q is not a standard ONNX domain: it needs a custom-op library (native code)", d)
	}
	for _, e := range w.ext {
		if !e.ok {
			sc.add(member, e.off, Invalid, "onnx-external-data", "tensor stored externally without a location")
			continue
		}
		if p := externalPathProblem(e.location); p != "" {
			sc.add(member, e.off, Malicious, "onnx-external-path", "external data %q: %s (the loader would read any file)", e.location, p)
			continue
		}
		sc.externals = append(sc.externals, extRef{member: member, location: e.location})
	}
}

// scanONNXStream buffers an ONNX model read from a stream (inside an
// archive or compressed) up to MaxBuffered bytes.
func (sc *scan) scanONNXStream(br *bufio.Reader, member string) {
	b, err := io.ReadAll(io.LimitReader(br, sc.lim.MaxBuffered+1))
	if err != nil {
		sc.add(member, -1, Error, "read-error", "reading: %v", err)
		return
	}
	if int64(len(b)) > sc.lim.MaxBuffered {
		sc.add(member, -1, Error, "limit-exceeded", "nested ONNX model larger than %d bytes is not scanned", sc.lim.MaxBuffered)
		return
	}
	sc.scanONNXAt(bytes.NewReader(b), int64(len(b)), member)
}
