package audit

import (
	"bytes"
	"encoding/base64"
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
	mu sync.RWMutex
	// by base64 DER, certificates and keys apart; Signature unset
	certs, keys map[string]Signer
	max         int
}

// maxCachedSigners bounds the certificates and keys one scan remembers.
const maxCachedSigners = 4096

func newEntryParser() *entryParser {
	return &entryParser{certs: map[string]Signer{}, keys: map[string]Signer{}, max: maxCachedSigners}
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
	e := &Entry{Index: index, APIVersion: "0.0.2"}
	var ok bool
	switch {
	case c.lit(prefixHashedRekord):
		e.Kind = KindHashedRekord
		if e.Digest, ok = c.hash(); !ok || !c.lit(`,"signature":`) {
			return nil, false
		}
		s, ok := p.signature(&c)
		if !ok || !c.lit(`}}}`) {
			return nil, false
		}
		e.Signers = []Signer{s}
	case c.lit(prefixDSSE):
		e.Kind = KindDSSE
		if e.Digest, ok = c.hash(); !ok || !c.lit(`,"signatures":[`) {
			return nil, false
		}
		for {
			s, ok := p.signature(&c)
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

// signature reads {"content":B64,"verifier":{"keyDetails":NAME,
// "publicKey"|"x509Certificate":{"rawBytes":B64}}}.
func (p *entryParser) signature(c *cursor) (Signer, bool) {
	if !c.lit(`{"content":`) {
		return Signer{}, false
	}
	sig, ok := c.base64()
	if !ok || len(sig) == 0 || !c.lit(`,"verifier":{"keyDetails":`) {
		return Signer{}, false
	}
	if _, ok := c.str(&nameBytes); !ok {
		return Signer{}, false
	}
	var cert bool
	switch {
	case c.lit(`,"publicKey":{"rawBytes":`):
	case c.lit(`,"x509Certificate":{"rawBytes":`):
		cert = true
	default:
		return Signer{}, false
	}
	// Unchecked: a cached string was checked when it was cached, and
	// signer checks any other.
	der, ok := c.str(nil)
	if !ok || !c.lit(`}}}`) {
		return Signer{}, false
	}
	s, ok := p.signer(cert, der)
	s.Signature = sig
	return s, ok
}

// signer parses a certificate or key (base64 DER) once per scan.
func (p *entryParser) signer(cert bool, b64 []byte) (Signer, bool) {
	cache := p.keys
	if cert {
		cache = p.certs
	}
	p.mu.RLock()
	s, ok := cache[string(b64)]
	p.mu.RUnlock()
	if ok {
		return s, true
	}
	if !all(b64, &base64Bytes) {
		return Signer{}, false
	}
	der, err := base64.StdEncoding.DecodeString(string(b64))
	if err != nil {
		return Signer{}, false
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
	if s, err = parseSigner(rs); err != nil {
		return Signer{}, false // ParseEntry says why
	}
	s.Signature = nil
	p.mu.Lock()
	if len(p.certs)+len(p.keys) < p.max {
		cache[string(b64)] = s
	}
	p.mu.Unlock()
	return s, true
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

// str reads a JSON string and returns its contents: with valid, only
// when all its bytes are valid ones (so it holds no escape); without, any
// bytes up to the next quote (the caller checks them).
func (c *cursor) str(valid *[256]bool) ([]byte, bool) {
	if c.i >= len(c.b) || c.b[c.i] != '"' {
		return nil, false
	}
	n := bytes.IndexByte(c.b[c.i+1:], '"')
	if n < 0 {
		return nil, false
	}
	s := c.b[c.i+1 : c.i+1+n]
	if valid != nil && !all(s, valid) {
		return nil, false
	}
	c.i += n + 2
	return s, true
}

func all(s []byte, valid *[256]bool) bool {
	for _, b := range s {
		if !valid[b] {
			return false
		}
	}
	return true
}

// base64 reads a string of standard padded base64, decoded, as
// encoding/json decodes a []byte.
func (c *cursor) base64() ([]byte, bool) {
	s, ok := c.str(&base64Bytes)
	if !ok {
		return nil, false
	}
	b, err := base64.StdEncoding.DecodeString(string(s))
	return b, err == nil
}

// hash reads {"algorithm":NAME,"digest":B64}.
func (c *cursor) hash() (Digest, bool) {
	if !c.lit(`{"algorithm":`) {
		return Digest{}, false
	}
	alg, ok := c.str(&nameBytes)
	if !ok || !c.lit(`,"digest":`) {
		return Digest{}, false
	}
	d, ok := c.base64()
	if !ok || !c.lit(`}`) {
		return Digest{}, false
	}
	out, err := parseHash(hashOutput{Algorithm: string(alg), Digest: d})
	return out, err == nil
}

// The bytes of standard base64, and of enum names.
var base64Bytes, nameBytes = byteSet("+/="), byteSet("_.-")

func byteSet(extra string) (set [256]bool) {
	for b := range 256 {
		set[b] = 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9'
	}
	for _, b := range []byte(extra) {
		set[b] = true
	}
	return set
}
