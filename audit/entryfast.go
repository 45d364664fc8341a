package audit

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math/bits"
	"sync"
)

// entryParser parses the entries of one scan. Rekor v2 writes every entry
// as canonical JSON (keys sorted, no white space, no escapes), and a CI
// identity signs with the same certificate or key many times, so it reads
// that exact form with a byte cursor and parses each distinct certificate
// or key once. Anything else, or anything the fast path does not accept,
// goes to ParseEntry, whose answer is the reference (FuzzEntryParser
// checks that both agree).
type entryParser struct {
	// shared is what all the scan's workers learnt; certs and keys (by
	// base64 DER) what this one looked up there, read without a lock (a
	// lock taken per entry by every worker costs more than the lookup).
	shared      *signerCache
	certs, keys map[string]*cachedSigner
	// recent holds, by recentSlot, what this worker looked up last: most
	// entries find their certificate or key here, by one comparison of
	// its base64 DER, without hashing it for a map.
	recent [512]*cachedSigner
	slab   []oneSigner // see newEntry
	// m, when set, is the scan's query: sieve decides with it which
	// entries are worth building, and the cache remembers its verdicts.
	m *matcher
}

// signerCache holds the certificates and keys (by base64 DER, apart) the
// workers of one scan have seen, each parsed once.
type signerCache struct {
	mu          sync.Mutex
	certs, keys map[string]*cachedSigner
	// The certificates and keys a worker is learning (see lookup), closed
	// when it is done.
	learningCerts, learningKeys map[string]chan struct{}
	max                         int
}

// cachedSigner is what a scan knows about one certificate or key.
type cachedSigner struct {
	key    string // the base64 DER, once cached (the workers' key too)
	s      Signer // Signature unset
	cert   bool   // a certificate (else a key)
	parsed bool   // s is set (the DER parsed)
	// For the scan's query: the base64 DER holds one of its needles (true
	// when it has none), and the parsed signer matches it.
	needle, match bool
}

// maxCachedSigners bounds the certificates and keys one scan remembers.
const maxCachedSigners = 4096

// newEntryParser returns a parser for one scan; m (nil: none) is its query.
func newEntryParser(m *matcher) *entryParser {
	shared := &signerCache{
		certs: map[string]*cachedSigner{}, keys: map[string]*cachedSigner{},
		learningCerts: map[string]chan struct{}{}, learningKeys: map[string]chan struct{}{},
		max: maxCachedSigners,
	}
	return (&entryParser{shared: shared, m: m}).worker()
}

// worker returns a parser for another worker of p's scan: the same query,
// and what any of them parses the others find.
func (p *entryParser) worker() *entryParser {
	return &entryParser{shared: p.shared, certs: map[string]*cachedSigner{}, keys: map[string]*cachedSigner{}, m: p.m}
}

// parse is ParseEntry, faster. LeafHash is left for the caller, which has
// it from proving the entry.
func (p *entryParser) parse(index uint64, data []byte) (*Entry, error) {
	if e, ok := p.canonical(index, data); ok {
		return e, nil
	}
	return ParseEntry(index, data)
}

const (
	prefixEntry        = `{"apiVersion":"0.0.2","kind":"`
	prefixHashedRekord = `hashedrekord","spec":{"hashedRekordV002":{"data":`
	prefixDSSE         = `dsse","spec":{"dsseV002":{"payloadHash":`
)

// canonical reads data if it is exactly a canonical hashedrekord or dsse
// v0.0.2 entry; ok is false for anything else.
func (p *entryParser) canonical(index uint64, data []byte) (*Entry, bool) {
	c := cursor{b: data}
	if !c.lit(prefixEntry) {
		return nil, false
	}
	one := p.newEntry(index)
	e := &one.e
	var ok bool
	switch {
	case c.lit(prefixHashedRekord):
		e.Kind = KindHashedRekord
		if e.Digest, ok = c.hash(); !ok || !c.lit(`,"signature":`) {
			return nil, false
		}
		if one.s[0], ok = p.signature(&c, one.sig[:]); !ok || !c.lit(`}}}`) {
			return nil, false
		}
		e.Signers = one.s[:]
	case c.lit(prefixDSSE):
		e.Kind = KindDSSE
		if e.Digest, ok = c.hash(); !ok || !c.lit(`,"signatures":[`) {
			return nil, false
		}
		for {
			s, ok := p.signature(&c, nil)
			if !ok {
				return nil, false
			}
			e.Signers = append(e.Signers, s)
			if !c.lit(",") {
				break
			}
		}
		if !c.lit(`]}}}`) {
			return nil, false
		}
	default:
		return nil, false
	}
	return e, c.i == len(c.b)
}

