// Command keygen creates the key material of the local Sigstore stack once
// (kept across restarts) and (re)writes trusted_root.json and
// signing_config.json from it. Standard library only, plus `openssl` to
// encrypt Fulcio's PKCS#8 CA key (fileca wants an encrypted key).
//
// Files in -dir (created only when missing):
//
//	fulcio-ca.pem, fulcio-ca.key (encrypted PKCS#8), fulcio-ca.pass
//	rekor.key (PKCS#8 ECDSA P-256), rekor.pub
//	tsa-chain.pem (leaf, root), tsa.key (PKCS#8), tsa-root.key
//	created (RFC 3339: start of validity of everything above)
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

func main() {
	dir := flag.String("dir", "", "state directory")
	fulcioURL := flag.String("fulcio-url", "", "Fulcio base URL")
	rekorURL := flag.String("rekor-url", "", "Rekor v2 base URL (host = checkpoint origin)")
	tsaURL := flag.String("tsa-url", "", "full TSA URL (…/api/v1/timestamp)")
	oidcURL := flag.String("oidc-url", "", "OIDC issuer URL for the signing config")
	flag.Parse()
	if *dir == "" || *fulcioURL == "" || *rekorURL == "" || *tsaURL == "" || *oidcURL == "" {
		log.Fatal("keygen: -dir, -fulcio-url, -rekor-url, -tsa-url and -oidc-url are required")
	}
	g := gen{dir: *dir}
	if err := g.ensureKeys(); err != nil {
		log.Fatalf("keygen: %v", err)
	}
	if err := g.writeTrust(*fulcioURL, *rekorURL, *tsaURL, *oidcURL); err != nil {
		log.Fatalf("keygen: %v", err)
	}
}

type gen struct{ dir string }

func (g gen) path(name string) string { return filepath.Join(g.dir, name) }

func (g gen) ensureKeys() error {
	if _, err := os.Stat(g.path("created")); err == nil {
		return nil // complete set from an earlier start
	}
	// NotBefore a little in the past tolerates clock steps between processes.
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	end := start.AddDate(10, 0, 0)

	// Fulcio: a single self-signed root that issues the leaf certificates.
	caKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return err
	}
	caCert, err := selfSigned(caKey, pkix.Name{Organization: []string{"mlattest"}, CommonName: "mlattest-local-fulcio"}, start, end)
	if err != nil {
		return err
	}
	pass := make([]byte, 24)
	if _, err := rand.Read(pass); err != nil {
		return err
	}
	if err := writeFile(g.path("fulcio-ca.pass"), []byte(hex.EncodeToString(pass))); err != nil {
		return err
	}
	encKey, err := encryptPKCS8(caKey, g.path("fulcio-ca.pass"))
	if err != nil {
		return err
	}
	if err := writeFile(g.path("fulcio-ca.key"), encKey); err != nil {
		return err
	}
	if err := writeFile(g.path("fulcio-ca.pem"), pemCert(caCert)); err != nil {
		return err
	}

	// Rekor v2: ECDSA so the log id is SHA-256 of the DER public key
	// (rekor-tiles' note.KeyHash; ed25519 ids would also hash the origin).
	rekorKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	if err := writeKey(g.path("rekor.key"), rekorKey); err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&rekorKey.PublicKey)
	if err != nil {
		return err
	}
	if err := writeFile(g.path("rekor.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})); err != nil {
		return err
	}

	// TSA: root CA + leaf whose only EKU is timeStamping, marked critical (RFC 3161 2.3).
	tsaRootKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return err
	}
	tsaRoot, err := selfSigned(tsaRootKey, pkix.Name{Organization: []string{"mlattest"}, CommonName: "mlattest-local-tsa-root"}, start, end)
	if err != nil {
		return err
	}
	tsaKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tsaLeaf, err := tsaLeafCert(tsaKey, tsaRoot, tsaRootKey, start, end)
	if err != nil {
		return err
	}
	if err := writeKey(g.path("tsa-root.key"), tsaRootKey); err != nil {
		return err
	}
	if err := writeKey(g.path("tsa.key"), tsaKey); err != nil {
		return err
	}
	if err := writeFile(g.path("tsa-chain.pem"), append(pemCert(tsaLeaf), pemCert(tsaRoot)...)); err != nil {
		return err
	}
	// Written last: its presence means the set is complete.
	return writeFile(g.path("created"), []byte(start.Format(time.RFC3339)))
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func selfSigned(key *ecdsa.PrivateKey, name pkix.Name, start, end time.Time) (*x509.Certificate, error) {
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               name,
		NotBefore:             start,
		NotAfter:              end,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

var oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}
var oidTimeStamping = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}

