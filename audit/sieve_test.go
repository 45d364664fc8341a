package audit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// certSpec is a certificate's identity as a test writes it: one SAN (an
// email, a URI or a Fulcio OtherName) and extensions.
type certSpec struct {
	email, otherName string
	uri              *url.URL
	// otherNameBMP writes the OtherName as a BMPString.
	otherNameBMP bool
	exts         []pkix.Extension
}

var testCertKey = func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}()

// specCert is a self-signed certificate of spec, DER (the auditor reads
// who claims to sign, not who issued the certificate).
func specCert(t testing.TB, spec certSpec) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Unix(1700000000, 0), NotAfter: time.Unix(1700000600, 0),
		ExtraExtensions: spec.exts,
	}
	switch {
	case spec.email != "":
		tmpl.EmailAddresses = []string{spec.email}
	case spec.uri != nil:
		tmpl.URIs = []*url.URL{spec.uri}
	case spec.otherNameBMP:
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, otherNameBMP(t, spec.otherName))
	case spec.otherName != "":
		ext, err := cryptoutils.MarshalOtherNameSAN(spec.otherName, true)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, *ext)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &testCertKey.PublicKey, testCertKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// otherNameBMP is the SAN extension of a Fulcio OtherName whose value is
// a BMPString (UTF-16), which Go decodes like a UTF8String.
func otherNameBMP(t testing.TB, name string) pkix.Extension {
	t.Helper()
	val, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagBMPString, Bytes: utf16BE(name)})
	if err != nil {
		t.Fatal(err)
	}
	type otherName struct {
		ID    asn1.ObjectIdentifier
		Value asn1.RawValue `asn1:"explicit,tag:0"`
	}
	on, err := asn1.MarshalWithParams(otherName{cryptoutils.OIDOtherName, asn1.RawValue{FullBytes: val}}, "tag:0")
	if err != nil {
		t.Fatal(err)
	}
	sans, err := asn1.Marshal([]asn1.RawValue{{FullBytes: on}})
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: cryptoutils.SANOID, Critical: true, Value: sans}
}

// derString is an extension value as Fulcio's v2 extensions hold it: a
// DER string of the given tag (UTF-16 for BMPString, Latin-1 for
// T61String).
func derString(t testing.TB, tag int, s string) []byte {
	t.Helper()
	b := []byte(s)
	switch tag {
	case asn1.TagBMPString:
		b = utf16BE(s)
	case asn1.TagT61String:
		l, ok := latin1(s)
		if !ok {
			t.Fatalf("%q is not Latin-1", s)
		}
		if l != nil {
			b = l
		}
	}
	v, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: tag, Bytes: b})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func ext(oid asn1.ObjectIdentifier, value []byte) pkix.Extension {
	return pkix.Extension{Id: oid, Value: value}
}

// sieveSearch is what a scan with q reports of entries: the indexes of
// the matches and of the unreadable entries.
func sieveSearch(t testing.TB, q Query, entries [][]byte) (matches, unreadable []int) {
	t.Helper()
	m, err := q.compile()
	if err != nil {
		t.Fatal(err)
	}
	p := newEntryParser(m)
	for i, data := range entries {
		e, err := p.read(uint64(i), data, m.match)
		switch {
		case err != nil:
			unreadable = append(unreadable, i)
		case e != nil:
			matches = append(matches, i)
			// What the scan built is what ParseEntry reads.
			want, err := ParseEntry(uint64(i), data)
			if err != nil {
				t.Fatalf("entry %d: scan matched it, ParseEntry: %v", i, err)
			}
			e.LeafHash = want.LeafHash // the scan has it from the proof
			if !reflect.DeepEqual(e, want) {
				t.Fatalf("entry %d: scan built\n%+v\nParseEntry:\n%+v", i, e, want)
			}
		}
	}
	return matches, unreadable
}

// fullSearch is the reference: every entry read by ParseEntry and matched.
func fullSearch(t testing.TB, q Query, entries [][]byte) (matches, unreadable []int) {
	t.Helper()
	m, err := q.compile()
	if err != nil {
		t.Fatal(err)
	}
	for i, data := range entries {
		e, err := ParseEntry(uint64(i), data)
		switch {
		case err != nil:
			unreadable = append(unreadable, i)
		case m.match(e):
			matches = append(matches, i)
		}
	}
	return matches, unreadable
}

