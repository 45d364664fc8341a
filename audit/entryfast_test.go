package audit

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// dsseEntry is a canonical dsse v0.0.2 entry with one signature per
// verifier (the base64 DER of a certificate, or "key:" and a key's).
func dsseEntry(t testing.TB, verifiers ...string) []byte {
	t.Helper()
	var sigs []map[string]any
	for _, v := range verifiers {
		ver := map[string]any{"keyDetails": "PKIX_ECDSA_P256_SHA_256", "x509Certificate": map[string]any{"rawBytes": v}}
		if k, ok := strings.CutPrefix(v, "key:"); ok {
			ver = map[string]any{"keyDetails": "PKIX_ECDSA_P256_SHA_256", "publicKey": map[string]any{"rawBytes": k}}
		}
		sigs = append(sigs, map[string]any{"content": "MEUCIQ==", "verifier": ver})
	}
	b, err := json.Marshal(map[string]any{"apiVersion": "0.0.2", "kind": "dsse", "spec": map[string]any{"dsseV002": map[string]any{
		"payloadHash": map[string]any{"algorithm": "SHA2_384", "digest": b64zero(48)}, "signatures": sigs}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seedVerifiers are the base64 DER certificate and key of the seed entries.
func seedVerifiers(t testing.TB) (cert, key string) {
	t.Helper()
	for _, b := range entrySeeds(t) {
		var e rekorEntry
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		v := e.Spec.HashedRekord.Signature.Verifier
		if v.X509Certificate != nil {
			cert = b64(v.X509Certificate.RawBytes)
		} else {
			key = "key:" + b64(v.PublicKey.RawBytes)
		}
	}
	return cert, key
}

// checkAgrees: the scan's parser and ParseEntry give the same entry, or
// the same error; fast says whether the canonical path must take it.
func checkAgrees(t *testing.T, p *entryParser, data []byte, fast bool) {
	t.Helper()
	if _, ok := p.canonical(5, data); ok != fast {
		t.Errorf("canonical path took it: %v, want %v", ok, fast)
	}
	for range 2 { // the second time from the cache
		got, gerr := p.parse(5, data)
		want, werr := ParseEntry(5, data)
		if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
			t.Fatalf("parser: %v, ParseEntry: %v", gerr, werr)
		}
		if gerr == nil {
			got.LeafHash = want.LeafHash // the scan has it already
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("parser:\n%+v\nParseEntry:\n%+v", got, want)
			}
		}
	}
}

func TestEntryParserAgrees(t *testing.T) {
	seeds := entrySeeds(t)
	cert, key := seedVerifiers(t)
	good := string(seeds[0])
	for _, tc := range []struct {
		name string
		data string
		fast bool
	}{
		{"hashedrekord, certificate", string(seeds[0]), true},
		{"hashedrekord, key", string(seeds[1]), true},
		{"dsse, one signature", string(dsseEntry(t, cert)), true},
		{"dsse, certificate and key", string(dsseEntry(t, cert, key)), true},
		{"dsse, no signature", string(dsseEntry(t)), false},
		{"white space", strings.Replace(good, `"kind":`, `"kind": `, 1), false},
		{"keys in another order", `{"kind":"hashedrekord","apiVersion":"0.0.2"` + good[len(`{"apiVersion":"0.0.2","kind":"hashedrekord"`):], false},
		{"escaped base64", strings.Replace(good, `"rawBytes":"M`, `"rawBytes":"\u004d`, 1), false},
		{"escaped quote in a certificate", strings.Replace(good, `"rawBytes":"M`, `"rawBytes":"\"}}}}}}`, 1), false},
		{"unknown field", strings.Replace(good, `{"apiVersion"`, `{"a":1,"apiVersion"`, 1), false},
		{"trailing newline", good + "\n", false},
		{"trailing data", good + "{}", false},
		{"api version", strings.Replace(good, `"0.0.2"`, `"0.0.1"`, 1), false},
		{"empty signature", strings.Replace(string(dsseEntry(t, cert)), `"content":"MEUCIQ=="`, `"content":""`, 1), false},
		{"bad base64", strings.Replace(string(dsseEntry(t, cert)), `"content":"MEUCIQ=="`, `"content":"MEUCIQ="`, 1), false},
		{"bad certificate", string(dsseEntry(t, "AQ==")), false},
		{"bad key", string(dsseEntry(t, "key:AQ==")), false},
		{"digest length", strings.Replace(string(dsseEntry(t, cert)), b64zero(48), b64zero(32), 1), false},
		{"digest algorithm", strings.Replace(string(dsseEntry(t, cert)), "SHA2_384", "MD5", 1), false},
		{"no key details", strings.Replace(string(dsseEntry(t, cert)), `"keyDetails":"PKIX_ECDSA_P256_SHA_256",`, ``, 1), false},
		{"truncated", good[:len(good)-1], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkAgrees(t, newEntryParser(nil), []byte(tc.data), tc.fast)
		})
	}
}

// TestEntryParserCache: a certificate or key is parsed once per scan, up
// to the bound; past it entries still parse, uncached.
func TestEntryParserCache(t *testing.T) {
	cert, key := seedVerifiers(t)
	vs := fakeSigstore(t)
	other, _, err := vs.GenerateLeafCert("bob@example.com", issuerA)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name             string
		max              int
		entries          [][]byte
		wantCerts, wantK int
	}{
		{"one certificate, many entries", 10, [][]byte{dsseEntry(t, cert), dsseEntry(t, cert), dsseEntry(t, cert, cert)}, 1, 0},
		{"certificate and key", 10, [][]byte{dsseEntry(t, cert, key), dsseEntry(t, key)}, 1, 1},
		{"bound reached", 1, [][]byte{dsseEntry(t, cert), dsseEntry(t, b64(other.Raw)), dsseEntry(t, key)}, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newEntryParser(nil)
			p.shared.max = tc.max
			for _, e := range tc.entries {
				checkAgrees(t, p, e, true)
			}
			if len(p.certs) != tc.wantCerts || len(p.keys) != tc.wantK {
				t.Fatalf("cached %d certificates, %d keys; want %d, %d", len(p.certs), len(p.keys), tc.wantCerts, tc.wantK)
			}
		})
	}
}

