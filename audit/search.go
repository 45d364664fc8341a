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
	// needles: an entry matching q contains one of these in its raw
	// bytes (see prefilter).
	needles [][]byte
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
	}
	switch {
	case q.Subject != "":
		m.needles = base64Needles([]byte(q.Subject))
	case q.Issuer != "":
		m.needles = base64Needles([]byte(q.Issuer))
	case m.digHex != "":
		raw, _ := hex.DecodeString(m.digHex)
		m.needles = [][]byte{[]byte(base64.StdEncoding.EncodeToString(raw))}
	}
	return m, nil
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
	if len(m.needles) == 0 || bytes.IndexByte(data, '\\') >= 0 {
		return true
	}
	for _, n := range m.needles {
		if bytes.Contains(data, n) {
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
	return l.scanEntries(ctx, cp, from, to, m.prefilter, m.match)
}

// scanEntries parses every entry of the range that pre (nil: all) lets
// through and keeps those keep accepts. Entries pre rejects are proven
// like the others but not parsed.
func (l *Log) scanEntries(ctx context.Context, cp *Checkpoint, from, to uint64, pre func([]byte) bool, keep func(*Entry) bool) (*Result, error) {
	if to == 0 {
		to = cp.Size
	}
	res := &Result{Checkpoint: cp, From: from, To: to}
	var mu sync.Mutex
	p := newEntryParser()
	err := l.scan(ctx, cp, from, to, func(i uint64, data, leafHash []byte) error {
		if pre != nil && !pre(data) {
			return nil
		}
		e, err := p.parse(i, data)
		if err == nil {
			e.LeafHash = leafHash
		}
		keepIt := err == nil && keep(e)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			res.Unreadable = append(res.Unreadable, UnreadableEntry{Index: i, Reason: err.Error()})
		case keepIt:
			res.Matches = append(res.Matches, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(res.Matches, func(a, b *Entry) int { return cmp.Compare(a.Index, b.Index) })
	slices.SortFunc(res.Unreadable, func(a, b UnreadableEntry) int { return cmp.Compare(a.Index, b.Index) })
	return res, nil
}