// checkSieve: a scan with q finds exactly the reference's matches, and
// reports unreadable only entries the reference cannot read.
func checkSieve(t *testing.T, q Query, entries [][]byte) []int {
	t.Helper()
	got, gotBad := sieveSearch(t, q, entries)
	want, bad := fullSearch(t, q, entries)
	if !slices.Equal(got, want) {
		t.Fatalf("query %+v: scan matches %v, full match %v", q, got, want)
	}
	for _, i := range gotBad {
		if !slices.Contains(bad, i) {
			t.Fatalf("query %+v: entry %d unreadable to the scan, ParseEntry reads it", q, i)
		}
	}
	return got
}

// TestSieveFindsIdentity: wherever and however a certificate holds the
// identity or issuer asked for, the prefilter and sieve keep the entry;
// an identity that is only in another field does not match.
func TestSieveFindsIdentity(t *testing.T) {
	const (
		id   = "release-bot@example.com"
		iss  = "https://token.actions.githubusercontent.com"
		repo = "https://github.com/org/model"
		wf   = "https://github.com/org/model/.github/workflows/train.yml@refs/heads/main"
	)
	digest := sha("model weights")
	other := specCert(t, certSpec{email: "someone-else@example.com", exts: []pkix.Extension{ext(certificate.OIDIssuer, []byte("https://other.test"))}})
	for _, tc := range []struct {
		name  string
		spec  certSpec
		q     Query
		match bool
	}{
		{"SAN email", certSpec{email: id}, Query{Subject: id}, true},
		{"SAN URI (GitHub workflow)", certSpec{uri: mustURL(t, wf)}, Query{Subject: wf}, true},
		{"SAN URI, scheme in capitals", certSpec{uri: &url.URL{Scheme: "HTTPS", Host: "github.com", Path: "/org/model/.github/workflows/train.yml@refs/heads/main"}}, Query{Subject: wf}, true},
		{"SAN URI, escaped user info", certSpec{uri: &url.URL{Scheme: "https", Opaque: "//%62ot@ci.test/run"}}, Query{Subject: "https://bot@ci.test/run"}, true},
		{"SAN URI, escaped path", certSpec{uri: &url.URL{Scheme: "https", Opaque: "//ci.test/%72un"}}, Query{Subject: "https://ci.test/%72un"}, true},
		{"SAN OtherName", certSpec{otherName: "bot!ci.test"}, Query{Subject: "bot!ci.test"}, true},
		// cryptoutils reads an OtherName as a UTF8String only: no subject
		{"SAN OtherName as BMPString", certSpec{otherName: "bot!ci.test", otherNameBMP: true}, Query{Subject: "bot!ci.test"}, false},
		{"issuer (v1 extension)", certSpec{email: id, exts: []pkix.Extension{ext(certificate.OIDIssuer, []byte(iss))}}, Query{Issuer: iss}, true},
		{"issuer (v2, UTF8String)", certSpec{email: id, exts: []pkix.Extension{ext(certificate.OIDIssuerV2, derString(t, asn1.TagUTF8String, iss))}}, Query{Issuer: iss}, true},
		{"issuer (v2, BMPString)", certSpec{email: id, exts: []pkix.Extension{ext(certificate.OIDIssuerV2, derString(t, asn1.TagBMPString, iss))}}, Query{Issuer: iss}, true},
		{"issuer (v2, T61String, Latin-1)", certSpec{email: id, exts: []pkix.Extension{ext(certificate.OIDIssuerV2, derString(t, asn1.TagT61String, "https://émetteur.test"))}}, Query{Issuer: "https://émetteur.test"}, true},
		{"subject and issuer", certSpec{email: id, exts: []pkix.Extension{ext(certificate.OIDIssuer, []byte(iss))}}, Query{Subject: id, Issuer: iss}, true},
		{"subject, other issuer", certSpec{email: id, exts: []pkix.Extension{ext(certificate.OIDIssuer, []byte(iss))}}, Query{Subject: id, Issuer: "https://other.test"}, false},
		{"identity only in the GitHub workflow extension", certSpec{email: id, exts: []pkix.Extension{
			ext(certificate.OIDGitHubWorkflowRepository, []byte(repo)), ext(certificate.OIDSourceRepositoryURI, derString(t, asn1.TagUTF8String, repo))}}, Query{Subject: repo}, false},
		{"identity only in the issuer", certSpec{email: id, exts: []pkix.Extension{ext(certificate.OIDIssuer, []byte(repo))}}, Query{Subject: repo}, false},
		{"digest", certSpec{email: id}, Query{Digest: fmt.Sprintf("sha256:%x", digest)}, true},
		{"digest and subject", certSpec{email: id}, Query{Subject: id, Digest: fmt.Sprintf("%x", digest)}, true},
		{"other digest", certSpec{email: id}, Query{Subject: id, Digest: fmt.Sprintf("%x", sha("another"))}, false},
		{"regexp", certSpec{uri: mustURL(t, wf)}, Query{SubjectRegexp: "https://github.com/org/.*"}, true},
		// A regexp's literal prefix is a needle as far as the certificate
		// holds it verbatim.
		{"regexp, email prefix", certSpec{email: id}, Query{SubjectRegexp: "release-bot@.*"}, true},
		{"regexp, URI prefix past the host", certSpec{uri: mustURL(t, wf)}, Query{SubjectRegexp: `https://github\.com/org/.*`}, true},
		{"regexp, URI prefix past the host, scheme in capitals", certSpec{uri: &url.URL{Scheme: "HTTPS", Host: "github.com", Path: "/org/model/.github/workflows/train.yml@refs/heads/main"}}, Query{SubjectRegexp: `https://github\.com/org/.*`}, true},
		{"regexp, prefix of the scheme", certSpec{uri: &url.URL{Scheme: "HTTPS", Host: "github.com", Path: "/org/model"}}, Query{SubjectRegexp: "https.*"}, true},
		{"regexp, prefix inside escaped user info", certSpec{uri: &url.URL{Scheme: "https", Opaque: "//%62ot.x@ci.test/run"}}, Query{SubjectRegexp: `https://bot\.x.*`}, true},
		{"regexp, other email prefix", certSpec{email: id}, Query{SubjectRegexp: "release-bat@.*"}, false},
		{"issuer regexp", certSpec{email: id, exts: []pkix.Extension{ext(certificate.OIDIssuerV2, derString(t, asn1.TagBMPString, iss))}}, Query{IssuerRegexp: `https://token\.actions\..*`}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			der := specCert(t, tc.spec)
			entries := [][]byte{
				hashedRekordEntryFromCert(t, other, sha("other")),
				hashedRekordEntryFromCert(t, der, digest),
				dsseEntry(t, b64(other), b64(der)),
				dsseEntry(t, b64(other)),
			}
			got := checkSieve(t, tc.q, entries)
			// The dsse entries sign another digest.
			want := []int{1, 2}
			if tc.q.Digest != "" {
				want = []int{1}
			}
			if !tc.match {
				want = nil
			}
			if !slices.Equal(got, want) {
				t.Fatalf("matches %v, want %v", got, want)
			}
		})
	}
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestSieveRefusesWhatCanonicalRefuses: an entry the fast path refuses
// is left to the prefilter and ParseEntry, whatever the sieve's query,
// and whether or not the parser holds the certificate of the good entry
// it was made from. (A hashedrekord entry's certificate runs to the end
// of the entry, where the sieve finds its end without reading it.)
func TestSieveRefusesWhatCanonicalRefuses(t *testing.T) {
	cert, _ := seedVerifiers(t)
	good := string(dsseEntry(t, cert))
	hr := string(entrySeeds(t)[0]) // hashedrekord, certificate
	// at is hr cut k base64 characters into its certificate.
	at := func(k int) (string, string) {
		i := strings.Index(hr, `"rawBytes":"`) + len(`"rawBytes":"`) + k
		return hr[:i], hr[i:]
	}
	edit := func(k, drop int, insert string) string {
		before, after := at(k)
		return before + insert + after[drop:]
	}
	for _, tc := range []struct{ name, good, data string }{
		{"escaped base64 in the certificate", good, strings.Replace(good, `"rawBytes":"M`, `"rawBytes":"\u004d`, 1)},
		{"bad base64 signature", good, strings.Replace(good, `"content":"MEUCIQ=="`, `"content":"MEUCIQ="`, 1)},
		{"empty signature", good, strings.Replace(good, `"content":"MEUCIQ=="`, `"content":""`, 1)},
		{"digest length", good, strings.Replace(good, b64zero(48), b64zero(32), 1)},
		{"digest algorithm", good, strings.Replace(good, "SHA2_384", "MD5", 1)},
		{"bad certificate", good, string(dsseEntry(t, "AQ=="))},
		{"trailing data", good, good + " "},
		{"hashedrekord: escaped base64 in the certificate", hr, edit(0, 1, `\u004d`)},
		{"hashedrekord: quote in the certificate", hr, edit(20, 1, `"`)},
		{"hashedrekord: the entry's end inside the certificate", hr, edit(20, 0, `"}}}}}}`)},
		{"hashedrekord: escaped quote ending the certificate", hr, strings.Replace(hr, `"}}}}}}`, `\""}}}}}}`, 1)},
		{"hashedrekord: empty certificate", hr, func() string { before, _ := at(0); return before + `"}}}}}}` }()},
		{"hashedrekord: one brace short", hr, hr[:len(hr)-1]},
		{"hashedrekord: one brace more", hr, hr + "}"},
		{"hashedrekord: no quote after the certificate", hr, strings.Replace(hr, `"}}}}}}`, `}}}}}}}`, 1)},
		{"hashedrekord: no quote before the certificate", hr, edit(-1, 1, "A")},
		{"hashedrekord: trailing data", hr, hr + " "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, q := range []Query{{SubjectRegexp: ".*"}, {KeyID: "sha256:00"}, {IssuerRegexp: ".*"}} {
				m, err := q.compile()
				if err != nil {
					t.Fatal(err)
				}
				for _, cached := range []bool{false, true} {
					p := newEntryParser(m)
					if cached {
						if v := p.sieve([]byte(tc.good), &sifted{}); v == notCanonical {
							t.Fatalf("%+v: the good entry is notCanonical", q)
						}
					}
					if v := p.sieve([]byte(tc.data), &sifted{}); v != notCanonical {
						t.Fatalf("%+v, good entry seen first %v: verdict %d, want notCanonical", q, cached, v)
					}
				}
			}
		})
	}
}

