package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"math/big"
)

// treeHasher computes RFC 6962 leaf and node hashes (those of
// rfc6962.DefaultHasher: SHA-256 of a prefix byte and the data), two at
// once where the CPU has the SHA extensions (blocks2): a scan hashes its
// entries, and the nodes above them, in pairs, in about the time of one
// each.
type treeHasher struct {
	h      hash.Hash // one at a time
	prefix [1]byte   // its prefix (a literal would be allocated per hash)
	ma, mb []byte    // the padded messages of a pair
	level  []byte    // a level of nodes (see leafRange)
}

func newTreeHasher() *treeHasher { return &treeHasher{h: sha256.New()} }

// one appends the hash of prefix and data to out.
func (t *treeHasher) one(out []byte, prefix byte, data []byte) []byte {
	t.h.Reset()
	t.prefix[0] = prefix
	t.h.Write(t.prefix[:])
	t.h.Write(data)
	return t.h.Sum(out)
}

// pair appends the hashes of prefix and a, and of prefix and b, to out.
func (t *treeHasher) pair(out []byte, prefix byte, a, b []byte) []byte {
	if !pairedSHA256 {
		return t.one(t.one(out, prefix, a), prefix, b)
	}
	t.ma, t.mb = padded(t.ma[:0], prefix, a), padded(t.mb[:0], prefix, b)
	na, nb := len(t.ma)/sha256.BlockSize, len(t.mb)/sha256.BlockSize
	sa, sb := shaIV, shaIV
	n := min(na, nb)
	blocks2(&shaK, &bigEndianWords, &sa, &sb, &t.ma[0], &t.mb[0], n)
	// The longer message's last blocks, in both lanes (one's result unused).
	var spare [8]uint32
	if na > n {
		spare = sa
		blocks2(&shaK, &bigEndianWords, &sa, &spare, &t.ma[n*sha256.BlockSize], &t.ma[n*sha256.BlockSize], na-n)
	}
	if nb > n {
		spare = sb
		blocks2(&shaK, &bigEndianWords, &sb, &spare, &t.mb[n*sha256.BlockSize], &t.mb[n*sha256.BlockSize], nb-n)
	}
	return appendDigest(appendDigest(out, &sa), &sb)
}

// padded appends to m the prefix, data and SHA-256's padding.
func padded(m []byte, prefix byte, data []byte) []byte {
	m = append(m, prefix)
	m = append(m, data...)
	bits := uint64(len(m)) * 8
	m = append(m, 0x80)
	var zeros [sha256.BlockSize]byte
	m = append(m, zeros[:(sha256.BlockSize+56-len(m)%sha256.BlockSize)%sha256.BlockSize]...)
	return binary.BigEndian.AppendUint64(m, bits)
}

// A SHA-256 state as blocks2 keeps it: the words F, E, B, A, H, G, D, C.
func appendDigest(out []byte, s *[8]uint32) []byte {
	for _, i := range [8]int{3, 2, 7, 6, 1, 0, 5, 4} { // A to H
		out = binary.BigEndian.AppendUint32(out, s[i])
	}
	return out
}

var (
	// shaIV is SHA-256's initial state (the first 32 bits of the fractional
	// parts of the square roots of the first 8 primes), as blocks2 keeps
	// it; shaK its round constants (of the cube roots of the first 64).
	shaIV, shaK = shaConstants()
	// bigEndianWords is the byte shuffle that reads four big-endian words.
	bigEndianWords = [16]byte{3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12}
)

func shaConstants() (iv [8]uint32, k [64]uint32) {
	var primes []int64
	for n := int64(2); len(primes) < 64; n++ {
		if big.NewInt(n).ProbablyPrime(0) {
			primes = append(primes, n)
		}
	}
	var h [8]uint32
	for i, p := range primes[:8] {
		// floor(sqrt(p) * 2^32), whose low 32 bits are the fraction's.
		h[i] = uint32(new(big.Int).Sqrt(new(big.Int).Lsh(big.NewInt(p), 64)).Uint64())
	}
	for i, p := range primes {
		k[i] = uint32(icbrt(new(big.Int).Lsh(big.NewInt(p), 96)).Uint64())
	}
	// A..H as F, E, B, A, H, G, D, C.
	iv = [8]uint32{h[5], h[4], h[1], h[0], h[7], h[6], h[3], h[2]}
	return iv, k
}

// icbrt is floor(cbrt(n)) for n > 0 (Newton's method from above).
func icbrt(n *big.Int) *big.Int {
	x := new(big.Int).Lsh(big.NewInt(1), uint(n.BitLen()/3+1)) // > cbrt(n)
	three := big.NewInt(3)
	for {
		// y = (2x + n/x²) / 3
		y := new(big.Int).Quo(n, new(big.Int).Mul(x, x))
		y.Add(y, new(big.Int).Lsh(x, 1))
		y.Quo(y, three)
		if y.Cmp(x) >= 0 {
			return x
		}
		x = y
	}
}
