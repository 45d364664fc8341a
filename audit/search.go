package audit

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// Query selects log entries. Set fields must all match (an entry matches
// when one of its signers matches the identity fields); regexps match whole
// values.
type Query struct {
	Subject       string // certificate SAN, exact
	SubjectRegexp string
	Issuer        string // OIDC issuer, exact
	IssuerRegexp  string
	KeyID         string // "sha256:HEX" of a signing key
	// Digest is "alg:hex" or a bare hex SHA-256: the entry's signed digest.
	Digest string
}

// matcher is a compiled Query.
type matcher struct {
	q                 Query
	subjectRE, issRE  *regexp.Regexp
	digestAlg, digHex string
	digRaw            []byte
	// needles: an entry matching q contains one of these in its raw
	// bytes (see prefilter); idNeedles (a subject's or issuer's, or the
	// literal prefix of a regexp's), a certificate of a signer matching q
	// contains one of these in its base64 DER (see identityNeedles).
	needles, idNeedles [][]byte
}

// ErrQuery: a query that selects nothing or does not compile.
var ErrQuery = errors.New("invalid query")

func (q Query) compile() (*matcher, error) {
	if q == (Query{}) {
		return nil, fmt.Errorf("%w: give at least one of an identity, an issuer, a key id or a digest", ErrQuery)
	}
	m := &matcher{q: q}
	var err error
	if q.SubjectRegexp != "" {
		if m.subjectRE, err = regexp.Compile("^(?:" + q.SubjectRegexp + ")$"); err != nil {
			return nil, fmt.Errorf("%w: subject regexp %q: %v", ErrQuery, q.SubjectRegexp, err)
		}
	}
	if q.IssuerRegexp != "" {
		if m.issRE, err = regexp.Compile("^(?:" + q.IssuerRegexp + ")$"); err != nil {
			return nil, fmt.Errorf("%w: issuer regexp %q: %v", ErrQuery, q.IssuerRegexp, err)
		}
	}
	if q.Digest != "" {
		alg, h, ok := strings.Cut(strings.ToLower(q.Digest), ":")
		if !ok {
			alg, h = "sha256", alg
		}
		size := 0
		for _, a := range digestSizes {
			if a.name == alg {
				size = a.size
			}
		}
		if size == 0 || len(h) != 2*size || strings.Trim(h, "0123456789abcdef") != "" {
			return nil, fmt.Errorf("%w: digest %q: want sha256:HEX (or sha384:, sha512:)", ErrQuery, q.Digest)
		}
		m.digestAlg, m.digHex = alg, h
		m.digRaw, _ = hex.DecodeString(h)
	}
	// A matching signer satisfies every field: the needles of any one do.
	for _, core := range []func() string{
		func() string { return uriCore(q.Subject) },
		func() string { return q.Issuer },
		func() string { return prefixCore(m.subjectRE) },
		func() string { return literalPrefix(m.issRE) },
	} {
		if m.idNeedles == nil {
			m.idNeedles = identityNeedles(core())
		}
	}
	m.needles = m.idNeedles
	if m.needles == nil && m.digHex != "" {
		m.needles = [][]byte{[]byte(base64.StdEncoding.EncodeToString(m.digRaw))}
	}
	return m, nil
}

// literalPrefix is what every string re matches begins with ("" for no
// re).
func literalPrefix(re *regexp.Regexp) string {
	if re == nil {
		return ""
	}
	p, _ := re.LiteralPrefix()
	return p
}

// prefixCore is uriCore of what every subject re matches begins with, as
// far as it is the same for all of them: "" when the prefix may yet grow
// into a URI's scheme (only scheme characters; or a scheme and ":" or
// ":/") or ends inside a URI's authority (where the user info, spelled
// otherwise in the certificate, may yet begin).
func prefixCore(re *regexp.Regexp) string {
	p := literalPrefix(re)
	i := strings.IndexByte(p, ':')
	switch {
	case i < 0 && isScheme(p):
		return ""
	case i < 0 || !isScheme(p[:i]):
		return p
	}
	rest := p[i+1:]
	if rest == "" || rest == "/" {
		return ""
	}
	if auth, ok := strings.CutPrefix(rest, "//"); ok && strings.IndexAny(auth, "/?#") < 0 {
		return ""
	}
	return uriCore(p)
}