// oneSigner is an entry, its one signer (hashedrekord) and signature
// (when short, as ECDSA and Ed25519 ones are), allocated at once.
type oneSigner struct {
	e   Entry
	s   [1]Signer
	sig [112]byte
}

// newEntry takes the next entry of the parser's slab: a scan that keeps
// thousands allocates them a slab at a time. (A kept entry keeps its
// slab, a few dozen KiB, from the collector.)
func (p *entryParser) newEntry(index uint64) *oneSigner {
	if len(p.slab) == 0 {
		p.slab = make([]oneSigner, entrySlab)
	}
	one := &p.slab[0] // zero, used once
	p.slab = p.slab[1:]
	one.e.Index, one.e.APIVersion = index, "0.0.2"
	return one
}

// entrySlab is the number of entries allocated at once.
const entrySlab = 32

// verdict is what sieve decides about an entry.
type verdict int

const (
	// notCanonical: not an entry canonical reads (or one it refuses):
	// whether it may match and what it says is ParseEntry's to tell.
	notCanonical verdict = iota
	// noMatch: a canonical entry that cannot match the query.
	noMatch
	// mayMatch: a canonical entry that may match: build it (parse) and
	// match it.
	mayMatch
	// isMatch: a canonical entry that matches if canonical reads it (its
	// base64 may be unchecked: canonical checks it).
	isMatch
	// unchecked: a needle is in it, but its base64 was not checked yet.
	unchecked
)

// sieve decides, without building it, whether data may match the parser's
// query (which must be set). It walks data as canonical does, compares the
// digest with the query's, and asks the cache about each certificate or
// key, learning those it has not seen. An entry none of whose certificates
// or keys holds a needle cannot match (an identity is in the certificate's
// DER, see identityNeedles): then nothing else in it is checked or parsed,
// as the prefilter skipped it before the fast path read it. Any other
// entry is checked as canonical checks it, so an entry canonical refuses
// (and ParseEntry may call unreadable) is notCanonical, or isMatch when
// the signers match (build checks it as it builds it from s, where sieve
// leaves what it read).
func (p *entryParser) sieve(data []byte, s *sifted) verdict {
	v := p.sieveChecking(data, len(p.m.idNeedles) == 0, s)
	if v == unchecked {
		v = p.sieveChecking(data, true, s)
	}
	return v
}

// sifted is what sieve read of a canonical entry: enough to build it
// without reading it again.
type sifted struct {
	dsse        bool
	alg, digest []byte // the digest's algorithm name and base64
	// The signatures (base64) and their signers; sigs counts them, and
	// only the first len(sig) are kept (build leaves an entry with more,
	// a rare DSSE envelope, to canonical).
	sig  [4]siftedSignature
	sigs int
}

type siftedSignature struct {
	content []byte
	signer  *cachedSigner
}

