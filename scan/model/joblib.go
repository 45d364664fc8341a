package model

import (
	"strconv"
	"strings"
)

// joblib.dump writes each numpy array as a pickled
// joblib.numpy_pickle.NumpyArrayWrapper whose BUILD state carries
// subclass, shape, order, dtype, allow_mmap and (joblib >= 1.2)
// numpy_array_alignment_bytes; joblib's unpickler then reads the array
// from the stream right after that BUILD: for object dtypes a nested
// pickle, otherwise (after a one-byte padding length and that many padding
// bytes when the alignment is set) shape × itemsize raw bytes. The
// interpreter skips exactly those bytes and goes on; when the state cannot
// be resolved it stops with an unknown finding, as the end of the data is
// then not known.
//
// Read with plain pickle.load instead, the raw bytes would run as opcodes:
// with an alignment the padding length (1..16) is no opcode and the load
// fails there; files from joblib < 1.2 have no such guard (not judged).

// joblibArray handles BUILD on a NumpyArrayWrapper.
func (vm *pickleVM) joblibArray(w *pval) error {
	unresolved := func(why string) error {
		vm.finding(Unknown, "joblib-array-data", "joblib array wrapper: %s; its inline array data cannot be delimited", why)
		return errStopScan
	}
	st := w.state
	if st == nil || st.kind != kDict || st.more {
		return unresolved("state is not a dict")
	}
	dt, ok := st.dictGet("dtype")
	if !ok {
		return unresolved("no dtype")
	}
	itemsize, object, why := dtypeItemsize(dt)
	if why != "" {
		return unresolved(why)
	}
	if object {
		// An object array is a nested pickle read by pickle.load.
		sub := &pickleVM{sc: vm.sc, member: vm.member, r: vm.r, pos: vm.pos, plain: true}
		_, err := sub.run()
		vm.pos = sub.pos
		return err
	}
	shape, ok := st.dictGet("shape")
	if !ok || shape.kind != kTuple || shape.more {
		return unresolved("shape is not a tuple")
	}
	count := int64(1)
	for _, d := range shape.items {
		if !d.numOK || d.num < 0 {
			return unresolved("shape has a dimension that is not a non-negative int")
		}
		if count, ok = mulSize(count, d.num); !ok {
			return vm.fail("limit-exceeded", "joblib array size overflows")
		}
	}
	if a, ok := st.dictGet("numpy_array_alignment_bytes"); ok && a.kind != kNone {
		p, err := vm.readLE(1, "joblib padding length")
		if err != nil {
			return err
		}
		if err := vm.skip(int64(p), "joblib padding"); err != nil {
			return err
		}
	}
	n, ok := mulSize(count, itemsize)
	if !ok {
		return vm.fail("limit-exceeded", "joblib array size overflows")
	}
	return vm.skip(n, "joblib array data")
}

// dtypeItemsize reads a pickled numpy.dtype: REDUCE of numpy.dtype with
// args (code, align, copy), then BUILD with (version, byteorder, subarray,
// names, fields, elsize, alignment, flags). why is non-empty when the size
// cannot be known (structured and subarray dtypes are not resolved).
func dtypeItemsize(dt *pval) (size int64, object bool, why string) {
	if dt.kind != kObj || !dt.safe || (dt.global != "numpy.dtype") {
		return 0, false, "dtype is not a numpy.dtype"
	}
	if dt.args == nil || dt.args.kind != kTuple || len(dt.args.items) == 0 {
		return 0, false, "dtype arguments not understood"
	}
	code, ok := dt.args.items[0].str()
	if !ok || code == "" {
		return 0, false, "dtype code is not a string"
	}
	var elsize int64 = -1
	if s := dt.state; s != nil {
		if s.kind != kTuple || s.more || len(s.items) < 6 {
			return 0, false, "dtype state not understood"
		}
		for _, i := range []int{2, 3, 4} { // subarray, names, fields
			if s.items[i].kind != kNone {
				return 0, false, "structured or subarray dtype"
			}
		}
		if e := s.items[5]; e.numOK {
			elsize = e.num
		}
	}
	kind, digits := code[0], code[1:]
	if kind == 'O' {
		return 0, true, ""
	}
	if elsize > 0 {
		return elsize, false, ""
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n <= 0 || n > 64 {
		return 0, false, "dtype " + code + " has no size"
	}
	if !strings.ContainsRune("biufcmM", rune(kind)) {
		return 0, false, "dtype " + code + " is not a fixed-size numeric type"
	}
	return int64(n), false, ""
}
