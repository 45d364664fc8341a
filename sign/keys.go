package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	sigsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/youmark/pkcs8"

	"github.com/mlattest/mlattest/internal/fsutil"
)

// ErrPassphrase reports a missing or wrong passphrase for an encrypted key.
var ErrPassphrase = errors.New("wrong or missing passphrase")

// pbkdf2Iterations follows current OWASP guidance for PBKDF2-HMAC-SHA256.
const pbkdf2Iterations = 600_000

// GenerateKey creates an ECDSA P-256 key and returns its private half as
// PKCS#8 PEM (encrypted with PBES2, PBKDF2-SHA256 + AES-256-CBC, when
// passphrase is non-empty: the format openssl reads) and its public half as
// PKIX PEM.
func GenerateKey(passphrase []byte) (privPEM, pubPEM []byte, err error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key: %w", err)
	}
	var block *pem.Block
	if len(passphrase) == 0 {
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, nil, err
		}
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	} else {
		der, err := pkcs8.MarshalPrivateKey(priv, passphrase, &pkcs8.Opts{
			Cipher: pkcs8.AES256CBC,
			KDFOpts: pkcs8.PBKDF2Opts{
				SaltSize: 16, IterationCount: pbkdf2Iterations, HMACHash: crypto.SHA256,
			},
		})
		if err != nil {
			return nil, nil, fmt.Errorf("encrypting key: %w", err)
		}
		block = &pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}
	}
	pubPEM, err = cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(block), pubPEM, nil
}

// LoadPrivateKey reads a PEM private key file: PKCS#8 (plain or encrypted),
// SEC 1 EC, or a cosign/sigstore encrypted key. passphrase is asked for only
// when the key is encrypted; it may be nil.
func LoadPrivateKey(path string, passphrase func() ([]byte, error)) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, fsutil.Cause(err))
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("key %s: no PEM block found", path)
	}
	var pf cryptoutils.PassFunc
	encrypted := block.Type == "ENCRYPTED PRIVATE KEY" || IsCosignKey(data)
	if encrypted {
		if passphrase == nil {
			return nil, fmt.Errorf("key %s is encrypted: %w", path, ErrPassphrase)
		}
		// Asked here, not inside the decoder, so that the reason it could
		// not be had (no terminal: which variable to set) reaches the user.
		pass, err := passphrase()
		if err != nil {
			return nil, fmt.Errorf("key %s is encrypted: %w", path, err)
		}
		pf = func(bool) ([]byte, error) { return pass, nil }
	}
	key, err := cryptoutils.UnmarshalPEMToPrivateKey(data, pf)
	if err != nil {
		if encrypted {
			return nil, fmt.Errorf("key %s: %w", path, ErrPassphrase)
		}
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key %s: %T cannot sign", path, key)
	}
	if _, err := algorithmFor(signer.Public()); err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	return signer, nil
}

// IsCosignKey reports whether PEM data holds a cosign/sigstore encrypted
// private key, whose passphrase cosign reads from $COSIGN_PASSWORD.
func IsCosignKey(data []byte) bool {
	block, _ := pem.Decode(data)
	return block != nil && (block.Type == "ENCRYPTED SIGSTORE PRIVATE KEY" || block.Type == "ENCRYPTED COSIGN PRIVATE KEY")
}

// keyHint is the hint written into key-signed bundles: the base64 SHA-256
// of the DER public key, as sigstore-go computes it for its own keys.
func keyHint(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return []byte(base64.StdEncoding.EncodeToString(sum[:])), nil
}

// algorithmFor picks the Sigstore signing algorithm of a public key.
func algorithmFor(pub crypto.PublicKey) (protocommon.PublicKeyDetails, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256, nil
		case elliptic.P384():
			return protocommon.PublicKeyDetails_PKIX_ECDSA_P384_SHA_384, nil
		case elliptic.P521():
			return protocommon.PublicKeyDetails_PKIX_ECDSA_P521_SHA_512, nil
		}
		return 0, fmt.Errorf("unsupported ECDSA curve %s", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return protocommon.PublicKeyDetails_PKIX_ED25519, nil
	}
	return 0, fmt.Errorf("unsupported key type %T (want ECDSA or Ed25519)", pub)
}

// keypair adapts a long-lived crypto.Signer to sigstore-go's Keypair.
type keypair struct {
	signer crypto.Signer
	alg    signature.AlgorithmDetails
	hint   []byte
}

var _ sigsign.Keypair = (*keypair)(nil)

func newKeypair(signer crypto.Signer) (*keypair, error) {
	details, err := algorithmFor(signer.Public())
	if err != nil {
		return nil, err
	}
	alg, err := signature.GetAlgorithmDetails(details)
	if err != nil {
		return nil, err
	}
	hint, err := keyHint(signer.Public())
	if err != nil {
		return nil, err
	}
	return &keypair{signer: signer, alg: alg, hint: hint}, nil
}

func (k *keypair) GetHashAlgorithm() protocommon.HashAlgorithm { return k.alg.GetProtoHashType() }
func (k *keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return k.alg.GetSignatureAlgorithm()
}
func (k *keypair) GetHint() []byte                { return k.hint }
func (k *keypair) GetPublicKey() crypto.PublicKey { return k.signer.Public() }

func (k *keypair) GetKeyAlgorithm() string {
	switch k.alg.GetKeyType() {
	case signature.ECDSA:
		return "ECDSA"
	case signature.ED25519:
		return "ED25519"
	}
	return ""
}

func (k *keypair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.signer.Public())
	return string(b), err
}

// SignData signs data, hashing it first unless the algorithm (pure Ed25519)
// hashes internally; it returns the signature and what was signed.
func (k *keypair) SignData(_ context.Context, data []byte) ([]byte, []byte, error) {
	hf := k.alg.GetHashType()
	toSign := data
	if hf != crypto.Hash(0) {
		h := hf.New()
		h.Write(data)
		toSign = h.Sum(nil)
	}
	sig, err := k.signer.Sign(rand.Reader, toSign, hf)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: %w", err)
	}
	return sig, toSign, nil
}