// sieveChecking is sieve, checking the entry's base64 strings when check
// is set (else, when a needle is found, it returns unchecked).
func (p *entryParser) sieveChecking(data []byte, check bool, s *sifted) verdict {
	m := p.m
	s.dsse, s.sigs = false, 0 // build reads s.sig[:s.sigs] only
	c := cursor{b: data}
	switch {
	case c.lit(prefixEntry + prefixHashedRekord + `{"algorithm":`):
	case c.lit(prefixEntry + prefixDSSE + `{"algorithm":`):
		s.dsse = true
	default:
		return notCanonical
	}
	name, ok := c.str(true)
	if !ok || !c.lit(`,"digest":`) {
		return notCanonical
	}
	digest, ok := c.str(false)
	if !ok {
		return notCanonical
	}
	s.alg, s.digest = name, digest
	if check || m.digHex != "" {
		alg, ok := digestNamed(name)
		if !ok || !isBase64(digest) || decodedLen(digest) != alg.size {
			return notCanonical
		}
		if m.digHex != "" {
			var buf [64]byte
			n, _ := base64.StdEncoding.Decode(buf[:], digest)
			if alg.name != m.digestAlg || !bytes.Equal(buf[:n], m.digRaw) {
				return noMatch
			}
		}
	}
	// A hashedrekord entry's one certificate or key ends it (see
	// verifier); a dsse entry's signatures are a list.
	tail, end := `"}}}}}}`, ""
	if s.dsse {
		ok, tail, end = c.lit(`},"signatures":[{"content":`), "", `]}}}`
	} else {
		ok = c.lit(`},"signature":{"content":`)
	}
	if !ok {
		return notCanonical
	}
	needle, parsed, match := false, true, false
	for {
		sig, ok := c.str(false)
		if !ok || check && !isBase64(sig) {
			return notCanonical
		}
		cert, der, ok := c.verifier(tail)
		if !ok {
			return notCanonical
		}
		cs, ok := p.lookup(cert, der, false)
		if !ok {
			return notCanonical
		}
		if s.sigs < len(s.sig) {
			s.sig[s.sigs] = siftedSignature{sig, cs}
		}
		s.sigs++
		needle, parsed, match = needle || cs.needle, parsed && cs.parsed, match || cs.match
		if !s.dsse || !c.lit(`,{"content":`) {
			break
		}
	}
	switch {
	case !c.lit(end) || c.i != len(c.b):
		return notCanonical
	case !needle:
		return noMatch
	case !parsed:
		return mayMatch // a certificate or key without a needle beside one with
	case match:
		return isMatch
	case !check:
		return unchecked // a needle, no match: unreadable or not?
	}
	return noMatch
}

// build is the entry sieve read into s (whose signers are all parsed), as
// canonical would build it; ok is false where canonical refuses it (then
// ParseEntry tells why), or when s kept too few of its signatures.
func (p *entryParser) build(index uint64, s *sifted) (*Entry, bool) {
	if s.sigs > len(s.sig) {
		return nil, false
	}
	d, ok := digestOf(s.alg, s.digest)
	if !ok {
		return nil, false
	}
	one := p.newEntry(index)
	e := &one.e
	e.Kind, e.Digest = KindHashedRekord, d
	if s.dsse {
		e.Kind = KindDSSE
	}
	for i, ss := range s.sig[:s.sigs] {
		var buf []byte
		if i == 0 {
			buf = one.sig[:]
		}
		sig, ok := decodeBase64(ss.content, buf)
		if !ok || len(sig) == 0 || !ss.signer.parsed {
			return nil, false
		}
		if i == 0 {
			one.s[0] = ss.signer.s
			e.Signers = one.s[:]
		} else {
			e.Signers = append(e.Signers, ss.signer.s)
		}
		e.Signers[i].Signature = sig
	}
	return e, true
}

// verifier reads ,"verifier":{"keyDetails":NAME,"publicKey"|
// "x509Certificate":{"rawBytes":B64}}} and returns whether it is a
// certificate, and its base64 DER (unchecked). With a tail, which is the
// DER's closing quote, the braces above and the entry's end, the entry
// must end with it, and the DER is what is between its opening quote and
// the tail: it is not read to find its end. (A DER with a quote in it
// makes the entry one canonical refuses; lookup finds it, as it checks
// the bytes of a DER it does not hold and holds none with a quote.)
func (c *cursor) verifier(tail string) (cert bool, der []byte, ok bool) {
	if !c.lit(`,"verifier":{"keyDetails":`) {
		return false, nil, false
	}
	if _, ok := c.str(true); !ok {
		return false, nil, false
	}
	switch {
	case c.lit(`,"x509Certificate":{"rawBytes":`):
		cert = true
	case c.lit(`,"publicKey":{"rawBytes":`):
	default:
		return false, nil, false
	}
	if tail != "" {
		end := len(c.b) - len(tail)
		if end <= c.i || c.b[c.i] != '"' || !bytes.HasSuffix(c.b, []byte(tail)) {
			return false, nil, false
		}
		der, c.i = c.b[c.i+1:end], len(c.b)
		return cert, der, true
	}
	if der, ok = c.str(false); !ok || !c.lit(`}}}`) {
		return false, nil, false
	}
	return cert, der, true
}

