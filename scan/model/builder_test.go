package model

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"testing"
)

// pb assembles pickle opcode streams by hand, so tests control every byte.
type pb struct{ bytes.Buffer }

func newPB(proto byte) *pb {
	p := &pb{}
	if proto >= 2 {
		p.WriteByte(0x80)
		p.WriteByte(proto)
	}
	return p
}

func (p *pb) op(b ...byte) *pb { p.Write(b); return p }
func (p *pb) global(mod, name string) *pb {
	p.WriteByte('c')
	p.WriteString(mod + "\n" + name + "\n")
	return p
}
func (p *pb) inst(mod, name string) *pb {
	p.WriteByte('i')
	p.WriteString(mod + "\n" + name + "\n")
	return p
}

// str pushes a SHORT_BINUNICODE / BINUNICODE str.
func (p *pb) str(s string) *pb {
	if len(s) < 256 {
		p.WriteByte(0x8c)
		p.WriteByte(byte(len(s)))
	} else {
		p.WriteByte('X')
		binary.Write(&p.Buffer, binary.LittleEndian, uint32(len(s)))
	}
	p.WriteString(s)
	return p
}
func (p *pb) binunicode(s string) *pb {
	p.WriteByte('X')
	binary.Write(&p.Buffer, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
	return p
}
func (p *pb) bytesv(s string) *pb {
	p.WriteByte('C')
	p.WriteByte(byte(len(s)))
	p.WriteString(s)
	return p
}
func (p *pb) int1(x byte) *pb           { return p.op('K', x) }
func (p *pb) mark() *pb                 { return p.op('(') }
func (p *pb) tuple() *pb                { return p.op('t') }
func (p *pb) emptyTuple() *pb           { return p.op(')') }
func (p *pb) reduce() *pb               { return p.op('R') }
func (p *pb) build() *pb                { return p.op('b') }
func (p *pb) stop() []byte              { p.WriteByte('.'); return append([]byte(nil), p.Bytes()...) }
func (p *pb) binput(i byte) *pb         { return p.op('q', i) }
func (p *pb) binget(i byte) *pb         { return p.op('h', i) }
func (p *pb) memoize() *pb              { return p.op(0x94) }
func (p *pb) stackGlobal() *pb          { return p.op(0x93) }
func (p *pb) raw(s string) *pb          { p.WriteString(s); return p }
func (p *pb) call(m, n, arg string) *pb { return p.global(m, n).str(arg).op(0x85).reduce() }

// torchDataPkl is what torch.save writes as data.pkl for {"w": tensor}.
func torchDataPkl() []byte {
	p := newPB(2)
	p.global("collections", "OrderedDict").emptyTuple().reduce().binput(0)
	p.mark()
	p.str("w")
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.mark()
	// persistent id ('storage', torch.FloatStorage, '0', 'cpu', 6)
	p.mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").int1(6).tuple().op('Q')
	p.int1(0)
	p.int1(2).int1(3).op(0x86)
	p.int1(3).int1(1).op(0x86)
	p.op(0x89)
	p.global("collections", "OrderedDict").emptyTuple().reduce()
	p.tuple().reduce()
	p.op('u')
	return p.stop()
}

// numpyPkl is an ndarray as numpy pickles it.
func numpyPkl() []byte {
	p := newPB(2)
	p.global("numpy.core.multiarray", "_reconstruct")
	p.global("numpy", "ndarray").int1(0).op(0x85).bytesv("b").op(0x87).reduce().binput(1)
	p.mark().int1(1).int1(3).op(0x85)
	p.global("numpy", "dtype").str("f4").int1(0).int1(1).op(0x87).reduce()
	p.mark().int1(3).str("<").op('N', 'N', 'N').op('J', 0xff, 0xff, 0xff, 0xff).op('J', 0xff, 0xff, 0xff, 0xff).int1(0).tuple().build()
	p.op(0x89).bytesv("abcdefghijkl").tuple().build()
	return p.stop()
}

func zipOf(t testing.TB, files ...[2]string) []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, f := range files {
		fw, err := w.CreateHeader(&zip.FileHeader{Name: f[0], Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(f[1]))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func deflateZipOf(t testing.TB, files ...[2]string) []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, f := range files {
		fw, _ := w.Create(f[0])
		fw.Write([]byte(f[1]))
	}
	w.Close()
	return b.Bytes()
}

func tarOf(t testing.TB, files ...[2]string) []byte {
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	for _, f := range files {
		w.WriteHeader(&tar.Header{Name: f[0], Mode: 0o644, Size: int64(len(f[1])), Typeflag: tar.TypeReg})
		w.Write([]byte(f[1]))
	}
	w.Close()
	return b.Bytes()
}

func gz(b []byte) []byte {
	var o bytes.Buffer
	w := gzip.NewWriter(&o)
	w.Write(b)
	w.Close()
	return o.Bytes()
}

func zl(b []byte) []byte {
	var o bytes.Buffer
	w := zlib.NewWriter(&o)
	w.Write(b)
	w.Close()
	return o.Bytes()
}

func torchZip(t testing.TB, pkl []byte) []byte {
	return zipOf(t,
		[2]string{"archive/data.pkl", string(pkl)},
		[2]string{"archive/byteorder", "little"},
		[2]string{"archive/data/0", "\x80\x02garbagefloats!!!!!!!!!!"},
		[2]string{"archive/version", "3\n"},
		[2]string{"archive/.data/serialization_id", "1234"},
	)
}

func npyBytes(descr string, data []byte) []byte {
	h := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (3,), }"
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.WriteString(h)
	b.Write(data)
	return b.Bytes()
}

// safetensorsOf builds a file from a header JSON and a data length.
func safetensorsOf(header string, dataLen int) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(make([]byte, dataLen))
	return b.Bytes()
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }
