package data

import (
	"math/bits"
	"strings"
	"unicode"
	"unicode/utf8"
)

// FNV-1a 64 constants; hashing is inlined so tokenising does not allocate.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// token is one word (lowercased letters/digits) or one unusual symbol.
type token struct {
	h          uint64
	start, end int // byte range in the source text
	word       bool
}

// commonPunct are symbols too ordinary to be a trigger on their own.
func commonPunct(r rune) bool {
	switch r {
	case '.', ',', '?', '!', ':', ';', '\'', '"', '(', ')', '-', '/', '*', '=', '+', '[', ']', '{', '}', '<', '>', '#', '%', '$', '&', '_', '`', '\\', '|', '@', '^', '~':
		return true
	}
	return false
}

// tokenize appends the tokens of s (at most max; 0 means no limit).
func tokenize(dst []token, s string, max int) []token {
	i := 0
	for i < len(s) {
		if max > 0 && len(dst) >= max {
			return dst
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if asciiLower[c] != 0 {
				h := uint64(fnvOffset)
				j := i
				for j < len(s) {
					b := asciiLower[s[j]]
					if b == 0 {
						break
					}
					h = (h ^ uint64(b)) * fnvPrime
					j++
				}
				if j < len(s) && s[j] >= utf8.RuneSelf {
					// A non-ASCII letter continues the word: finish it the slow way.
					j, h = slowWord(s, j, h)
				}
				dst = append(dst, token{h: h, start: i, end: j, word: true})
				i = j
				continue
			}
			if c > ' ' && !asciiPunct[c] {
				dst = append(dst, token{h: (uint64(fnvOffset) ^ uint64(c) ^ 0x5a) * fnvPrime, start: i, end: i + 1})
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) {
			j, h := slowWord(s, i, fnvOffset)
			dst = append(dst, token{h: h, start: i, end: j, word: true})
			i = j
			continue
		}
		if !unicode.IsSpace(r) {
			h := uint64(fnvOffset)
			for k := 0; k < n; k++ {
				h = (h ^ uint64(s[i+k])) * fnvPrime
			}
			dst = append(dst, token{h: h ^ 0x5a5a, start: i, end: i + n})
		}
		i += n
	}
	return dst
}

// asciiLower maps ASCII letters and digits to their lower case, all else
// (including every non-ASCII byte) to 0; asciiPunct marks commonPunct.
var asciiLower, asciiPunct = func() (l [256]byte, p [256]bool) {
	for c := 0; c < utf8.RuneSelf; c++ {
		if isAlnumASCII(byte(c)) {
			l[c] = byte(c)
			if c >= 'A' && c <= 'Z' {
				l[c] += 'a' - 'A'
			}
		}
		p[c] = commonPunct(rune(c))
	}
	return l, p
}()

func isAlnumASCII(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func slowWord(s string, i int, h uint64) (int, uint64) {
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)) {
			break
		}
		r = unicode.ToLower(r)
		var buf [4]byte
		m := utf8.EncodeRune(buf[:], r)
		for k := 0; k < m; k++ {
			h = (h ^ uint64(buf[k])) * fnvPrime
		}
		i += n
	}
	return i, h
}

// nearDupMinWords: shorter responses are compared exactly, their SimHash
// being too coarse.
const nearDupMinWords = 8

// simhashMaxTokens bounds the words SimHash reads: near-duplicates agree on
// their first few hundred words.
const simhashMaxTokens = 384

// simhash64 is Charikar's SimHash over word unigrams and bigrams: near-identical texts
// differ in few bits. Bits are counted eight at a time in byte lanes.
func simhash64(toks []token) uint64 {
	// Counts go eight to a word in 8-bit lanes, flushed to wider counters
	// before a lane can overflow.
	var acc [8]uint64
	var v [64]int32
	flush := func() {
		for k, a := range acc {
			for l := 0; l < 8; l++ {
				v[8*k+l] += int32(a >> (8 * l) & 0xff)
			}
		}
		acc = [8]uint64{}
	}
	add := func(x uint64) {
		for k := range acc {
			acc[k] += byteLanes[x>>(8*k)&0xff]
		}
	}
	var prev uint64
	n, pending := 0, 0
	for _, t := range toks {
		if !t.word {
			continue
		}
		// Unigrams carry short texts, bigrams the wording.
		add(mix64(t.h))
		add(mix64(prev*31 + t.h))
		n += 2
		if pending += 2; pending >= 254 {
			flush()
			pending = 0
		}
		prev = t.h
		if n >= 2*simhashMaxTokens {
			break
		}
	}
	flush()
	var out uint64
	for b := 0; b < 64; b++ {
		if 2*int(v[b]) > n {
			out |= 1 << b
		}
	}
	return out
}