// TestSieveMatchesFullMatch compares a scan's matches with ParseEntry and
// the full match on random entries (random identities, SAN kinds, string
// encodings, digests; certificates shared between entries so the cache
// answers; some entries escaped or broken) for queries drawn from them.
func TestSieveMatchesFullMatch(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := mrand.New(mrand.NewPCG(seed, 1))
	type identity struct{ subject, issuer string }
	var ids []identity
	var certs []string // base64 DER
	for range 40 {
		var id identity
		der := specCert(t, randomCertSpec(t, r))
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			continue // an identity x509 refuses: a bad-certificate entry
		}
		if sum, err := certificate.SummarizeCertificate(cert); err == nil {
			id.subject, id.issuer = sum.SubjectAlternativeName, sum.Issuer
		}
		ids = append(ids, id)
		certs = append(certs, b64(der))
	}
	_, key := seedVerifiers(t)
	var entries [][]byte
	digests := []string{}
	for i := range 300 {
		d := sha(fmt.Sprint(r.IntN(50)))
		digests = append(digests, fmt.Sprintf("%x", d))
		var e []byte
		switch r.IntN(4) {
		case 0:
			e = dsseEntry(t, certs[r.IntN(len(certs))], certs[r.IntN(len(certs))])
		case 1:
			e = dsseEntry(t, certs[r.IntN(len(certs))], key)
		default:
			der, _ := base64.StdEncoding.DecodeString(certs[r.IntN(len(certs))])
			e = hashedRekordEntryFromCert(t, der, d)
		}
		if i%17 == 0 { // escape one base64 character: ParseEntry reads the same
			j := strings.Index(string(e), `"rawBytes":"`) + len(`"rawBytes":"`) + r.IntN(20)
			e = []byte(string(e[:j]) + fmt.Sprintf(`\u%04x`, e[j]) + string(e[j+1:]))
		}
		entries = append(entries, e)
	}
	entries = append(entries, dsseEntry(t, "AQ=="), dsseEntry(t, certs[0], "AQ=="))
	for range 60 {
		id := ids[r.IntN(len(ids))]
		var q Query
		switch r.IntN(7) {
		case 0, 1:
			q.Subject = id.subject
		case 2:
			q.Issuer = id.issuer
		case 3:
			q.Subject, q.Issuer = id.subject, ids[r.IntN(len(ids))].issuer
		case 4:
			q.SubjectRegexp = regexp.QuoteMeta(id.subject[:len(id.subject)/2]) + ".*"
		case 5:
			q.Digest = digests[r.IntN(len(digests))]
		case 6:
			q.Subject = randomString(r, 3+r.IntN(20))
		}
		if _, err := q.compile(); err != nil {
			continue // an identity without a subject or issuer
		}
		t.Run("", func(t *testing.T) { checkSieve(t, q, entries) })
	}
}