func tsaLeafCert(key *ecdsa.PrivateKey, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, start, end time.Time) (*x509.Certificate, error) {
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	// crypto/x509 writes ExtKeyUsage non-critical; supply the extension ourselves.
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{oidTimeStamping})
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{Organization: []string{"mlattest"}, CommonName: "mlattest-local-tsa"},
		NotBefore:             start,
		NotAfter:              end,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		ExtraExtensions:       []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: eku}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func encryptPKCS8(key *ecdsa.PrivateKey, passFile string) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	var out, stderr bytes.Buffer
	cmd := exec.Command("openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256",
		"-passout", "file:"+passFile)
	cmd.Stdin = bytes.NewReader(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("openssl pkcs8: %w: %s", err, stderr.String())
	}
	return out.Bytes(), nil
}

// writeFile writes via a temp file + rename; keys stay private to the user.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

func readCerts(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no certificates", path)
	}
	return certs, nil
}

// JSON shapes of the Sigstore protobuf-specs trust messages (only what we emit).
type validFor struct {
	Start string `json:"start"`
	End   string `json:"end,omitempty"`
}
type rawBytes struct {
	RawBytes string `json:"rawBytes"`
}
type certAuthority struct {
	Subject   map[string]string `json:"subject"`
	URI       string            `json:"uri"`
	CertChain struct {
		Certificates []rawBytes `json:"certificates"`
	} `json:"certChain"`
	ValidFor validFor `json:"validFor"`
}
type tlog struct {
	BaseURL       string `json:"baseUrl"`
	HashAlgorithm string `json:"hashAlgorithm"`
	PublicKey     struct {
		RawBytes   string   `json:"rawBytes"`
		KeyDetails string   `json:"keyDetails"`
		ValidFor   validFor `json:"validFor"`
	} `json:"publicKey"`
	LogID struct {
		KeyID string `json:"keyId"`
	} `json:"logId"`
}
type service struct {
	URL             string   `json:"url"`
	MajorAPIVersion int      `json:"majorApiVersion"`
	ValidFor        validFor `json:"validFor"`
	Operator        string   `json:"operator"`
}

func ca(certs []*x509.Certificate, uri, start string) certAuthority {
	var c certAuthority
	leaf := certs[0]
	c.Subject = map[string]string{"organization": leaf.Subject.Organization[0], "commonName": leaf.Subject.CommonName}
	c.URI = uri
	for _, cert := range certs {
		c.CertChain.Certificates = append(c.CertChain.Certificates, rawBytes{base64.StdEncoding.EncodeToString(cert.Raw)})
	}
	c.ValidFor = validFor{Start: start}
	return c
}

func (g gen) writeTrust(fulcioURL, rekorURL, tsaURL, oidcURL string) error {
	created, err := os.ReadFile(g.path("created"))
	if err != nil {
		return err
	}
	start := string(bytes.TrimSpace(created))
	fulcioCerts, err := readCerts(g.path("fulcio-ca.pem"))
	if err != nil {
		return err
	}
	tsaCerts, err := readCerts(g.path("tsa-chain.pem"))
	if err != nil {
		return err
	}
	pubPEM, err := os.ReadFile(g.path("rekor.pub"))
	if err != nil {
		return err
	}
	blk, _ := pem.Decode(pubPEM)
	if blk == nil {
		return errors.New(g.path("rekor.pub") + ": no PEM block")
	}
	logID := sha256.Sum256(blk.Bytes)

	var tl tlog
	tl.BaseURL = rekorURL
	tl.HashAlgorithm = "SHA2_256"
	tl.PublicKey.RawBytes = base64.StdEncoding.EncodeToString(blk.Bytes)
	tl.PublicKey.KeyDetails = "PKIX_ECDSA_P256_SHA_256"
	tl.PublicKey.ValidFor = validFor{Start: start}
	tl.LogID.KeyID = base64.StdEncoding.EncodeToString(logID[:])

	root := map[string]any{
		"mediaType":              "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
		"tlogs":                  []tlog{tl},
		"certificateAuthorities": []certAuthority{ca(fulcioCerts, fulcioURL, start)},
		"ctlogs":                 []any{},
		"timestampAuthorities":   []certAuthority{ca(tsaCerts, tsaURL, start)},
	}
	svc := func(url string, v int) []service {
		return []service{{URL: url, MajorAPIVersion: v, ValidFor: validFor{Start: start}, Operator: "mlattest.local"}}
	}
	sc := map[string]any{
		"mediaType":       "application/vnd.dev.sigstore.signingconfig.v0.2+json",
		"caUrls":          svc(fulcioURL, 1),
		"oidcUrls":        svc(oidcURL, 1),
		"rekorTlogUrls":   svc(rekorURL, 2),
		"tsaUrls":         svc(tsaURL, 1),
		"rekorTlogConfig": map[string]string{"selector": "ANY"},
		"tsaConfig":       map[string]string{"selector": "ANY"},
	}
	for name, v := range map[string]any{"trusted_root.json": root, "signing_config.json": sc} {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		if err := writeFile(g.path(name), append(b, '\n')); err != nil {
			return err
		}
	}
	return nil
}
