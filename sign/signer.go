// Package sign turns in-toto statements (and, for layouts, raw bytes) into
// Sigstore bundles: keylessly with an OIDC token and a Fulcio certificate, or
// with a key; logged to Rekor and timestamped by a TSA as the signing config
// says, or key-only for air-gapped use. It is a thin, opinionated layer over
// sigstore-go's sign package.
package sign

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sigsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/mlattest/mlattest/trust"
)

// InTotoPayloadType is the DSSE payload type of in-toto statements.
const InTotoPayloadType = "application/vnd.in-toto+json"

// Signer makes Sigstore bundles. One Signer signs all statements of a run
// with one key (ephemeral for keyless) and, keyless, one Fulcio certificate,
// so a run needs one token and one certificate whatever its size. It is safe
// for concurrent use.
type Signer struct {
	key      crypto.Signer
	tokens   TokenSource
	config   *root.SigningConfig
	trusted  root.TrustedMaterial
	offline  bool
	timeout  time.Duration
	now      func() time.Time
	keypair  sigsign.Keypair
	certOnce sync.Once
	cert     []byte
	certErr  error
	identity string // the certificate's identity, once known
}

// Option configures a Signer.
type Option func(*Signer)

// WithKey signs with a long-lived key instead of keylessly.
func WithKey(k crypto.Signer) Option { return func(s *Signer) { s.key = k } }

// WithTokenSource sets where the OIDC token for keyless signing comes from.
func WithTokenSource(ts TokenSource) Option { return func(s *Signer) { s.tokens = ts } }

// WithSigningConfig names the Fulcio, Rekor and TSA services to use.
func WithSigningConfig(c *root.SigningConfig) Option { return func(s *Signer) { s.config = c } }

// WithTrustedMaterial makes the Signer verify each bundle it makes against
// this trust root before returning it (fail closed on a misconfigured stack).
func WithTrustedMaterial(t root.TrustedMaterial) Option { return func(s *Signer) { s.trusted = t } }

// WithOffline makes key-only bundles: no transparency log, no timestamp.
func WithOffline() Option { return func(s *Signer) { s.offline = true } }

// WithTimeout bounds each network request (default 60s).
func WithTimeout(d time.Duration) Option { return func(s *Signer) { s.timeout = d } }

// ErrOfflineNeedsKey: WithOffline without WithKey (keyless signing needs
// Fulcio and a log).
var ErrOfflineNeedsKey = errors.New("offline signing needs a key (WithKey)")

// ErrNoSigningConfig: online signing without WithSigningConfig.
var ErrNoSigningConfig = errors.New("no signing config (WithSigningConfig), or sign offline with a key (WithOffline and WithKey)")