// randomCertSpec is a random identity, written as a random SAN kind and
// issuer extension (v1 raw, or v2 as a UTF8, BMP or T61 string).
func randomCertSpec(t testing.TB, r *mrand.Rand) certSpec {
	var spec certSpec
	switch r.IntN(4) {
	case 0:
		spec.email = randomASCII(r, 1+r.IntN(12)) + "@" + randomHost(r)
	case 1:
		u := &url.URL{Scheme: []string{"https", "HTTPS", "Https", "spiffe"}[r.IntN(4)], Host: randomHost(r), Path: "/" + randomString(r, r.IntN(30))}
		if r.IntN(3) == 0 {
			u.User = url.User(randomASCII(r, 1+r.IntN(6)))
		}
		if r.IntN(3) == 0 {
			u.RawQuery = "ref=" + randomASCII(r, 5)
		}
		spec.uri = u
	case 2:
		spec.otherName = randomString(r, 1+r.IntN(20))
	case 3:
		spec.otherName, spec.otherNameBMP = randomString(r, 1+r.IntN(20)), true
	}
	iss := "https://" + randomHost(r) + "/" + randomString(r, r.IntN(10))
	switch r.IntN(4) {
	case 0:
		spec.exts = append(spec.exts, ext(certificate.OIDIssuer, []byte(iss)))
	case 1:
		spec.exts = append(spec.exts, ext(certificate.OIDIssuerV2, derString(t, asn1.TagUTF8String, iss)))
	case 2:
		spec.exts = append(spec.exts, ext(certificate.OIDIssuerV2, derString(t, asn1.TagBMPString, iss)))
	case 3:
		if _, ok := latin1(iss); ok {
			spec.exts = append(spec.exts, ext(certificate.OIDIssuerV2, derString(t, asn1.TagT61String, iss)))
		}
	}
	if r.IntN(2) == 0 {
		spec.exts = append(spec.exts, ext(certificate.OIDGitHubWorkflowRepository, []byte(randomString(r, 10))))
	}
	return spec
}

