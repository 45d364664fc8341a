//go:build amd64 && !purego

package audit

import "crypto/fips140"

// pairedSHA256 says whether blocks2 runs here: on CPUs with the SHA
// extensions (and SSSE3, which every one of them has), and not in FIPS 140
// mode, where every hash must come from the validated module.
var pairedSHA256 = func() bool {
	if fips140.Enabled() {
		return false
	}
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, c1, _ := cpuid(1, 0)
	_, b7, _, _ := cpuid(7, 0)
	return c1&(1<<9) != 0 && b7&(1<<29) != 0
}()

// blocks2 runs the SHA-256 compression over n 64-byte blocks of two
// messages at once, from pa and pb, updating states a and b (each
// ABEF then CDGH, dwords low to high: see shaState), with the round
// constants k and the byte mask that reads big-endian words.
//
//go:noescape
func blocks2(k *[64]uint32, mask *[16]byte, a, b *[8]uint32, pa, pb *byte, n int)

//go:noescape
func cpuid(leaf, sub uint32) (a, b, c, d uint32)
