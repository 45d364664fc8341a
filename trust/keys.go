package trust

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/mlattest/mlattest/internal/fsutil"
)

// MaxPublicKeySize caps a PEM public key file: an RSA-16384 key is under
// 3 KiB, so anything near this is not a key.
const MaxPublicKeySize = 64 << 10

// MinRSABits is the smallest RSA modulus accepted.
const MinRSABits = 2048

// ErrPublicKey matches (errors.Is) every error ParsePublicKey returns;
// their text is the reason alone, to sit after a caller's "key FILE:".
var ErrPublicKey = errors.New("not a usable public key")

type keyError struct{ reason string }

func (e *keyError) Error() string        { return e.reason }
func (e *keyError) Is(target error) bool { return target == ErrPublicKey }

func keyErrorf(format string, args ...any) error {
	return &keyError{fmt.Sprintf(format, args...)}
}

// ParsePublicKey reads exactly one PEM block holding a public key: PKIX
// ("PUBLIC KEY") or PKCS#1 ("RSA PUBLIC KEY"), of a type Sigstore verifies
// (ECDSA P-256/P-384/P-521, Ed25519, RSA of at least 2048 bits). Anything
// but white space after the block is refused: a second key there would be
// silently ignored by whoever reads only the first.
func ParsePublicKey(data []byte) (crypto.PublicKey, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, keyErrorf("not a PEM public key (want -----BEGIN PUBLIC KEY-----)")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, keyErrorf("more than one PEM block, or data after the block")
	}
	var pub crypto.PublicKey
	var err error
	format := "PKIX"
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		format = "PKCS#1 RSA"
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, keyErrorf("PEM block is %q, want \"PUBLIC KEY\" or \"RSA PUBLIC KEY\"", block.Type)
	}
	if err != nil {
		return nil, keyErrorf("the PEM block is not a valid %s public key", format)
	}
	if err := checkKey(pub); err != nil {
		return nil, &keyError{err.Error()}
	}
	return pub, nil
}

func checkKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return fmt.Errorf("unsupported ECDSA curve %s", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return nil
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return fmt.Errorf("RSA key of %d bits is too small (want at least %d)", k.N.BitLen(), MinRSABits)
		}
		return nil
	}
	return fmt.Errorf("unsupported key type %T (want ECDSA, Ed25519 or RSA)", pub)
}

// LoadPublicKey reads a PEM public key file (see ParsePublicKey). Errors
// name the file.
func LoadPublicKey(path string) (crypto.PublicKey, error) {
	data, err := fsutil.ReadFileMax(path, MaxPublicKeySize)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, fsutil.Cause(err))
	}
	pub, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	return pub, nil
}

// KeyID names a public key the way mlattest shows and matches it:
// "sha256:" and the hex SHA-256 of its DER (PKIX) encoding.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// WithPublicKey returns trust material that trusts pub (whatever key hint a
// bundle names: the caller chose the key, a bundle cannot choose another)
// in addition to tr's logs and timestamp authorities. tr may be nil.
func WithPublicKey(tr root.TrustedMaterial, pub crypto.PublicKey) (root.TrustedMaterial, error) {
	sv, err := signature.LoadDefaultVerifier(pub)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	km := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(sv, time.Time{}, time.Time{}), nil
	})
	if tr == nil {
		return km, nil
	}
	return root.TrustedMaterialCollection{km, tr}, nil
}
