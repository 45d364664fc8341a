package model

import (
	"strings"
	"testing"
)

// dtypePkl pushes numpy.dtype(code) with its BUILD state, as numpy
// pickles it.
func (p *pb) dtype(code string, elsize int) *pb {
	p.global("numpy", "dtype").str(code).op(0x89, 0x88).op(0x87).reduce()
	p.mark().int1(3).str("<").op('N', 'N', 'N')
	if elsize < 0 {
		p.op('J', 0xff, 0xff, 0xff, 0xff)
	} else {
		p.int1(byte(elsize))
	}
	p.op('J', 0xff, 0xff, 0xff, 0xff).int1(0).tuple().build()
	return p
}

// wrapper pushes a joblib NumpyArrayWrapper for shape dims of dtype code;
// align < 0 leaves out numpy_array_alignment_bytes (joblib < 1.2).
func (p *pb) wrapper(code string, align int, dims ...byte) *pb {
	p.global("joblib.numpy_pickle", "NumpyArrayWrapper").emptyTuple().op(0x81)
	p.op('}').mark()
	p.str("subclass").global("numpy", "ndarray")
	p.str("shape").mark()
	for _, d := range dims {
		p.int1(d)
	}
	p.tuple()
	p.str("order").str("C")
	p.str("dtype").dtype(code, -1)
	p.str("allow_mmap").op(0x88)
	if align >= 0 {
		p.str("numpy_array_alignment_bytes").int1(byte(align))
	}
	p.op('u').build()
	return p
}

// objectArrayPkl is an object ndarray of [1, "a"] as numpy pickles it.
func objectArrayPkl() []byte {
	p := newPB(2)
	p.global("numpy.core.multiarray", "_reconstruct")
	p.global("numpy", "ndarray").int1(0).op(0x85).bytesv("b").op(0x87).reduce()
	p.mark().int1(1).int1(2).op(0x85).dtype("O8", -1).op(0x89)
	p.op(']').mark().int1(1).str("a").op('e').tuple().build()
	return p.stop()
}

func TestJoblib(t *testing.T) {
	pad := func(n int) string { return string(rune(n)) + strings.Repeat("\xff", n) }
	f8x3 := string(make([]byte, 24))
	one := newPB(4).wrapper("f8", 16, 3).raw(pad(5) + f8x3).stop()
	two := newPB(4).op(']').mark().wrapper("i4", 16, 2, 2).raw(pad(16)+string(make([]byte, 16))).
		wrapper("u1", -1, 5).raw("abcde").op('e').stop()
	obj := newPB(4).wrapper("O8", -1, 2).raw(string(objectArrayPkl())).stop()
	scalar := newPB(4).wrapper("f4", 16).raw(pad(1) + "abcd").stop()
	evilObj := newPB(4).wrapper("O8", -1, 1).raw(string(evilPkl())).stop()
	// data that happens to spell a pickle is skipped, and what follows is
	// interpreted again
	after := newPB(4).op(']').mark().wrapper("u1", 16, 26).raw(pad(3)+"cos\nsystem\n(S'id'\ntR.12345").
		global("os", "system").str("id").op(0x85).reduce().op('e').stop()
	check(t, []sample{
		{"one array", one, Safe, "", FormatJoblib},
		{"list of arrays old and new", two, Safe, "", FormatJoblib},
		{"object array", obj, Safe, "", FormatJoblib},
		{"0-d array", scalar, Safe, "", FormatJoblib},
		{"gzip joblib", gz(one), Safe, "", "gzip/joblib"},
		{"raw bytes that look like a pickle", newPB(4).wrapper("u1", 16, 12).raw(pad(2) + "cos\nsystem\n.").stop(), Safe, "", FormatJoblib},
		{"malicious object array", evilObj, Malicious, "dangerous-import", FormatJoblib},
		{"malicious after array", after, Malicious, "dangerous-import", FormatJoblib},
		{"truncated data", newPB(4).wrapper("f8", 16, 3).raw(pad(5) + f8x3[:20]).Bytes(), Error, "truncated", ""},
		{"truncated padding", newPB(4).wrapper("f8", 16, 3).raw("\x05\xff").Bytes(), Error, "truncated", ""},
		{"no STOP after data", newPB(4).wrapper("f8", 16, 3).raw(pad(5) + f8x3).Bytes(), Error, "truncated", ""},
		{"structured dtype", newPB(4).global("joblib.numpy_pickle", "NumpyArrayWrapper").emptyTuple().op(0x81).op('}').str("dtype").str("V8").op('s').build().raw("xxxxxxxx").stop(), Unknown, "joblib-array-data", ""},
		{"huge shape", newPB(4).wrapper("f8", -1, 255, 255, 255, 255, 255, 255, 255, 255).raw("x").stop(), Error, "limit-exceeded", ""},
	})
}

func TestNPYObject(t *testing.T) {
	check(t, []sample{
		{"benign object array", npyBytes("|O", objectArrayPkl()), Safe, "npy-object-array", FormatNPY},
		{"npz object member", zipOf(t, [2]string{"a.npy", string(npyBytes("|O", objectArrayPkl()))}, [2]string{"b.npy", string(npyBytes("<f4", make([]byte, 12)))}), Safe, "npy-object-array", FormatNPZ},
		{"malicious object array", npyBytes("|O", evilPkl()), Malicious, "dangerous-import", FormatNPY},
		{"unlisted import", npyBytes("|O", newPB(2).global("sklearn.tree", "Tree").emptyTuple().reduce().stop()), Unknown, "import-not-allowed", FormatNPY},
		{"truncated object pickle", npyBytes("|O", objectArrayPkl()[:30]), Error, "truncated", FormatNPY},
	})
}