func randomASCII(r *mrand.Rand, n int) string {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[r.IntN(len(chars))]
	}
	return string(b)
}

func randomHost(r *mrand.Rand) string { return strings.ToLower(randomASCII(r, 1+r.IntN(8))) + ".test" }

// randomString mixes ASCII, punctuation URL parsing treats specially,
// Latin-1, wider runes and runes past the BMP.
func randomString(r *mrand.Rand, n int) string {
	parts := []string{"a", "Z", "0", "-", ".", "/", "@", ":", "%", "%41", " ", "?", "#", "~", "é", "ß", "中", "😀", "\u00ff"}
	var b strings.Builder
	for range n {
		b.WriteString(parts[r.IntN(len(parts))])
	}
	return b.String()
}

// FuzzSieve: on any bytes a scan's parser and the full match agree about
// the seed certificate's identity, its issuer, the seed digest, a key id
// and a regexp.
func FuzzSieve(f *testing.F) {
	seeds := entrySeeds(f)
	for _, b := range seeds {
		f.Add(b)
	}
	cert, key := seedVerifiers(f)
	f.Add(dsseEntry(f, cert, key))
	var queries []Query
	for _, b := range seeds {
		e, err := ParseEntry(0, b)
		if err != nil {
			f.Fatal(err)
		}
		s := e.Signers[0]
		queries = append(queries, Query{Digest: e.Digest.String()})
		if s.Subject != "" {
			queries = append(queries, Query{Subject: s.Subject}, Query{Issuer: s.Issuer}, Query{SubjectRegexp: ".*"})
		} else {
			queries = append(queries, Query{KeyID: s.KeyID})
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, q := range queries {
			checkSieve(t, q, [][]byte{data})
		}
	})
}