// decodedLen is the number of bytes valid base64 s decodes to.
func decodedLen(s []byte) int {
	n := len(s) / 4 * 3
	for i := len(s) - 1; i >= 0 && s[i] == '='; i-- {
		n--
	}
	return n
}

// isBase64 reports whether s is non-empty padded standard base64 (what
// base64.StdEncoding.DecodeString takes, decoding to at least one byte),
// without decoding it: one pass over s.
func isBase64(s []byte) bool {
	n := len(s)
	if n == 0 || n%4 != 0 || !allBase64(s[:n-2], false) {
		return false
	}
	if s[n-2] == '=' {
		return s[n-1] == '='
	}
	return base64Alphabet[s[n-2]] == 1 && (s[n-1] == '=' || base64Alphabet[s[n-1]] == 1)
}

// signature reads {"content":B64,"verifier":{"keyDetails":NAME,
// "publicKey"|"x509Certificate":{"rawBytes":B64}}}.
func (p *entryParser) signature(c *cursor, buf []byte) (Signer, bool) {
	if !c.lit(`{"content":`) {
		return Signer{}, false
	}
	sig, ok := c.base64(buf)
	if !ok || len(sig) == 0 {
		return Signer{}, false
	}
	// Unchecked: a cached string was checked when it was cached, and
	// signer checks any other.
	cert, der, ok := c.verifier("")
	if !ok {
		return Signer{}, false
	}
	s, ok := p.signer(cert, der)
	s.Signature = sig
	return s, ok
}

// signer parses a certificate or key (base64 DER) once per scan.
func (p *entryParser) signer(cert bool, b64 []byte) (Signer, bool) {
	cs, ok := p.lookup(cert, b64, true)
	if !ok {
		return Signer{}, false
	}
	return cs.s, true
}

// lookup returns what the scan knows about a certificate or key (base64
// DER), learning it on first sight: whether the query's needles are in
// it, and, when they are or parse is set, its signer. ok is false when
// it was to be parsed and does not parse (ParseEntry says why). What it
// returns is not to be modified.
func (p *entryParser) lookup(cert bool, b64 []byte, parse bool) (*cachedSigner, bool) {
	slot := recentSlot(b64)
	if cs := p.recent[slot]; cs != nil && cs.cert == cert && cs.key == string(b64) && (cs.parsed || !parse) {
		return cs, true
	}
	local := p.keys
	if cert {
		local = p.certs
	}
	if cs, ok := local[string(b64)]; ok && (cs.parsed || !parse) {
		p.recent[slot] = cs
		return cs, true
	}
	cs, cached, ok := p.shared.lookup(cert, b64, parse, p.m)
	if cached {
		// Only what the bounded shared cache holds.
		local[cs.key] = cs
		p.recent[slot] = cs
	}
	return cs, ok
}

// recentSlot is where entryParser.recent keeps b64: a mix of its length
// and its last 16 bytes, which encode (besides padding) the end of the
// certificate's signature or of the key's point, different in each.
func recentSlot(b64 []byte) uint {
	h := uint64(len(b64))
	if n := len(b64); n >= 16 {
		h ^= binary.LittleEndian.Uint64(b64[n-16:]) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(b64[n-8:]), 29)
	}
	return uint((h * 0x9e3779b97f4a7c15) >> 55)
}