// TestEntryParserWorkers: a scan's workers each keep their own view of
// the cache, but a certificate one of them parsed the others find parsed
// (the same cached signer), and the bound holds for all of them at once.
func TestEntryParserWorkers(t *testing.T) {
	cert, key := seedVerifiers(t)
	p := newEntryParser(nil)
	p.shared.max = 2
	a, b := p.worker(), p.worker()
	checkAgrees(t, a, dsseEntry(t, cert), true)
	if len(b.certs) != 0 {
		t.Fatalf("worker b holds %d certificates before it looked one up", len(b.certs))
	}
	checkAgrees(t, b, dsseEntry(t, cert, key), true)
	der := []byte(cert)
	ca, _ := a.lookup(true, der, true)
	cb, _ := b.lookup(true, der, true)
	if ca != cb || len(p.shared.certs) != 1 || len(p.shared.keys) != 1 || len(b.keys) != 1 {
		t.Fatalf("workers hold other signers for one certificate (%v), or shared %d certificates, %d keys",
			ca != cb, len(p.shared.certs), len(p.shared.keys))
	}
	vs := fakeSigstore(t)
	other, _, err := vs.GenerateLeafCert("bob@example.com", issuerA)
	if err != nil {
		t.Fatal(err)
	}
	checkAgrees(t, a, dsseEntry(t, b64(other.Raw)), true) // past the bound: parsed, not kept
	if len(p.shared.certs) != 1 || len(a.certs) != 1 {
		t.Fatalf("past the bound: shared %d certificates, worker %d", len(p.shared.certs), len(a.certs))
	}
}

// FuzzEntryParser: the scan's parser agrees with ParseEntry on any bytes.
func FuzzEntryParser(f *testing.F) {
	for _, b := range entrySeeds(f) {
		f.Add(b)
	}
	cert, key := seedVerifiers(f)
	f.Add(dsseEntry(f, cert, key))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := newEntryParser(nil)
		_, ok := p.canonical(5, data)
		checkAgrees(t, p, data, ok)
	})
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// TestSignerCacheWaitsForLearner: a worker meeting a certificate another
// worker is learning waits for it and takes what it learnt, or learns it
// itself (the same as alone) when the other could not keep it.
func TestSignerCacheWaitsForLearner(t *testing.T) {
	cert, _ := seedVerifiers(t)
	alone, ok := newEntryParser(nil).lookup(true, []byte(cert), true)
	if !ok {
		t.Fatal("certificate does not parse")
	}
	for _, tc := range []struct {
		name string
		kept bool // the learner keeps what it learnt in the cache
	}{
		{"learner keeps it", true},
		{"learner could not keep it", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newEntryParser(nil)
			done := make(chan struct{})
			p.shared.learningCerts[cert] = done
			got := make(chan *cachedSigner)
			go func() {
				cs, _ := p.worker().lookup(true, []byte(cert), true)
				got <- cs
			}()
			select {
			case <-got:
				t.Fatal("lookup did not wait for the worker learning the certificate")
			case <-time.After(50 * time.Millisecond):
			}
			learnt := &cachedSigner{key: cert, cert: true, parsed: true, s: Signer{NotBefore: &time.Time{}}}
			p.shared.mu.Lock()
			if tc.kept {
				p.shared.certs[cert] = learnt
			}
			delete(p.shared.learningCerts, cert)
			p.shared.mu.Unlock()
			close(done)
			cs := <-got
			switch {
			case tc.kept && cs != learnt:
				t.Fatalf("got %+v, want what the other worker learnt", cs)
			case !tc.kept && (cs == nil || !reflect.DeepEqual(cs.s, alone.s)):
				t.Fatalf("got %+v, want %+v", cs, alone)
			}
			if len(p.shared.learningCerts) != 0 {
				t.Fatalf("%d certificates left marked as being learnt", len(p.shared.learningCerts))
			}
		})
	}
}