// TestIsBase64 compares isBase64 and decodedLen with the decoder on
// every string of up to 8 characters of a small alphabet (with a byte
// that is no base64).
func TestIsBase64(t *testing.T) {
	alphabet := []byte("AQ/=-")
	var walk func(s []byte)
	walk = func(s []byte) {
		d, err := base64.StdEncoding.DecodeString(string(s))
		ok := err == nil && len(d) > 0
		if got := isBase64(s); got != ok {
			t.Fatalf("isBase64(%q) = %v, decoder: %v %v", s, got, d, err)
		}
		if ok && decodedLen(s) != len(d) {
			t.Fatalf("decodedLen(%q) = %d, want %d", s, decodedLen(s), len(d))
		}
		if len(s) == 8 {
			return
		}
		for _, c := range alphabet {
			walk(append(s, c))
		}
	}
	walk(nil)
}

// TestIdentityNeedles: whichever way a certificate spells s (UTF-8,
// UTF-16, Latin-1) at any alignment, its base64 holds a needle of s.
func TestIdentityNeedles(t *testing.T) {
	for _, s := range []string{"alice@example.com", "émetteur", "中文身份", "x😀y-identity"} {
		needles := identityNeedles(s)
		if needles == nil {
			t.Fatalf("%q: no needles", s)
		}
		spellings := [][]byte{[]byte(s), utf16BE(s)}
		if l, ok := latin1(s); ok && l != nil {
			spellings = append(spellings, l)
		}
		for _, sp := range spellings {
			for pre := range 3 {
				enc := base64.StdEncoding.EncodeToString(append(append(make([]byte, pre), sp...), 7))
				if !anyNeedle([]byte(enc), needles) {
					t.Errorf("%q spelt %x after %d bytes: no needle", s, sp, pre)
				}
			}
		}
	}
	for _, s := range []string{"a", "a\ufffdbcdefgh"} {
		if n := identityNeedles(s); n != nil {
			t.Errorf("%q: needles %q, want none (no prefilter)", s, n)
		}
	}
}