// lookup is entryParser.lookup for all workers; cached says whether the
// cache holds what it returns.
func (c *signerCache) lookup(cert bool, b64 []byte, parse bool, m *matcher) (cs *cachedSigner, cached, ok bool) {
	cache, learning := c.keys, c.learningKeys
	if cert {
		cache, learning = c.certs, c.learningCerts
	}
	// The workers of a scan meet the same certificates at about the same
	// time: one learns each, the others wait for it and take what it
	// learnt (or, when it could not keep it, learn it themselves).
	c.mu.Lock()
	for {
		cs, ok = cache[string(b64)]
		if ok && (cs.parsed || !parse) {
			c.mu.Unlock()
			return cs, true, true
		}
		done, busy := learning[string(b64)]
		if !busy {
			break
		}
		c.mu.Unlock()
		<-done
		c.mu.Lock()
	}
	key := string(b64)
	done := make(chan struct{})
	learning[key] = done
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(learning, key)
		c.mu.Unlock()
		close(done)
	}()
	// Unchecked by the cursor: an escape could hide a needle.
	if !ok && !allBase64(b64, true) {
		return nil, false, false
	}
	cs = &cachedSigner{cert: cert, needle: m == nil || anyNeedle(b64, m.idNeedles)}
	if cs.needle || parse {
		s, err := parseDER(cert, b64)
		if err != nil {
			return nil, false, false
		}
		cs.s, cs.parsed = s, true
		cs.match = m != nil && m.signer(s)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, had := cache[key]; had || len(c.certs)+len(c.keys) < c.max {
		cs.key = key
		cache[key] = cs
		return cs, true, true
	}
	return cs, false, true
}

// parseDER is parseSigner of a certificate or key given as base64 DER,
// without its signature.
func parseDER(cert bool, b64 []byte) (Signer, error) {
	der, err := base64.StdEncoding.DecodeString(string(b64))
	if err != nil {
		return Signer{}, err
	}
	var rs rekorSignature
	rs.Content = []byte{0} // parseSigner refuses an empty one; unused here
	if cert {
		rs.Verifier.X509Certificate = &struct {
			RawBytes []byte `json:"rawBytes"`
		}{der}
	} else {
		rs.Verifier.PublicKey = &struct {
			RawBytes []byte `json:"rawBytes"`
		}{der}
	}
	s, err := parseSigner(rs)
	s.Signature = nil
	return s, err
}

// cursor reads canonical JSON by exact literals.
type cursor struct {
	b []byte
	i int
}

func (c *cursor) lit(s string) bool {
	if !bytes.HasPrefix(c.b[c.i:], []byte(s)) {
		return false
	}
	c.i += len(s)
	return true
}

// str reads a JSON string and returns its contents: with name, only
// when all its bytes are those of an enum name (nameBytes: so it holds no
// escape); without, any bytes up to the next quote (the caller checks
// them).
func (c *cursor) str(name bool) ([]byte, bool) {
	if c.i >= len(c.b) || c.b[c.i] != '"' {
		return nil, false
	}
	n := bytes.IndexByte(c.b[c.i+1:], '"')
	if n < 0 {
		return nil, false
	}
	s := c.b[c.i+1 : c.i+1+n]
	if name && !allName(s) {
		return nil, false
	}
	c.i += n + 2
	return s, true
}

// all reports whether every byte of s is one of valid's. (allBase64 and
// allName are the same for the sets a scan checks in every entry, eight
// bytes a step.)
func all(s []byte, valid *[256]uint8) bool {
	// Branch-free, four bytes a step: twice the byte-by-byte loop's speed
	// on base64 (a scan checks every entry's signature and digest).
	acc := uint8(1)
	for len(s) >= 4 {
		acc &= valid[s[0]] & valid[s[1]] & valid[s[2]] & valid[s[3]]
		s = s[4:]
	}
	for _, b := range s {
		acc &= valid[b]
	}
	return acc == 1
}

// base64 reads a string of standard padded base64, decoded (into buf
// when it fits), as encoding/json decodes a []byte.
func (c *cursor) base64(buf []byte) ([]byte, bool) {
	s, ok := c.str(false) // decodeBase64 checks it
	if !ok {
		return nil, false
	}
	return decodeBase64(s, buf)
}

