package model

import (
	"bytes"
	"context"
	"testing"
)

// BenchmarkPickleStateDict scans a data.pkl-like pickle of 20,000 tensors
// (a large state dict: the interpreter's hot path, imports and memo).
func BenchmarkPickleStateDict(b *testing.B) {
	p := newPB(2)
	p.global("collections", "OrderedDict").emptyTuple().reduce().binput(0)
	p.mark()
	for i := 0; i < 20000; i++ {
		p.str("layer.weight")
		p.global("torch._utils", "_rebuild_tensor_v2")
		p.mark().mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").int1(6).tuple().op('Q')
		p.int1(0).int1(2).int1(3).op(0x86).int1(3).int1(1).op(0x86).op(0x89)
		p.global("collections", "OrderedDict").emptyTuple().reduce().tuple().reduce()
	}
	data := p.op('u').stop()
	s := New(WithDigest(false))
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := s.ScanReaderAt(context.Background(), bytes.NewReader(data), int64(len(data))); r.Verdict != Safe {
			b.Fatal(describe(r))
		}
	}
}
