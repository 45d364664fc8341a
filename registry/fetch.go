package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/verify"
)

// MaxReferrers caps the referrers read for one model.
const MaxReferrers = 1000

// Model is a model manifest resolved to its digest.
type Model struct {
	// Ref names the manifest by digest: every later read uses it, never
	// the tag, so a tag moved meanwhile changes nothing.
	Ref name.Digest
	// From is the reference it was resolved from (a tag, or Ref).
	From     name.Reference
	Manifest []byte
	Files    []File
}

// Digest is the manifest's sha256:HEX.
func (m *Model) Digest() string { return m.Ref.DigestStr() }

// Descriptor is the manifest's descriptor, the subject of its referrers.
func (m *Model) Descriptor() v1.Descriptor {
	h, _ := v1.NewHash(m.Ref.DigestStr())
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Size: int64(len(m.Manifest))}
}

// Resolve reads the model manifest ref names, once: a tag is resolved to
// the digest of the bytes received, and a digest is checked against them.
func (c *Client) Resolve(ctx context.Context, ref name.Reference) (*Model, error) {
	desc, err := remote.Get(ref, c.options(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", String(ref), err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, err
	}
	if d, ok := ref.(name.Digest); ok && d.DigestStr() != h.String() {
		return nil, fmt.Errorf("%s: the registry returned a manifest with digest %s", String(ref), h)
	}
	_, files, err := ParseModelManifest(desc.Manifest)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", String(ref), err)
	}
	return &Model{Ref: ref.Context().Digest(h.String()), From: ref, Manifest: desc.Manifest, Files: files}, nil
}

// Bundle is a bundle attached to a model.
type Bundle struct {
	Referrer
	Data []byte `json:"-"`
}

// Bundles fetches the model's referrers of the given kind (KindAttestation
// or KindVSA): through the referrers API, or the referrers tag schema where
// the registry has none. Only referrers whose own manifest names the model
// as subject count; each bundle blob is read by digest and checked.
func (c *Client) Bundles(ctx context.Context, m *Model, kind string) ([]Bundle, error) {
	opts := c.options(ctx)
	idx, err := remote.Referrers(m.Ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("referrers of %s: %w", String(m.Ref), err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("referrers of %s: %w", String(m.Ref), err)
	}
	if len(im.Manifests) > MaxReferrers {
		return nil, fmt.Errorf("referrers of %s: %d, over %d", String(m.Ref), len(im.Manifests), MaxReferrers)
	}
	puller, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, err
	}
	var out []Bundle
	for _, d := range im.Manifests {
		// The index's artifactType is a hint; the referrer's own
		// manifest decides.
		if d.ArtifactType != "" && d.ArtifactType != ArtifactTypeBundle && d.ArtifactType != ArtifactTypeModelSignature && d.ArtifactType != MediaTypeEmpty {
			continue
		}
		ref := m.Ref.Context().Digest(d.Digest.String())
		desc, err := puller.Get(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("referrer %s: %w", String(ref), err)
		}
		r, err := ParseBundleReferrer(desc.Manifest, m.Digest())
		if errors.Is(err, errOtherReferrer) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("referrer %s: %w", String(ref), err)
		}
		if r.kind != kind {
			continue
		}
		data, err := c.readBlob(ctx, puller, m.Ref.Context().Digest(r.layer.Digest.String()), verify.MaxBundleSize)
		if err != nil {
			return nil, fmt.Errorf("referrer %s: bundle %s: %w", String(ref), r.layer.Digest, err)
		}
		out = append(out, Bundle{Referrer: Referrer{Title: r.title, Digest: d.Digest.String(), Kind: r.kind}, Data: data})
	}
	return out, nil
}

func (c *Client) readBlob(ctx context.Context, puller *remote.Puller, ref name.Digest, limit int64) ([]byte, error) {
	l, err := puller.Layer(ctx, ref)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// Reading to the end makes go-containerregistry check the digest.
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

// errOtherReferrer: a referrer that is not a bundle about this model; it is
// skipped, not an error (registries list all kinds of referrers).
var errOtherReferrer = errors.New("not a bundle referrer of this model")

type bundleReferrer struct {
	title, kind string
	layer       v1.Descriptor
}

// ParseBundleReferrer reads a referrer manifest from untrusted bytes and
// checks that it is a bundle artifact whose subject is the model manifest
// with digest subject; errOtherReferrer when it is another artifact or about
// another subject.
func ParseBundleReferrer(raw []byte, subject string) (*bundleReferrer, error) {
	if len(raw) > MaxManifestSize {
		return nil, fmt.Errorf("manifest of %d bytes, over %d", len(raw), MaxManifestSize)
	}
	var m v1.Manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if dec.More() {
		return nil, errors.New("manifest: data after the manifest")
	}
	if (m.ArtifactType != ArtifactTypeBundle && m.ArtifactType != ArtifactTypeModelSignature) || m.Subject == nil || m.Subject.Digest.String() != subject {
		return nil, errOtherReferrer
	}
	switch {
	case m.SchemaVersion != 2 || m.MediaType != types.OCIManifestSchema1:
		return nil, fmt.Errorf("bundle referrer: schemaVersion %d, mediaType %q", m.SchemaVersion, m.MediaType)
	case len(m.Layers) != 1:
		return nil, fmt.Errorf("bundle referrer: %d layers, want 1", len(m.Layers))
	case m.Layers[0].MediaType != ArtifactTypeBundle:
		return nil, fmt.Errorf("bundle referrer: layer mediaType %q", m.Layers[0].MediaType)
	case m.Layers[0].Digest.Algorithm != "sha256" || len(m.Layers[0].Digest.Hex) != 64:
		return nil, fmt.Errorf("bundle referrer: layer digest %q is not sha256", m.Layers[0].Digest)
	case m.Layers[0].Size < 0 || m.Layers[0].Size > verify.MaxBundleSize:
		return nil, fmt.Errorf("bundle referrer: layer size %d", m.Layers[0].Size)
	}
	// The artifact type routes a model signature; the kind annotation
	// routes the other bundles and must agree with it.
	kind := m.Annotations[AnnotationKind]
	switch {
	case m.ArtifactType == ArtifactTypeModelSignature && (kind == "" || kind == KindModelSignature):
		kind = KindModelSignature
	case m.ArtifactType == ArtifactTypeModelSignature, kind == KindModelSignature:
		return nil, fmt.Errorf("bundle referrer: artifactType %q with kind %q", m.ArtifactType, kind)
	case kind == "":
		kind = KindAttestation // attached by another tool
	case kind == KindAttestation, kind == KindVSA:
	default:
		return nil, errOtherReferrer
	}
	title := m.Layers[0].Annotations[AnnotationTitle]
	if !safeBundleName(title) {
		title = m.Layers[0].Digest.Hex + predicates.BundleSuffix
	}
	return &bundleReferrer{title: title, kind: kind, layer: m.Layers[0]}, nil
}

// safeBundleName: a title usable as a file name in a directory of bundles.
func safeBundleName(s string) bool {
	return predicates.CheckPathName(s) == nil && !strings.Contains(s, "/") &&
		strings.HasSuffix(s, predicates.BundleSuffix) && len(s) <= 200
}
