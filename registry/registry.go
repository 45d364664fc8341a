// Package registry distributes models through OCI registries with their
// attestations attached as referrers, using go-containerregistry for every
// registry access.
//
// A model is pushed as a CNCF ModelPack artifact: one raw layer per file,
// named by its org.opencontainers.image.title annotation, so that the
// manifest alone gives every file's SHA-256 and the release gate can judge
// a model without downloading it. Each Sigstore bundle of the run is
// attached as an OCI 1.1 referrer whose subject is the model manifest
// (through the referrers tag schema where a registry lacks the referrers
// API). Everything read from a registry is untrusted: manifests are parsed
// strictly, and what a pull writes is only what verified attestations name.
package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ModelPack and Sigstore media types.
const (
	ArtifactTypeModel     = "application/vnd.cncf.model.manifest.v1+json"
	MediaTypeModelConfig  = "application/vnd.cncf.model.config.v1+json"
	MediaTypeWeight       = "application/vnd.cncf.model.weight.v1.raw"
	MediaTypeWeightConfig = "application/vnd.cncf.model.weight.config.v1.raw"
	MediaTypeDoc          = "application/vnd.cncf.model.doc.v1.raw"
	MediaTypeCode         = "application/vnd.cncf.model.code.v1.raw"
	// ArtifactTypeBundle is a Sigstore bundle attached as a referrer (the
	// artifact type cosign uses for the same bundles).
	ArtifactTypeBundle = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// ArtifactTypeModelSignature is an OpenSSF model signing (OMS)
	// signature attached as a referrer: a Sigstore bundle (its layer's
	// media type is ArtifactTypeBundle) whose DSSE payload is the model's
	// signed manifest. Its own artifact type keeps it apart from the run's
	// attestations, so a client that knows neither still sees what it is.
	ArtifactTypeModelSignature = "application/vnd.dev.mlattest.model-signature.v1+json"
	// MediaTypeEmpty is the OCI empty descriptor's type, the config of
	// artifacts that have none.
	MediaTypeEmpty = "application/vnd.oci.empty.v1+json"
	// AnnotationTitle names a layer's file.
	AnnotationTitle = "org.opencontainers.image.title"
	// Scheme prefixes registry references on mlattest's command line.
	Scheme = "oci://"
)

// Option configures a Client.
type Option func(*config) error

type config struct {
	keychain  authn.Keychain
	transport http.RoundTripper
	backoff   remote.Backoff
	jobs      int
	progress  io.Writer
}

// WithKeychain sets where registry credentials come from (default
// authn.DefaultKeychain: the Docker config and its credential helpers).
func WithKeychain(k authn.Keychain) Option {
	return func(c *config) error {
		if k == nil {
			return errors.New("registry: WithKeychain: nil keychain")
		}
		c.keychain = k
		return nil
	}
}

// WithTransport sets the HTTP transport under go-containerregistry's
// retrying, authenticating one.
func WithTransport(rt http.RoundTripper) Option {
	return func(c *config) error {
		if rt == nil {
			return errors.New("registry: WithTransport: nil transport")
		}
		c.transport = rt
		return nil
	}
}

// WithRetry sets how often a request failing with a 5xx answer or a
// network error is tried (attempts, at least 1) and the first wait, which
// triples after each try.
func WithRetry(attempts int, first time.Duration) Option {
	return func(c *config) error {
		if attempts < 1 || first < 0 {
			return fmt.Errorf("registry: WithRetry(%d, %s): attempts must be at least 1 and the wait not negative", attempts, first)
		}
		c.backoff = remote.Backoff{Duration: first, Factor: 3, Jitter: 0.1, Steps: attempts}
		return nil
	}
}

// WithJobs sets how many blobs move at once (default 4).
func WithJobs(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("registry: WithJobs(%d): at least 1", n)
		}
		c.jobs = n
		return nil
	}
}

// WithProgress draws a progress bar on w when it is a terminal.
func WithProgress(w io.Writer) Option {
	return func(c *config) error { c.progress = w; return nil }
}

// Client talks to registries.
type Client struct {
	cfg config
}

// New returns a Client.
func New(opts ...Option) (*Client, error) {
	c := &Client{cfg: config{
		keychain:  authn.DefaultKeychain,
		transport: remote.DefaultTransport,
		backoff:   remote.Backoff{Duration: time.Second, Factor: 3, Jitter: 0.1, Steps: 4},
		jobs:      4,
	}}
	for _, o := range opts {
		if err := o(&c.cfg); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Client) options(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(c.cfg.keychain),
		remote.WithTransport(c.cfg.transport),
		remote.WithRetryBackoff(c.cfg.backoff),
		remote.WithJobs(c.cfg.jobs),
		remote.WithUserAgent("mlattest"),
	}
}

// ParseReference parses oci://REGISTRY/REPO:TAG or oci://REGISTRY/REPO@sha256:HEX.
// The registry must be named (no implicit Docker Hub) and the tag or digest
// given (no implicit "latest").
func ParseReference(s string) (name.Reference, error) {
	rest, err := trimScheme(s)
	if err != nil {
		return nil, err
	}
	ref, err := name.ParseReference(rest, name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("registry reference %q: %w", s, err)
	}
	return ref, nil
}

// ParseRepository parses oci://REGISTRY/REPO: a repository, no tag or
// digest.
func ParseRepository(s string) (name.Repository, error) {
	rest, err := trimScheme(s)
	if err != nil {
		return name.Repository{}, err
	}
	repo, err := name.NewRepository(rest, name.StrictValidation)
	if err != nil {
		return name.Repository{}, fmt.Errorf("registry repository %q: %w", s, err)
	}
	return repo, nil
}

// trimScheme cuts oci:// off s and checks that a registry host is named:
// go-containerregistry reads a first segment without a dot or port as a
// repository on Docker Hub; mlattest never guesses the registry.
func trimScheme(s string) (string, error) {
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return "", fmt.Errorf("registry reference %q: does not start with %s", s, Scheme)
	}
	if host, _, _ := strings.Cut(rest, "/"); !strings.ContainsAny(host, ".:") && host != "localhost" {
		return "", fmt.Errorf("registry reference %q: name the registry host (oci://HOST[:PORT]/REPO:TAG)", s)
	}
	return rest, nil
}

// ParseTag is ParseReference for a reference that must be a tag.
func ParseTag(s string) (name.Tag, error) {
	ref, err := ParseReference(s)
	if err != nil {
		return name.Tag{}, err
	}
	t, ok := ref.(name.Tag)
	if !ok {
		return name.Tag{}, fmt.Errorf("registry reference %q: a tag is required here, not a digest", s)
	}
	return t, nil
}

// String is ref as mlattest prints it: oci://REGISTRY/REPO(:TAG|@DIGEST).
func String(ref name.Reference) string {
	sep := ":"
	if _, ok := ref.(name.Digest); ok {
		sep = "@"
	}
	return Scheme + ref.Context().Name() + sep + ref.Identifier()
}
