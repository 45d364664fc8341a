package data

import (
	"math/rand"
	"slices"
	"testing"
	"unicode"
	"unicode/utf8"
)

// dominantScriptRef is dominantScript a byte at a time, as it was before
// it read ASCII eight bytes at a time.
func dominantScriptRef(texts ...string) string {
	var counts [9]int
	n := 0
scan:
	for _, s := range texts {
		for i := 0; i < len(s); {
			if c := s[i]; c < utf8.RuneSelf {
				l := int(asciiLetter[c])
				counts[0] += l
				n += l
				i++
			} else {
				r, size := utf8.DecodeRuneInString(s[i:])
				if unicode.IsLetter(r) {
					counts[slices.Index(scriptNames, scriptOf(r))]++
					n++
				}
				i += size
			}
			if n >= 400 {
				break scan
			}
		}
	}
	if n == 0 {
		return "none"
	}
	best := 0
	for i, c := range counts {
		if c > counts[best] {
			best = i
		}
	}
	return scriptNames[best]
}

func TestDominantScriptWordAtATime(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	pieces := []string{"a", "Z", "@", "[", "`", "{", " ", "0", "\x7f", "é", "Ж", "Ω", "中", "ש", "ह", "\xff", "\x80", "~", "\n"}
	for k := 0; k < 20000; k++ {
		var texts []string
		for range 1 + rng.Intn(3) {
			var b []byte
			for range rng.Intn(600) {
				p := pieces[rng.Intn(len(pieces))]
				if rng.Intn(3) > 0 {
					p = pieces[rng.Intn(9)] // mostly ASCII
				}
				b = append(b, p...)
			}
			texts = append(texts, string(b))
		}
		if got, want := dominantScript(texts...), dominantScriptRef(texts...); got != want {
			t.Fatalf("%q: %s, want %s", texts, got, want)
		}
	}
	for c := 0; c < 128; c++ {
		s := string(rune(c)) + "abcdefgh" + string(rune(c)) + "ЖЖЖЖЖЖЖЖЖЖ"
		if got, want := dominantScript(s), dominantScriptRef(s); got != want {
			t.Fatalf("%q: %s, want %s", s, got, want)
		}
	}
}