// identityNeedles are the needles of s as a certificate may hold it: a
// SAN or an extension's value is a string of the certificate's DER, as
// UTF-8 (also IA5, printable: ASCII), UTF-16 (BMPString) or Latin-1
// (T61String), which Go decodes to s. None (no prefilter) when s is too
// short to be found at every alignment, or holds U+FFFD (which an
// undecodable BMPString decodes to).
func identityNeedles(s string) [][]byte {
	if strings.ContainsRune(s, utf8.RuneError) {
		return nil
	}
	encodings := [][]byte{[]byte(s), utf16BE(s)}
	if l, ok := latin1(s); ok && l != nil {
		encodings = append(encodings, l)
	}
	var out [][]byte
	for _, e := range encodings {
		n := base64Needles(e)
		if n == nil {
			return nil
		}
		out = append(out, n...)
	}
	return out
}

func utf16BE(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return b
}

// latin1 is s in ISO 8859-1 when it has a rune past ASCII (else nil: the
// same bytes as UTF-8) and none past 0xFF.
func latin1(s string) ([]byte, bool) {
	var b []byte
	wide := false
	for _, r := range s {
		if r > 0xFF {
			return nil, false
		}
		wide = wide || r >= utf8.RuneSelf
		b = append(b, byte(r))
	}
	if !wide {
		return nil, true
	}
	return b, true
}

// uriCore is the part of a subject a certificate holds verbatim when the
// subject is a URI SAN, which Go prints from its parse (url.URL.String):
// the scheme, lowercased, and user info, unescaped, may be spelled
// otherwise in the certificate, and so may all of it when the printed
// form has an escape (%XX) in it: then uriCore is "", no prefilter. A
// subject that is no URI (an email, a SAN of another kind) is returned
// as it is, or as its tail after "scheme:" when it looks like one.
func uriCore(s string) string {
	i := strings.IndexByte(s, ':')
	if i < 1 || !isScheme(s[:i]) {
		return s
	}
	rest := s[i+1:]
	if auth, ok := strings.CutPrefix(rest, "//"); ok {
		if end := strings.IndexAny(auth, "/?#"); end >= 0 {
			auth = auth[:end]
		}
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			rest = rest[2+at+1:]
		}
	}
	if strings.ContainsRune(rest, '%') {
		return ""
	}
	return rest
}