// decodeBase64 decodes standard padded base64 (into buf when it fits), as
// encoding/json decodes a []byte.
func decodeBase64(s, buf []byte) ([]byte, bool) {
	// base64's decoder skips new lines, which encoding/json refuses.
	if !allBase64(s, true) {
		return nil, false
	}
	b := buf
	if n := base64.StdEncoding.DecodedLen(len(s)); n > len(b) {
		b = make([]byte, n)
	}
	n, err := base64.StdEncoding.Decode(b, s)
	return b[:n:n], err == nil
}

// hash reads {"algorithm":NAME,"digest":B64}.
func (c *cursor) hash() (Digest, bool) {
	if !c.lit(`{"algorithm":`) {
		return Digest{}, false
	}
	alg, ok := c.str(true)
	if !ok || !c.lit(`,"digest":`) {
		return Digest{}, false
	}
	d, ok := c.str(false) // digestOf checks it
	if !ok || !c.lit(`}`) {
		return Digest{}, false
	}
	return digestOf(alg, d)
}

// digestOf is what parseHash makes of a digest algorithm's name and the
// digest in base64, with one allocation (its hex).
func digestOf(name, b64 []byte) (Digest, bool) {
	alg, ok := digestNamed(name)
	// Longer base64 than a SHA-512 digest's decodes to too many bytes.
	var raw [66]byte
	if !ok || !allBase64(b64, true) || base64.StdEncoding.DecodedLen(len(b64)) > len(raw) {
		return Digest{}, false
	}
	n, err := base64.StdEncoding.Decode(raw[:], b64)
	if err != nil || n != alg.size {
		return Digest{}, false
	}
	var hx [2 * len(raw)]byte
	hex.Encode(hx[:], raw[:n])
	return Digest{Algorithm: alg.name, Hex: string(hx[:2*n])}, true
}

// allBase64 is all(s, &base64Bytes) with pad, else all(s,
// &base64Alphabet).
func allBase64(s []byte, pad bool) bool {
	for ; len(s) >= 8; s = s[8:] {
		x := binary.LittleEndian.Uint64(s)
		ok := inRange(x|caseBits, 'a', 'z'+1) | inRange(x, '/', '9'+1) | inRange(x, '+', '+'+1)
		if pad {
			ok |= inRange(x, '=', '='+1)
		}
		if x&highBits != 0 || ok != highBits {
			return false
		}
	}
	if pad {
		return all(s, &base64Bytes)
	}
	return all(s, &base64Alphabet)
}

// allName is all(s, &nameBytes).
func allName(s []byte) bool {
	for ; len(s) >= 8; s = s[8:] {
		x := binary.LittleEndian.Uint64(s)
		ok := inRange(x|caseBits, 'a', 'z'+1) | inRange(x, '0', '9'+1) | inRange(x, '-', '.'+1) | inRange(x, '_', '_'+1)
		if x&highBits != 0 || ok != highBits {
			return false
		}
	}
	return all(s, &nameBytes)
}

// Eight bytes at once: each byte's low bit, high bit, and the bit that
// lowercases an ASCII letter (and maps no other byte under 0x80 to one).
const lowBits, highBits, caseBits = 0x0101010101010101, 0x8080808080808080, 0x2020202020202020

// inRange has the high bit of each byte set where that byte of x is in
// [lo, hi), for x whose bytes are all under 0x80 (no addition then
// carries into the next byte) and hi at most 0x80.
func inRange(x uint64, lo, hi byte) uint64 {
	return (x + lowBits*uint64(0x80-lo)) &^ (x + lowBits*uint64(0x80-hi)) & highBits
}

// The bytes of standard base64 (with and without its padding), and of
// enum names.
var base64Bytes, base64Alphabet, nameBytes = byteSet("+/="), byteSet("+/"), byteSet("_.-")

func byteSet(extra string) (set [256]uint8) {
	for b := range 256 {
		if 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' {
			set[b] = 1
		}
	}
	for _, b := range []byte(extra) {
		set[b] = 1
	}
	return set
}
