//go:build !amd64 || purego

package audit

// pairedSHA256: no paired SHA-256 on this platform (see leafhash_amd64.go).
const pairedSHA256 = false

func blocks2(k *[64]uint32, mask *[16]byte, a, b *[8]uint32, pa, pb *byte, n int) {
	panic("audit: blocks2 without the SHA extensions")
}