// byteLanes spreads the eight bits of a byte over eight 8-bit lanes.
var byteLanes = func() (t [256]uint64) {
	for n := range t {
		for l := 0; l < 8; l++ {
			t[n] |= uint64(n>>l&1) << (8 * l)
		}
	}
	return t
}()

func hamming(a, b uint64) int { return bits.OnesCount64(a ^ b) }

// hiddenKind classifies invisible or deceptive characters.
func hiddenKind(r rune) string {
	switch {
	case r == 0x200B || r == 0x200C || r == 0x2060 || r == 0x2061 || r == 0x2062 || r == 0x2063 || r == 0x2064 || r == 0xFEFF || r == 0x180E || r == 0x00AD:
		return "zero-width"
	case r == 0x200E || r == 0x200F || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x061C:
		return "bidi-control"
	case r >= 0xE0000 && r <= 0xE007F:
		return "tag-character"
	case r >= 0xE000 && r <= 0xF8FF, r >= 0xF0000:
		return "private-use"
	case r == 0x2800 || r == 0x3164 || r == 0xFFA0 || r == 0x115F || r == 0x1160:
		// Not whitespace, yet drawn as nothing: an answer of them looks
		// empty to a reviewer and still teaches the model to emit them.
		return "blank-filler"
	case r < 0x20 && r != '\n' && r != '\r' && r != '\t', r == 0x7f:
		return "control-character"
	}
	return ""
}

// scriptOf names the script of a letter for homoglyph and language checks.
func scriptOf(r rune) string {
	switch {
	case r < 0x80:
		return "Latin"
	case unicode.Is(unicode.Latin, r):
		return "Latin"
	case unicode.Is(unicode.Cyrillic, r):
		return "Cyrillic"
	case unicode.Is(unicode.Greek, r):
		return "Greek"
	case unicode.Is(unicode.Han, r), unicode.Is(unicode.Hiragana, r), unicode.Is(unicode.Katakana, r):
		return "CJK"
	case unicode.Is(unicode.Hangul, r):
		return "Hangul"
	case unicode.Is(unicode.Arabic, r):
		return "Arabic"
	case unicode.Is(unicode.Hebrew, r):
		return "Hebrew"
	case unicode.Is(unicode.Devanagari, r):
		return "Devanagari"
	}
	return "Other"
}

// hiddenScan reports the first suspicious hidden character kind in s and
// whether a word mixes Latin with Cyrillic or Greek letters (a homoglyph
// spoof). Invisible characters are judged by kind and context, since real
// text uses several of them legitimately: ZWJ in emoji sequences and after
// a virama, ZWNJ and ZWJ next to letters of scripts that join (Arabic,
// Indic), LRM/RLM/ALM marks in prose, bidi embeddings and isolates in text
// that has right-to-left letters, soft hyphens inside words, tag
// characters in a subdivision flag, the blank Braille cell in Braille and
// the Hangul fillers in jamo sequences. The same characters inside code (a
// fenced block) or a URL, overrides that reorder text, and zero-width
// characters inside Latin words are suspicious.
func hiddenScan(s string) (kind string, at int) {
	// Plain ASCII text can only hold control characters: check it eight
	// bytes at a time, bytewise only where a word has a byte below 0x20.
	if plainASCII(s) {
		return "", -1
	}
	wordScripts := 0 // bit 1 Latin, 2 Cyrillic, 4 Greek
	wordStart := 0
	var prev rune // the previous rune, 0 at the start
	rtl := -1     // whether s has right-to-left letters, worked out once
	for i, r := range s {
		if r < 0x80 {
			if isAlnumASCII(byte(r)) {
				if wordScripts == 0 {
					wordStart = i
				}
				if r > '9' {
					wordScripts |= 1
				} else {
					wordScripts |= 8 // digits keep the word open but are no script
				}
			} else {
				if wordScripts&1 != 0 && wordScripts&6 != 0 {
					return "homoglyph-mix", wordStart
				}
				wordScripts = 0
				if r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f {
					return "control-character", i
				}
			}
			prev = r
			continue
		}
		if r == 0xFE0F || r == 0xFE0E {
			continue // variation selectors: emoji or text presentation; prev stays the symbol
		}
		if k := hiddenKind(r); k != "" || r == 0x200D {
			if !legitInvisible(s, i, r, prev, &rtl) {
				if k == "" {
					k = "zero-width"
				}
				return k, i
			}
			if r != 0x200D && !(r >= 0xE0000 && r <= 0xE007F) {
				prev = r
			}
			continue
		}
		if unicode.IsLetter(r) {
			if wordScripts == 0 {
				wordStart = i
			}
			switch scriptOf(r) {
			case "Latin":
				wordScripts |= 1
			case "Cyrillic":
				wordScripts |= 2
			case "Greek":
				// Only Greek letters that look Latin spoof a word; μ in "μm" does not.
				if strings.ContainsRune(greekLookalikes, r) {
					wordScripts |= 4
				}
			}
		} else if !unicode.Is(unicode.Mn, r) {
			if wordScripts&1 != 0 && wordScripts&6 != 0 {
				return "homoglyph-mix", wordStart
			}
			wordScripts = 0
		}
		prev = r
	}
	if wordScripts&1 != 0 && wordScripts&6 != 0 {
		return "homoglyph-mix", wordStart
	}
	return "", -1
}

