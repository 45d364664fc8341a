package model

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"math/bits"
	"strings"
)

// Legacy torch.save formats interleave pickles with raw bytes. The raw parts
// are skipped by exact sizes computed from allow-listed storage types, so
// every pickle in the file is scanned and nothing is guessed.

// storageElemSize is the element size of an allow-listed storage type
// ("torch.FloatStorage", "torch.cuda.HalfStorage"); 0 when not one.
func storageElemSize(typ string) int64 {
	name, ok := strings.CutPrefix(typ, "torch.")
	if !ok || !allowedImports[typ] {
		return 0
	}
	name = strings.TrimPrefix(name, "cuda.")
	name, ok = strings.CutSuffix(name, "Storage")
	if !ok {
		return 0
	}
	switch name {
	case "Double", "Long", "ComplexFloat":
		return 8
	case "Float", "Int", "QInt32":
		return 4
	case "Half", "BFloat16", "Short":
		return 2
	case "Char", "Byte", "Bool", "QUInt8", "QInt8", "QUInt4x2", "QUInt2x4":
		return 1
	case "ComplexDouble":
		return 16
	}
	return 0
}

// mulSize multiplies non-negative sizes; ok is false on overflow past 2^62.
func mulSize(a, b int64) (int64, bool) {
	if a < 0 || b < 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > 1<<62 {
		return 0, false
	}
	return int64(lo), true
}

// skip discards exactly n bytes of the VM's stream.
func (vm *pickleVM) skip(n int64, what string) error {
	d, err := io.CopyN(io.Discard, vm.r, n)
	vm.pos += d
	if err != nil {
		if err == io.EOF {
			return &errPickle{off: vm.pos, rule: "truncated", msg: what + " ends early"}
		}
		return vm.eof(err)
	}
	return nil
}

// readLE reads an n-byte little-endian unsigned integer (n <= 8) at the
// VM's position.
func (vm *pickleVM) readLE(n int, what string) (uint64, error) {
	vm.op = vm.pos
	b := make([]byte, 8)
	if _, err := io.ReadFull(vm.r, b[:n]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return 0, &errPickle{off: vm.op, rule: "truncated", msg: what + " truncated"}
		}
		return 0, vm.eof(err)
	}
	vm.pos += int64(n)
	return binary.LittleEndian.Uint64(b), nil
}

// reportErr turns an interpreter error into a finding.
func (sc *scan) reportErr(member string, vm *pickleVM, err error) {
	var ep *errPickle
	if errors.As(err, &ep) {
		sc.add(member, ep.off, Error, ep.rule, "%s", ep.msg)
		return
	}
	sc.add(member, vm.pos, Error, "read-error", "%v", err)
}

// atEnd reports trailing bytes after the last structure a loader reads.
func (sc *scan) atEnd(member string, vm *pickleVM) {
	if b, _ := vm.r.Peek(1); len(b) > 0 {
		sc.add(member, vm.pos, Unknown, "trailing-data", "bytes after the last structure the loader reads")
	}
}

// legacyRawStorages checks the raw storages of the legacy (non-tar)
// torch.save format: for each key of the storage-key list, an 8-byte
// little-endian element count that must equal the numel the main pickle
// declared, then count × element size bytes.
func (sc *scan) legacyRawStorages(vm *pickleVM, keys *pval, member string) {
	if keys.kind != kList || keys.more {
		sc.add(member, vm.pos, Unknown, "legacy-storage-keys", "storage key list not understood: the raw storage data cannot be delimited")
		return
	}
	for _, k := range keys.items {
		key, ok := k.str()
		if !ok {
			sc.add(member, vm.pos, Unknown, "legacy-storage-keys", "storage key is not a string")
			return
		}
		ref, ok := vm.persist[key]
		if !ok {
			sc.add(member, vm.pos, Error, "legacy-storage-missing", "storage %q is listed but no persistent id of the main pickle declares it", key)
			return
		}
		es := storageElemSize(ref.typ)
		if es == 0 {
			sc.add(member, vm.pos, Unknown, "legacy-storage-type", "storage %q has a type that is not an allow-listed storage type", key)
			return
		}
		n, err := vm.readLE(8, "storage size")
		if err != nil {
			sc.reportErr(member, vm, err)
			return
		}
		if int64(n) != ref.numel || n > 1<<62 {
			sc.add(member, vm.op, Invalid, "legacy-storage-size", "storage %q holds %d elements; the main pickle declared %d", key, n, ref.numel)
			return
		}
		nb, ok := mulSize(int64(n), es)
		if !ok {
			sc.add(member, vm.op, Invalid, "legacy-storage-size", "storage %q size overflows", key)
			return
		}
		if err := vm.skip(nb, "storage data"); err != nil {
			sc.reportErr(member, vm, err)
			return
		}
	}
	sc.atEnd(member, vm)
}