// New checks the configuration and returns a Signer. It contacts nothing.
func New(opts ...Option) (*Signer, error) {
	s := &Signer{timeout: 60 * time.Second, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	switch {
	case s.offline && s.key == nil:
		return nil, ErrOfflineNeedsKey
	case s.offline:
		// Key-only: nothing else is used.
	case s.config == nil:
		return nil, ErrNoSigningConfig
	case s.key == nil && s.tokens == nil:
		return nil, ErrNoToken
	}
	if s.key != nil {
		kp, err := newKeypair(s.key)
		if err != nil {
			return nil, err
		}
		s.keypair = kp
		if s.trusted != nil {
			// Checking a key-signed bundle needs the key as well as the logs.
			if s.trusted, err = trust.WithPublicKey(s.trusted, s.key.Public()); err != nil {
				return nil, err
			}
		}
	} else {
		kp, err := sigsign.NewEphemeralKeypair(nil)
		if err != nil {
			return nil, fmt.Errorf("generating ephemeral key: %w", err)
		}
		s.keypair = kp
	}
	return s, nil
}

// Identity describes who signs: the Fulcio certificate's subject and OIDC
// issuer once a certificate was issued, else the key id or token source.
func (s *Signer) Identity() string {
	if s.key != nil {
		id, _ := trust.KeyID(s.key.Public())
		return "key " + id
	}
	if s.identity != "" {
		return s.identity
	}
	return "keyless (" + s.tokens.Describe() + ")"
}

// Keyless reports whether the Signer uses Fulcio certificates.
func (s *Signer) Keyless() bool { return s.key == nil }

// SignStatement signs an in-toto statement as a DSSE envelope.
func (s *Signer) SignStatement(ctx context.Context, statement []byte) (*protobundle.Bundle, error) {
	return s.sign(ctx, &sigsign.DSSEData{Data: statement, PayloadType: InTotoPayloadType})
}

// SignBlob signs raw bytes (a message signature over their SHA-256).
func (s *Signer) SignBlob(ctx context.Context, data []byte) (*protobundle.Bundle, error) {
	return s.sign(ctx, &sigsign.PlainData{Data: data})
}

func (s *Signer) sign(ctx context.Context, content sigsign.Content) (*protobundle.Bundle, error) {
	opts := sigsign.BundleOptions{Context: ctx}
	if !s.offline {
		if err := s.services(&opts); err != nil {
			return nil, err
		}
		opts.TrustedRoot = s.trusted
	}
	b, err := sigsign.Bundle(content, s.keypair, opts)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return b, nil
}

// services fills in the certificate provider, logs and TSAs from the
// signing config, selected as sigstore-go's own clients select them.
func (s *Signer) services(opts *sigsign.BundleOptions) error {
	now := s.now()
	if s.key == nil {
		svc, err := root.SelectService(s.config.FulcioCertificateAuthorityURLs(), sigsign.FulcioAPIVersions, now)
		if err != nil {
			return fmt.Errorf("signing config: no usable Fulcio: %w", err)
		}
		opts.CertificateProvider = &onceCert{s: s, inner: sigsign.NewFulcio(&sigsign.FulcioOptions{
			BaseURL: svc.URL, Timeout: s.timeout, Retries: 2,
		})}
	}
	logs, err := root.SelectServices(s.config.RekorLogURLs(), s.config.RekorLogURLsConfig(), sigsign.RekorAPIVersions, now)
	if err != nil {
		return fmt.Errorf("signing config: no usable Rekor: %w", err)
	}
	for _, l := range logs {
		opts.TransparencyLogs = append(opts.TransparencyLogs, sigsign.NewRekor(&sigsign.RekorOptions{
			BaseURL: l.URL, Timeout: s.timeout, Retries: 2, Version: l.MajorAPIVersion,
		}))
	}
	if len(s.config.TimestampAuthorityURLs()) > 0 {
		tsas, err := root.SelectServices(s.config.TimestampAuthorityURLs(), s.config.TimestampAuthorityURLsConfig(),
			sigsign.TimestampAuthorityAPIVersions, now)
		if err != nil {
			return fmt.Errorf("signing config: no usable timestamp authority: %w", err)
		}
		for _, t := range tsas {
			opts.TimestampAuthorities = append(opts.TimestampAuthorities, sigsign.NewTimestampAuthority(
				&sigsign.TimestampAuthorityOptions{URL: t.URL, Timeout: s.timeout, Retries: 2}))
		}
	}
	return nil
}

// onceCert asks for the token and the Fulcio certificate once per Signer:
// every bundle of a run shares the ephemeral key, so they share its certificate.
type onceCert struct {
	s     *Signer
	inner sigsign.CertificateProvider
}

func (o *onceCert) GetCertificate(ctx context.Context, kp sigsign.Keypair, _ *sigsign.CertificateProviderOptions) ([]byte, error) {
	s := o.s
	s.certOnce.Do(func() {
		tok, err := s.tokens.Token(ctx)
		if err != nil {
			s.certErr = fmt.Errorf("getting OIDC token from %s: %w", s.tokens.Describe(), err)
			return
		}
		if _, err := CheckToken(tok, s.now()); err != nil {
			s.certErr = fmt.Errorf("OIDC token from %s: %w", s.tokens.Describe(), err)
			return
		}
		s.cert, s.certErr = o.inner.GetCertificate(ctx, kp, &sigsign.CertificateProviderOptions{IDToken: tok})
		if s.certErr != nil {
			s.certErr = fmt.Errorf("getting certificate from Fulcio: %w", s.certErr)
			return
		}
		if c, err := x509.ParseCertificate(s.cert); err == nil {
			if sum, err := certificate.SummarizeCertificate(c); err == nil {
				s.identity = sum.SubjectAlternativeName + " (" + sum.Extensions.Issuer + ")"
			}
		}
	})
	return s.cert, s.certErr
}