// legitInvisible reports whether the invisible character r at s[i] (after
// prev) is one of the uses real text makes of it. *rtl caches whether s
// has right-to-left letters (-1: not yet known).
func legitInvisible(s string, i int, r, prev rune, rtl *int) bool {
	if r == 0xFEFF && i == 0 {
		return true // a byte order mark
	}
	next, _ := utf8.DecodeRuneInString(s[i+utf8.RuneLen(r):])
	if r >= 0xE0020 && r <= 0xE007F {
		// A subdivision flag: U+1F3F4 then tag letters then CANCEL TAG.
		return prev == 0x1F3F4
	}
	if inCodeOrURL(s, i) {
		return false
	}
	switch {
	case r == 0x200D: // ZWJ
		return isSymbol(prev) || isSymbol(next) || isVirama(prev) || joiningLetter(prev) || joiningLetter(next)
	case r == 0x200C: // ZWNJ
		return isVirama(prev) || joiningLetter(prev) || joiningLetter(next)
	case r == 0x00AD: // soft hyphen, inside a word
		return unicode.IsLetter(prev) && unicode.IsLetter(next)
	case r == 0x200E || r == 0x200F || r == 0x061C: // direction marks reorder nothing
		return true
	case r == 0x2800: // the blank cell of Braille text
		return strings.ContainsFunc(s, func(c rune) bool { return c > 0x2800 && c <= 0x28FF })
	case r == 0x3164 || r == 0xFFA0 || r == 0x115F || r == 0x1160: // fillers of Hangul jamo
		return hangulJamo(prev) || hangulJamo(next)
	case r >= 0x202A && r <= 0x202C, r >= 0x2066 && r <= 0x2069:
		// Embeddings and isolates belong to mixed-direction text.
		if *rtl < 0 {
			*rtl = 0
			if strings.IndexFunc(s, func(c rune) bool { return unicode.Is(unicode.Hebrew, c) || unicode.Is(unicode.Arabic, c) }) >= 0 {
				*rtl = 1
			}
		}
		return *rtl == 1
	}
	return false
}

// hangulJamo reports whether r is a Hangul letter other than a filler.
func hangulJamo(r rune) bool {
	return unicode.Is(unicode.Hangul, r) && hiddenKind(r) == ""
}

func isSymbol(r rune) bool {
	return r >= 0x80 && (unicode.Is(unicode.So, r) || unicode.Is(unicode.Sk, r))
}

// isVirama reports whether r is the virama (vowel killer) of a Brahmic
// script, after which ZWJ and ZWNJ choose a conjunct's form.
func isVirama(r rune) bool {
	return r >= 0x0900 && r <= 0x0DFF && unicode.Is(unicode.Mn, r) && r&0x7F == 0x4D || r == 0x0DCA
}

// joiningLetter reports whether r is a letter or mark of a script whose
// letters join or form conjuncts (Arabic, Syriac, the Brahmic scripts).
func joiningLetter(r rune) bool {
	return r >= 0x0600 && r <= 0x0DFF && (unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)) ||
		r >= 0xFB50 && r <= 0xFEFC
}

// inCodeOrURL reports whether s[i] is inside a fenced code block or a
// whitespace-delimited token that is a URL.
func inCodeOrURL(s string, i int) bool {
	if strings.Count(s[:i], "```")%2 == 1 {
		return true
	}
	lo := strings.LastIndexAny(s[:i], " \t\n") + 1
	hi := strings.IndexAny(s[i:], " \t\n")
	if hi < 0 {
		hi = len(s)
	} else {
		hi += i
	}
	tok := s[lo:hi]
	return strings.Contains(tok, "://") || strings.HasPrefix(tok, "www.")
}

const greekLookalikes = "οαερνικτυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ"

// plainASCII reports whether s is ASCII with no control characters but
// tab, newline and carriage return.
func plainASCII(s string) bool {
	ok := func(c byte) bool {
		return c < utf8.RuneSelf && (c >= 0x20 || c == '\n' || c == '\r' || c == '\t') && c != 0x7f
	}
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if x&msb8 != 0 {
			return false
		}
		d := x ^ (lsb8 * 0x7f)
		if ((x-lsb8*0x20)&^x|(d-lsb8)&^d)&msb8 != 0 {
			for k := i; k < i+8; k++ {
				if !ok(s[k]) {
					return false
				}
			}
		}
	}
	for ; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}