// runCount runs one pickle that must be a non-negative int at most max.
func (sc *scan) runCount(vm *pickleVM, member, what string, max int64) (int64, bool) {
	v, err := vm.run()
	if err != nil {
		sc.reportErr(member, vm, err)
		return 0, false
	}
	if v.kind != kInt || !v.numOK || v.num < 0 {
		sc.add(member, vm.op, Unknown, "legacy-tar-layout", "%s count is not an integer", what)
		return 0, false
	}
	if v.num > max {
		sc.add(member, vm.op, Error, "limit-exceeded", "%s count %d does not fit in the member", what, v.num)
		return 0, false
	}
	return v.num, true
}

// records walks a legacy record stream: a pickled count (at most max), then
// that many records, each a pickle that each judges (reading the raw bytes
// after it from vm). It stops, false, at cancellation, a broken pickle or
// when each says so, the reason recorded.
func (sc *scan) records(r *bufio.Reader, member, what string, max int64, each func(i int64, vm *pickleVM, v *pval) bool) (*pickleVM, bool) {
	sc.pickle, sc.pickleCode = true, true
	vm := &pickleVM{sc: sc, member: member, r: r}
	n, ok := sc.runCount(vm, member, what, max)
	if !ok {
		return vm, false
	}
	for i := int64(0); i < n; i++ {
		if err := sc.ctx.Err(); err != nil {
			sc.add(member, vm.pos, Error, "cancelled", "%v", err)
			return vm, false
		}
		v, err := vm.run()
		if err != nil {
			sc.reportErr(member, vm, err)
			return vm, false
		}
		if !each(i, vm, v) {
			return vm, false
		}
	}
	return vm, true
}

// scanTorchTarStorages reads the `storages` member of the tar format: a
// pickled count, then per storage a pickled (key, location, storage type),
// an 8-byte little-endian element count and the raw bytes, and at the end
// a pickled list of storage views.
func (sc *scan) scanTorchTarStorages(r *bufio.Reader, size int64, member string) {
	vm, ok := sc.records(r, member, "storage", size/9, func(i int64, vm *pickleVM, v *pval) bool {
		if v.kind != kTuple || len(v.items) != 3 || v.more || v.items[2].kind != kGlobal {
			sc.add(member, vm.op, Unknown, "legacy-tar-layout", "storage record %d is not (key, location, storage type)", i)
			return false
		}
		es := storageElemSize(v.items[2].global)
		if es == 0 || !v.items[2].safe {
			sc.add(member, vm.op, Unknown, "legacy-storage-type", "storage record %d: %s is not an allow-listed storage type", i, nameOr(v.items[2].global))
			return false
		}
		cnt, err := vm.readLE(8, "storage size")
		if err != nil {
			sc.reportErr(member, vm, err)
			return false
		}
		nb, ok := mulSize(int64(min(cnt, 1<<62)), es)
		if !ok || nb > size-vm.pos {
			sc.add(member, vm.op, Invalid, "legacy-storage-size", "storage record %d: %d elements of %d bytes do not fit in the member", i, cnt, es)
			return false
		}
		if err := vm.skip(nb, "storage data"); err != nil {
			sc.reportErr(member, vm, err)
			return false
		}
		return true
	})
	if !ok {
		return
	}
	if _, err := vm.run(); err != nil { // storage views
		sc.reportErr(member, vm, err)
		return
	}
	sc.atEnd(member, vm)
}

// maxTensorDims bounds ndim in tensor records (PyTorch allows 64).
const maxTensorDims = 64

// scanTorchTarTensors reads the `tensors` member: a pickled count, then per
// tensor a pickled (key, storage id, tensor type) and a raw record: int32
// ndim, 4 unused bytes, ndim int64 sizes, ndim int64 strides and an int64
// storage offset.
func (sc *scan) scanTorchTarTensors(r *bufio.Reader, size int64, member string) {
	vm, ok := sc.records(r, member, "tensor", size/16, func(i int64, vm *pickleVM, v *pval) bool {
		if v.kind != kTuple || len(v.items) != 3 || v.more {
			sc.add(member, vm.op, Unknown, "legacy-tar-layout", "tensor record %d is not (key, storage id, tensor type)", i)
			return false
		}
		nd, err := vm.readLE(8, "tensor ndim")
		if err != nil {
			sc.reportErr(member, vm, err)
			return false
		}
		ndim := int32(uint32(nd)) // the high 4 bytes are ignored by the loader
		if ndim < 0 || ndim > maxTensorDims {
			sc.add(member, vm.op, Invalid, "legacy-tensor-ndim", "tensor record %d has %d dimensions", i, ndim)
			return false
		}
		if err := vm.skip(16*int64(ndim)+8, "tensor record"); err != nil {
			sc.reportErr(member, vm, err)
			return false
		}
		return true
	})
	if ok {
		sc.atEnd(member, vm)
	}
}