// isScheme: a URL scheme as net/url reads one.
func isScheme(s string) bool {
	for i, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// base64Needles returns, for the three alignments s can have inside a
// base64-encoded byte string, the characters that encode s alone: whatever
// surrounds it, an encoding of bytes that contain s contains one of them.
// Rekor v2 logs certificates base64-encoded inside its canonical JSON, so a
// certificate whose subject or issuer extension is s has one in the entry.
func base64Needles(s []byte) [][]byte {
	var out [][]byte
	for shift := range 3 {
		buf := append(make([]byte, shift), s...)
		enc := base64.StdEncoding.EncodeToString(buf)
		// Drop the characters that also encode the shift's zero bytes
		// or the bytes after s (which here are padding).
		start := (shift*8 + 5) / 6
		end := (len(buf) * 8) / 6
		if end <= start {
			return nil // s too short to show at every alignment: no prefilter
		}
		out = append(out, []byte(enc[start:end]))
	}
	return out
}

// prefilter reports whether data may match: false only when the entry is
// plain canonical JSON (no escapes, which could spell the same bytes
// otherwise) and contains none of the needles.
func (m *matcher) prefilter(data []byte) bool {
	return bytes.IndexByte(data, '\\') >= 0 || anyNeedle(data, m.needles)
}

// anyNeedle reports whether b holds one of needles (true when there are
// none).
func anyNeedle(b []byte, needles [][]byte) bool {
	if len(needles) == 0 {
		return true
	}
	for _, n := range needles {
		if bytes.Contains(b, n) {
			return true
		}
	}
	return false
}

func (m *matcher) match(e *Entry) bool {
	if m.digHex != "" && (e.Digest.Algorithm != m.digestAlg || e.Digest.Hex != m.digHex) {
		return false
	}
	for _, s := range e.Signers {
		if m.signer(s) {
			return true
		}
	}
	return false
}

func (m *matcher) signer(s Signer) bool {
	q := m.q
	switch {
	case q.Subject != "" && s.Subject != q.Subject,
		m.subjectRE != nil && (s.Subject == "" || !m.subjectRE.MatchString(s.Subject)),
		q.Issuer != "" && s.Issuer != q.Issuer,
		m.issRE != nil && (s.Issuer == "" || !m.issRE.MatchString(s.Issuer)),
		q.KeyID != "" && s.KeyID != q.KeyID:
		return false
	}
	return true
}

// Result is what Search found in a verified range of the log.
type Result struct {
	Checkpoint *Checkpoint
	From, To   uint64
	Matches    []*Entry
	// Unreadable lists entries that are not Rekor v2 entries mlattest can
	// parse (they are in the log, proven like the others, but say nothing
	// readable about who signed).
	Unreadable []UnreadableEntry
}

// UnreadableEntry is an entry ParseEntry refused, and why.
type UnreadableEntry struct {
	Index  uint64 `json:"index"`
	Reason string `json:"reason"`
}

// Search scans entries [from, to) of the tree cp commits to (to = 0 means
// cp.Size) and returns those matching q, in index order. Nothing is returned
// unless the whole range was proven against cp.
func (l *Log) Search(ctx context.Context, cp *Checkpoint, from, to uint64, q Query) (*Result, error) {
	m, err := q.compile()
	if err != nil {
		return nil, err
	}
	return l.scanEntries(ctx, cp, from, to, m, m.match)
}

// scanEntries parses the entries of the range and keeps those keep
// accepts (see entryParser.read).
func (l *Log) scanEntries(ctx context.Context, cp *Checkpoint, from, to uint64, m *matcher, keep func(*Entry) bool) (*Result, error) {
	if to == 0 {
		to = cp.Size
	}
	res := &Result{Checkpoint: cp, From: from, To: to}
	// Each worker keeps what it finds apart; they are merged at the end.
	var mu sync.Mutex
	var found []*Result
	p := newEntryParser(m)
	err := l.scan(ctx, cp, from, to, func() visitFunc {
		w, r := p.worker(), &Result{}
		mu.Lock()
		found = append(found, r)
		mu.Unlock()
		// The matches' leaf hashes, copied out of the scan's buffers a
		// slab at a time.
		var leaves []byte
		return func(i uint64, data, leafHash []byte) error {
			e, err := w.read(i, data, keep)
			switch {
			case err != nil:
				r.Unreadable = append(r.Unreadable, UnreadableEntry{Index: i, Reason: err.Error()})
			case e != nil:
				if len(leaves) < len(leafHash) {
					leaves = make([]byte, entrySlab*len(leafHash))
				}
				e.LeafHash, leaves = leaves[:len(leafHash):len(leafHash)], leaves[len(leafHash):]
				copy(e.LeafHash, leafHash)
				r.Matches = append(r.Matches, e)
			}
			return nil
		}
	})
	if err != nil {
		return nil, err
	}
	for _, r := range found {
		res.Matches = append(res.Matches, r.Matches...)
		res.Unreadable = append(res.Unreadable, r.Unreadable...)
	}
	slices.SortFunc(res.Matches, func(a, b *Entry) int { return cmp.Compare(a.Index, b.Index) })
	slices.SortFunc(res.Unreadable, func(a, b UnreadableEntry) int { return cmp.Compare(a.Index, b.Index) })
	return res, nil
}

// read is what a scan makes of entry i: the entry when keep accepts it,
// an error when it is unreadable, neither when keep refuses it. With a
// query (p.m), keep must be p.m.match: entries that cannot match it are
// not built (canonical ones as sieve decides, others as m.prefilter
// does), and those sieve knows to match are built from what it read and
// not matched again.
func (p *entryParser) read(i uint64, data []byte, keep func(*Entry) bool) (*Entry, error) {
	if p.m != nil {
		var s sifted
		switch p.sieve(data, &s) {
		case noMatch:
			return nil, nil
		case notCanonical:
			if !p.m.prefilter(data) {
				return nil, nil
			}
		case isMatch:
			if e, ok := p.build(i, &s); ok {
				return e, nil
			}
		}
	}
	e, err := p.parse(i, data)
	if err != nil || !keep(e) {
		return nil, err
	}
	return e, nil
}
