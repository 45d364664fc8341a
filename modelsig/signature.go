package modelsig

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/verify"
)

// DefaultSignatureName is the signature file the model_signing tool writes.
const DefaultSignatureName = "model.sig"

// BundleParser parses Sigstore bundle JSON: verify.ParseBundle, or
// (*verify.ChainVerifier).ParseBundle for certificate-chain signatures.
type BundleParser func([]byte) (*bundle.Bundle, error)

// LoadSignature reads a model signature (a Sigstore bundle file) with parse.
// A key-signed signature written by the model_signing tool before v1.1 puts
// the public key itself in verificationMaterial.publicKey (rawBytes,
// keyDetails), which the bundle format does not define (it holds a hint
// only); such a bundle is read with that material dropped. That changes no
// verdict: with a key, the key given by the verifier's caller is the one
// used, whatever the bundle names. Errors are those of parse, naming the
// file.
func LoadSignature(path string, parse BundleParser) (*bundle.Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("signature %s: %w", path, fsutil.Cause(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, verify.MaxBundleSize+1))
	if err != nil {
		return nil, fmt.Errorf("signature %s: %w", path, err)
	}
	b, err := ParseSignature(data, parse)
	if err != nil {
		return nil, fmt.Errorf("signature %s: %w", path, err)
	}
	return b, nil
}

// ParseSignature is LoadSignature for bytes.
func ParseSignature(data []byte, parse BundleParser) (*bundle.Bundle, error) {
	b, err := parse(data)
	if err == nil {
		return b, nil
	}
	if fixed, ok := dropLegacyKeyMaterial(data); ok {
		if b2, err2 := parse(fixed); err2 == nil {
			return b2, nil
		}
	}
	return nil, err
}

// dropLegacyKeyMaterial rewrites verificationMaterial.publicKey of the
// pre-1.1 shape {rawBytes, keyDetails} as an empty key identifier.
func dropLegacyKeyMaterial(data []byte) ([]byte, bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return nil, false
	}
	var vm map[string]json.RawMessage
	if json.Unmarshal(top["verificationMaterial"], &vm) != nil {
		return nil, false
	}
	var pk map[string]json.RawMessage
	if json.Unmarshal(vm["publicKey"], &pk) != nil {
		return nil, false
	}
	if _, ok := pk["rawBytes"]; !ok {
		return nil, false
	}
	for k := range pk {
		if k != "rawBytes" && k != "keyDetails" {
			return nil, false
		}
	}
	vm["publicKey"] = json.RawMessage(`{}`)
	var err error
	if top["verificationMaterial"], err = json.Marshal(vm); err != nil {
		return nil, false
	}
	out, err := json.Marshal(top)
	return out, err == nil
}
