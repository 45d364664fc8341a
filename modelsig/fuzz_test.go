package modelsig

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlattest/mlattest/verify"
)

// seedPayloads adds the conformance statements (decoded DSSE payloads) and
// signature files to a fuzz corpus.
func seedPayloads(f *testing.F, payloads bool) {
	sigs, _ := filepath.Glob(filepath.Join(sharedConformance(f), "model-signing", "*", "model.sig"))
	for _, s := range sigs {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		if !payloads {
			f.Add(data)
			continue
		}
		var b struct {
			DsseEnvelope struct{ Payload string } `json:"dsseEnvelope"`
		}
		if err := json.Unmarshal(data, &b); err != nil {
			f.Fatal(err)
		}
		p, err := base64.StdEncoding.DecodeString(b.DsseEnvelope.Payload)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
}

// FuzzParseStatement: any bytes give a manifest or an ErrFormat error,
// never a panic; a manifest parsed from v1.0 bytes re-serializes (when in
// manifest order) to a statement that parses to the same resources.
func FuzzParseStatement(f *testing.F) {
	seedPayloads(f, true)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseStatement(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error not ErrFormat: %v", err)
			}
			return
		}
		if len(m.Resources) == 0 {
			t.Fatal("empty manifest accepted")
		}
		if m.PredicateType != PredicateType {
			return
		}
		m.SortResources()
		out, err := m.Statement()
		if err != nil {
			t.Fatalf("parsed manifest does not serialize: %v", err)
		}
		m2, err := ParseStatement(out)
		if err != nil {
			t.Fatalf("own statement does not parse: %v\n%s", err, out)
		}
		a, _ := json.Marshal(m.Resources)
		b, _ := json.Marshal(m2.Resources)
		if !bytes.Equal(a, b) {
			t.Fatalf("round trip changed resources")
		}
	})
}

// FuzzParseSignature: any bytes give a bundle or a rejection, never a panic.
func FuzzParseSignature(f *testing.F) {
	seedPayloads(f, false)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseSignature(data, verify.ParseBundle)
		if err != nil {
			if !errors.Is(err, verify.ErrRejected) {
				t.Fatalf("error not a rejection: %v", err)
			}
			return
		}
		if b == nil {
			t.Fatal("nil bundle without error")
		}
	})
}
