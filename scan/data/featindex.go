package data

// featIndex maps tracked feature hashes to their index in the feature
// table: open addressing with linear probing. Unlike a Go map it can look a
// whole record's features up at once, hashing them all before probing, so
// that the cache misses of the probes overlap.
type featIndex struct {
	slots []fslot
	n     int
	shift uint
}

type fslot struct {
	h uint64
	k int32 // index+1; 0 is an empty slot
}

func newFeatIndex(capacity int) *featIndex {
	x := &featIndex{}
	x.alloc(capacity)
	return x
}

func (x *featIndex) alloc(capacity int) {
	size, shift := 16, uint(60)
	for size < 2*capacity {
		size, shift = size<<1, shift-1
	}
	x.slots, x.shift = make([]fslot, size), shift
}

// slot is where probing for h starts (Fibonacci hashing: the top bits).
func (x *featIndex) slot(h uint64) uint64 { return (h * 0x9e3779b97f4a7c15) >> x.shift }

func (x *featIndex) len() int { return x.n }

func (x *featIndex) get(h uint64) (int32, bool) {
	mask := uint64(len(x.slots) - 1)
	for j := x.slot(h); ; j = (j + 1) & mask {
		switch s := &x.slots[j]; {
		case s.k == 0:
			return 0, false
		case s.h == h:
			return s.k - 1, true
		}
	}
}

// put adds h (not present) with index k.
func (x *featIndex) put(h uint64, k int32) {
	if 2*(x.n+1) > len(x.slots) {
		old := x.slots
		x.alloc(len(old))
		for _, s := range old {
			if s.k != 0 {
				x.insert(s.h, s.k)
			}
		}
	}
	x.insert(h, k+1)
	x.n++
}

func (x *featIndex) insert(h uint64, k1 int32) {
	mask := uint64(len(x.slots) - 1)
	j := x.slot(h)
	for x.slots[j].k != 0 {
		j = (j + 1) & mask
	}
	x.slots[j] = fslot{h, k1}
}

// lookupAll appends the index of each feature to dst, or -1.
func (x *featIndex) lookupAll(dst []int32, fs []feat) []int32 {
	var js [32]uint64
	mask := uint64(len(x.slots) - 1)
	for len(fs) > 0 {
		n := min(len(fs), len(js))
		for k, f := range fs[:n] {
			js[k] = x.slot(f.h)
		}
		for k, f := range fs[:n] {
			k1 := int32(0)
			for j := js[k]; ; j = (j + 1) & mask {
				s := &x.slots[j]
				if s.k == 0 || s.h == f.h {
					k1 = s.k
					break
				}
			}
			dst = append(dst, k1-1)
		}
		fs = fs[n:]
	}
	return dst
}
