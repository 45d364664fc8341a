package data

import (
	"syscall"
	"unsafe"
)

// sketchAlloc returns zeroed counters for the sketch and a function that
// frees them. On Linux they are mapped outside the Go heap and the kernel
// is asked for huge pages: every sketch access is a cache miss at a random
// address, and with 4 KiB pages most of them would also miss the TLB.
func sketchAlloc(n int) ([]uint32, func()) {
	const huge = 2 << 20
	size := (n*4 + huge - 1) / huge * huge
	m, err := syscall.Mmap(-1, 0, size+huge, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]uint32, n), func() {}
	}
	// Align to a huge page so the kernel can back the whole sketch with them.
	off := (huge - int(uintptr(unsafe.Pointer(&m[0]))%huge)) % huge
	_ = syscall.Madvise(m[off:off+size], syscall.MADV_HUGEPAGE) // advisory only
	c := unsafe.Slice((*uint32)(unsafe.Pointer(&m[off])), n)
	return c, func() { _ = syscall.Munmap(m) }
}
