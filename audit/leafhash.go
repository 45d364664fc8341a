package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"math/big"
	"sync"
)

// treeHasher computes RFC 6962 leaf and node hashes (those of
// rfc6962.DefaultHasher: SHA-256 of a prefix byte and the data), two at
// once where the CPU has the SHA extensions (blocks2): a scan hashes its
// entries, and the nodes above them, in pairs, in about the time of one
// each.
type treeHasher struct {
	h      hash.Hash // one at a time
	prefix [1]byte   // its prefix (a literal would be allocated per hash)
	ba, bb blockBuf  // the first and last blocks of a pair (see blocks)
	ra, rb [3][]byte // and its runs of blocks
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
	c := shaTables()
	sa, sb := c.iv, c.iv
	ra, rb := blocks(&t.ba, &t.ra, prefix, a), blocks(&t.bb, &t.rb, prefix, b)
	// Both lanes while both have blocks, a run at a time.
	for len(ra) > 0 && len(rb) > 0 {
		n := min(len(ra[0]), len(rb[0])) / sha256.BlockSize
		blocks2(&c.k, &bigEndianWords, &sa, &sb, &ra[0][0], &rb[0][0], n)
		ra, rb = advance(ra, n), advance(rb, n)
	}
	// Then the longer message's last blocks, in both lanes (one's result
	// unused).
	for _, r := range [2]struct {
		runs [][]byte
		s    *[8]uint32
	}{{ra, &sa}, {rb, &sb}} {
		for _, run := range r.runs {
			spare := *r.s
			blocks2(&c.k, &bigEndianWords, r.s, &spare, &run[0], &run[0], len(run)/sha256.BlockSize)
		}
	}
	return appendDigest(appendDigest(out, &sa), &sb)
}

// blockBuf holds the blocks of a message that are not in its data: the
// first (the prefix and the data's first bytes) and the last one or two
// (the data's last bytes and SHA-256's padding).
type blockBuf [3 * sha256.BlockSize]byte

// blocks returns the whole blocks of prefix, data and SHA-256's padding
// as runs of blocks, in runs: in buf, in data itself (most of it, not
// copied), and in buf again (empty runs left out).
func blocks(buf *blockBuf, into *[3][]byte, prefix byte, data []byte) [][]byte {
	runs := into[:0]
	tail := buf[sha256.BlockSize:sha256.BlockSize]
	if len(data) >= sha256.BlockSize-1 {
		buf[0] = prefix
		copy(buf[1:sha256.BlockSize], data)
		runs = append(runs, buf[:sha256.BlockSize])
		rest := data[sha256.BlockSize-1:]
		if n := len(rest) / sha256.BlockSize * sha256.BlockSize; n > 0 {
			runs = append(runs, rest[:n])
		}
		tail = append(tail, rest[len(rest)/sha256.BlockSize*sha256.BlockSize:]...)
	} else {
		tail = append(append(tail, prefix), data...)
	}
	bits := uint64(1+len(data)) * 8
	tail = append(tail, 0x80)
	var zeros [sha256.BlockSize]byte
	tail = append(tail, zeros[:(sha256.BlockSize+56-len(tail)%sha256.BlockSize)%sha256.BlockSize]...)
	return append(runs, binary.BigEndian.AppendUint64(tail, bits))
}

// advance drops n blocks from the first run of runs (and the run, once
// empty).
func advance(runs [][]byte, n int) [][]byte {
	if runs[0] = runs[0][n*sha256.BlockSize:]; len(runs[0]) == 0 {
		return runs[1:]
	}
	return runs
}

// A SHA-256 state as blocks2 keeps it: the words F, E, B, A, H, G, D, C.
func appendDigest(out []byte, s *[8]uint32) []byte {
	for _, i := range [8]int{3, 2, 7, 6, 1, 0, 5, 4} { // A to H
		out = binary.BigEndian.AppendUint32(out, s[i])
	}
	return out
}

// shaConsts are SHA-256's initial state iv (the first 32 bits of the
// fractional parts of the square roots of the first 8 primes), as blocks2
// keeps it, and its round constants k (of the cube roots of the first 64).
type shaConsts struct {
	iv [8]uint32
	k  [64]uint32
}

// shaTables derives the constants on the first paired hash, not when the
// package loads: every mlattest command imports audit, few scan a log.
var shaTables = sync.OnceValue(func() *shaConsts {
	iv, k := shaConstants()
	return &shaConsts{iv, k}
})

// bigEndianWords is the byte shuffle that reads four big-endian words.
var bigEndianWords = [16]byte{3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12}

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