func TestURICore(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"alice@example.com", "alice@example.com"},
		{"https://github.com/org/repo/.github/workflows/x.yml@refs/heads/main", "//github.com/org/repo/.github/workflows/x.yml@refs/heads/main"},
		{"https://bot@ci.test/run", "ci.test/run"},
		{"spiffe://trust.test/ns/x", "//trust.test/ns/x"},
		{"urn:example:x", "example:x"},
		{"https://ci.test/a%20b", ""},
		{"1http://x", "1http://x"},
		{":x", ":x"},
	} {
		if got := uriCore(tc.in); got != tc.want {
			t.Errorf("uriCore(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestPrefixCore: a regexp's literal prefix gives a needle as far as
// every certificate of a subject it matches holds it verbatim.
func TestPrefixCore(t *testing.T) {
	for _, tc := range []struct{ re, want string }{
		{"user3@.*", "user3@"},
		{`user3@example\.com`, "user3@example.com"},
		{`https://github\.com/org/.*`, "//github.com/org/"},
		{`https://bot@ci\.test/.*`, "ci.test/"},
		{"mailto:bob@.*", "bob@"},
		{"https://github.*", ""}, // the user info may yet begin
		{"https.*", ""},          // the scheme, spelt otherwise
		{"https:/.*", ""},
		{"(?i)user3@.*", ""},
		{".*@example.com", ""},
	} {
		if got := prefixCore(regexp.MustCompile("^(?:" + tc.re + ")$")); got != tc.want {
			t.Errorf("prefixCore(%q) = %q, want %q", tc.re, got, tc.want)
		}
	}
	m, err := Query{SubjectRegexp: "user3@.*"}.compile()
	if err != nil || m.idNeedles == nil {
		t.Fatalf("%v: no needles for a regexp with an email prefix", err)
	}
}

// TestAll: one byte outside the set, at any place of the four-byte steps
// or the tail, makes all false.
func TestAll(t *testing.T) {
	for n := range 10 {
		s := []byte(strings.Repeat("aZ9+", 3)[:n])
		if !all(s, &base64Bytes) {
			t.Fatalf("all(%q) = false", s)
		}
		for i := range n {
			for _, bad := range []byte{'"', '\\', '\n', 0x80, '-'} {
				b := slices.Clone(s)
				b[i] = bad
				if all(b, &base64Bytes) {
					t.Fatalf("all(%q) = true", b)
				}
			}
		}
	}
}

// TestAllEightAtATime: allBase64 and allName (eight bytes a step) agree
// with all and the set's table for every byte at every place of strings
// of up to 20 bytes of the set, and on random bytes.
func TestAllEightAtATime(t *testing.T) {
	for _, tc := range []struct {
		name  string
		valid *[256]uint8
		fast  func([]byte) bool
	}{
		{"base64 alphabet", &base64Alphabet, func(s []byte) bool { return allBase64(s, false) }},
		{"base64 with padding", &base64Bytes, func(s []byte) bool { return allBase64(s, true) }},
		{"enum names", &nameBytes, allName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var members []byte
			for b := range 256 {
				if tc.valid[b] == 1 {
					members = append(members, byte(b))
				}
			}
			check := func(s []byte) {
				t.Helper()
				if got, want := tc.fast(s), all(s, tc.valid); got != want {
					t.Fatalf("%q: %v, all says %v", s, got, want)
				}
			}
			for n := range 21 {
				s := make([]byte, n)
				for i := range s {
					s[i] = members[(i*7+n)%len(members)]
				}
				check(s)
				for i := range n {
					for b := range 256 {
						c := slices.Clone(s)
						c[i] = byte(b)
						check(c)
					}
				}
			}
			r := mrand.New(mrand.NewPCG(1, 2))
			for range 20000 {
				s := make([]byte, r.IntN(24))
				for i := range s {
					if r.IntN(4) == 0 {
						s[i] = byte(r.IntN(256))
					} else {
						s[i] = members[r.IntN(len(members))]
					}
				}
				check(s)
			}
		})
	}
}

// TestRecentSlotCollision: an entry whose certificate's slot in the
// worker's recent table holds another certificate, or the same base64 as
// a key, gets its own signer (the table is checked byte for byte).
func TestRecentSlotCollision(t *testing.T) {
	vs := fakeSigstore(t)
	var certs []string
	for _, id := range []string{"alice@example.com", "bob@example.com"} {
		c, _, err := vs.GenerateLeafCert(id, issuerA)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, b64(c.Raw))
	}
	_, key := seedVerifiers(t)
	for _, tc := range []struct {
		name      string
		planted   string // looked up first, then planted in the slot of the other
		plantCert bool
		lookup    string
		cert      bool
	}{
		{"other certificate", certs[0], true, certs[1], true},
		{"same bytes as a certificate, looked up as a key", key, true, key, false},
		{"a key in a certificate's slot", key, false, certs[0], true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newEntryParser(nil)
			planted, ok := p.lookup(tc.plantCert, []byte(tc.planted), false)
			if !ok { // a key as a certificate: planted as one that parsed
				planted = &cachedSigner{key: tc.planted, cert: tc.plantCert, parsed: true}
			}
			p.recent[recentSlot([]byte(tc.lookup))] = planted
			got, ok := p.lookup(tc.cert, []byte(tc.lookup), true)
			want, wantOK := newEntryParser(nil).lookup(tc.cert, []byte(tc.lookup), true)
			if ok != wantOK || ok && !reflect.DeepEqual(got.s, want.s) || got == planted {
				t.Fatalf("got %+v %v, want %+v %v", got, ok, want, wantOK)
			}
		})
	}
}
