package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/internal/progress"
	"github.com/mlattest/mlattest/modelsig"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/verify"
)

// Pushed is what Push wrote.
type Pushed struct {
	Ref       string     `json:"ref"`    // oci://REGISTRY/REPO:TAG
	Digest    string     `json:"digest"` // the model manifest's sha256:HEX
	Files     []File     `json:"files"`
	Referrers []Referrer `json:"referrers"`
}

// Referrer is a bundle attached to a model.
type Referrer struct {
	Title  string `json:"title"`  // the bundle's file name when pushed (informative only)
	Digest string `json:"digest"` // the referrer manifest's sha256:HEX
	Kind   string `json:"kind"`
}

// Referrer kinds, in the AnnotationKind annotation. They only route a
// bundle (run attestation or VSA); every bundle is verified for what it
// claims, so a relabelled one can only make verification fail.
const (
	AnnotationKind     = "dev.mlattest.kind"
	KindAttestation    = "attestation"
	KindVSA            = "vsa"
	KindModelSignature = "model-signature" // artifact type ArtifactTypeModelSignature
)

// PushOption adds to what Push sends.
type PushOption func(*pushConfig)

type pushConfig struct {
	modelSignature string
}

// WithModelSignature attaches an OMS model signature (a Sigstore bundle
// whose DSSE payload is the model's signed manifest, as `mlattest
// sign-model` and the model_signing tool write it) as a referrer of artifact
// type ArtifactTypeModelSignature. A signature file inside the model
// directory is not pushed as a model file: the format never counts the
// signature as part of the model.
func WithModelSignature(path string) PushOption {
	return func(c *pushConfig) { c.modelSignature = path }
}

// Push uploads the files under dir as a model to tag and attaches the
// bundles as referrers. The order makes the tag the last thing written:
// blobs, then the manifest by digest, then the referrers, then the tag, so
// that a tag never names a model whose files or attestations are still
// missing. An interrupted push is completed by running it again: blobs and
// manifests already there are not sent twice, and the same files always
// make the same manifest.
func (c *Client) Push(ctx context.Context, dir string, tag name.Tag, bundles []string, opts ...PushOption) (*Pushed, error) {
	var pc pushConfig
	for _, o := range opts {
		o(&pc)
	}
	var ignore []string
	if rel, ok := modelsig.Inside(dir, pc.modelSignature); ok {
		ignore = append(ignore, "/"+rel)
	}
	dopts := []digest.Option{digest.WithIgnore(ignore...)}
	if c.cfg.progress != nil {
		dopts = append(dopts, digest.WithProgress(c.cfg.progress))
	}
	arts, err := digest.Paths(ctx, dir, []string{"."}, dopts...)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	if len(arts) == 0 {
		return nil, fmt.Errorf("model %s: no files", dir)
	}
	img, files, err := newModelImage(dir, arts, tag.RepositoryStr())
	if err != nil {
		return nil, err
	}
	atts := make([]*bundleImage, 0, len(bundles))
	for _, b := range bundles {
		bi, err := readBundleImage(b, KindAttestation)
		if err != nil {
			return nil, err
		}
		atts = append(atts, bi)
	}
	if pc.modelSignature != "" {
		bi, err := readModelSignature(pc.modelSignature, files)
		if err != nil {
			return nil, err
		}
		atts = append(atts, bi)
	}
	desc, err := partial.Descriptor(img)
	if err != nil {
		return nil, err
	}
	out := &Pushed{Ref: String(tag), Digest: desc.Digest.String(), Files: files}
	byDigest := tag.Context().Digest(desc.Digest.String())

	wopts := c.options(ctx)
	var total int64
	for _, f := range files {
		total += f.Size
	}
	if bar := progress.New(c.cfg.progress, total, "pushing"); bar != nil {
		ch := make(chan v1.Update, 64)
		done := make(chan struct{})
		go func() {
			defer close(done)
			var last int64
			for u := range ch {
				bar.Add(u.Complete - last)
				last = u.Complete
			}
			bar.Finish()
		}()
		defer func() { <-done }()
		wopts = append(wopts, remote.WithProgress(ch))
	}
	if err := remote.Write(byDigest, img, wopts...); err != nil {
		return nil, fmt.Errorf("push %s: %w", String(byDigest), err)
	}
	pusher, err := remote.NewPusher(c.options(ctx)...)
	if err != nil {
		return nil, err
	}
	for _, bi := range atts {
		r, err := c.attach(ctx, pusher, byDigest, *desc, bi)
		if err != nil {
			return nil, err
		}
		out.Referrers = append(out.Referrers, r)
	}
	if err := pusher.Put(ctx, tag, img); err != nil {
		return nil, fmt.Errorf("tag %s: %w", String(tag), err)
	}
	return out, nil
}

// Attach attaches one bundle file of the given kind to the model m.
func (c *Client) Attach(ctx context.Context, m *Model, bundle, kind string) (Referrer, error) {
	bi, err := readBundleImage(bundle, kind)
	if err != nil {
		return Referrer{}, err
	}
	pusher, err := remote.NewPusher(c.options(ctx)...)
	if err != nil {
		return Referrer{}, err
	}
	return c.attach(ctx, pusher, m.Ref, m.Descriptor(), bi)
}

func (c *Client) attach(ctx context.Context, pusher *remote.Pusher, subject name.Digest, sd v1.Descriptor, bi *bundleImage) (Referrer, error) {
	img, err := bi.image(sd)
	if err != nil {
		return Referrer{}, err
	}
	d, err := img.Digest()
	if err != nil {
		return Referrer{}, err
	}
	if err := pusher.Push(ctx, subject.Context().Digest(d.String()), img); err != nil {
		return Referrer{}, fmt.Errorf("attach %s to %s: %w", bi.title, String(subject), err)
	}
	return Referrer{Title: bi.title, Digest: d.String(), Kind: bi.kind}, nil
}

// newModelImage builds the ModelPack manifest for the hashed files.
func newModelImage(dir string, arts []digest.Artifact, repo string) (v1.Image, []File, error) {
	sort.Slice(arts, func(i, j int) bool { return arts[i].Name < arts[j].Name })
	var cfg modelConfig
	cfg.Descriptor.Name = repo
	cfg.ModelFS.Type = "layers"
	core := &modelImage{layers: map[v1.Hash]v1.Layer{}}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  ArtifactTypeModel,
	}
	files := make([]File, 0, len(arts))
	for _, a := range arts {
		h := v1.Hash{Algorithm: "sha256", Hex: a.SHA256}
		mt := mediaTypeFor(a.Name)
		cfg.ModelFS.DiffIDs = append(cfg.ModelFS.DiffIDs, h.String())
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: mt, Digest: h, Size: a.Size,
			Annotations: map[string]string{AnnotationTitle: a.Name}})
		// Two files with the same bytes are one blob.
		core.layers[h] = &fileLayer{path: filepath.Join(dir, filepath.FromSlash(a.Name)), hash: h, size: a.Size, mediaType: mt}
		files = append(files, File{Name: a.Name, Digest: h.String(), Size: a.Size, MediaType: string(mt)})
	}
	var err error
	if core.config, err = json.Marshal(cfg); err != nil {
		return nil, nil, err
	}
	ch, size, err := v1.SHA256(bytes.NewReader(core.config))
	if err != nil {
		return nil, nil, err
	}
	m.Config = v1.Descriptor{MediaType: MediaTypeModelConfig, Digest: ch, Size: size}
	if core.manifest, err = json.Marshal(m); err != nil {
		return nil, nil, err
	}
	img, err := partial.CompressedToImage(core)
	return img, files, err
}

// modelImage is a manifest, its config and its file layers.
type modelImage struct {
	manifest, config []byte
	layers           map[v1.Hash]v1.Layer
}

func (m *modelImage) RawConfigFile() ([]byte, error)      { return m.config, nil }
func (m *modelImage) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (m *modelImage) RawManifest() ([]byte, error)        { return m.manifest, nil }
func (m *modelImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := m.layers[h]; ok {
		return l, nil
	}
	if ch, _, err := v1.SHA256(bytes.NewReader(m.config)); err == nil && ch == h {
		return staticLayer(m.config, MediaTypeModelConfig), nil
	}
	return nil, fmt.Errorf("no layer %s", h)
}

// fileLayer streams a file as a raw layer; its digest is the one the walk
// computed, and the registry refuses the upload if the bytes differ.
type fileLayer struct {
	path      string
	hash      v1.Hash
	size      int64
	mediaType types.MediaType
}

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.hash, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.hash, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	return l.Compressed()
}
func (l *fileLayer) Compressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, fmt.Errorf("model file %s: %w", l.path, err)
	}
	return f, nil
}

// staticLayer is a small blob held in memory.
func staticLayer(b []byte, mt types.MediaType) v1.Layer {
	h, _, _ := v1.SHA256(bytes.NewReader(b))
	return &memLayer{b: b, h: h, mt: mt}
}

type memLayer struct {
	b  []byte
	h  v1.Hash
	mt types.MediaType
}

func (l *memLayer) Digest() (v1.Hash, error)            { return l.h, nil }
func (l *memLayer) DiffID() (v1.Hash, error)            { return l.h, nil }
func (l *memLayer) Size() (int64, error)                { return int64(len(l.b)), nil }
func (l *memLayer) MediaType() (types.MediaType, error) { return l.mt, nil }
func (l *memLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.b)), nil
}
func (l *memLayer) Uncompressed() (io.ReadCloser, error) { return l.Compressed() }

// bundleImage is a bundle about to be attached.
type bundleImage struct {
	title, kind string
	data        []byte
	// artifactType is the referrer's (default ArtifactTypeBundle).
	artifactType string
}

// readBundleImage reads a bundle file, refusing anything that is not a
// Sigstore bundle (it would only make verification fail later). A bare DSSE
// envelope (*.dsse.json, as witness writes one) is attached as the Sigstore
// bundle verify.ParseEnvelope makes of it (the same envelope, certificate
// and timestamps), since a referrer carries bundles: the gate reads it as
// it reads the envelope.
func readBundleImage(path, kind string) (*bundleImage, error) {
	data, err := fsutil.ReadFileMax(path, verify.MaxBundleSize)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", path, err)
	}
	title := filepath.Base(path)
	if strings.HasSuffix(title, predicates.EnvelopeSuffix) {
		b, err := verify.ParseEnvelope(data)
		if err != nil {
			return nil, fmt.Errorf("envelope %s: %w", path, err)
		}
		if data, err = protojson.Marshal(b.Bundle); err != nil {
			return nil, fmt.Errorf("envelope %s: %w", path, err)
		}
		title = strings.TrimSuffix(title, predicates.EnvelopeSuffix) + predicates.BundleSuffix
	}
	if _, err := verify.ParseBundle(data); err != nil {
		return nil, fmt.Errorf("bundle %s: %w", path, err)
	}
	return &bundleImage{title: title, kind: kind, data: data}, nil
}

// readModelSignature reads an OMS signature to attach: a Sigstore bundle
// carrying a model signing manifest that lists exactly the files pushed (a
// signature of another model would only make verification fail; a
// "shards" manifest cannot be checked here and is attached as it is). Its
// title ends in predicates.BundleSuffix, the name it gets among the
// bundles the gate reads.
func readModelSignature(path string, files []File) (*bundleImage, error) {
	data, err := fsutil.ReadFileMax(path, verify.MaxBundleSize)
	if err != nil {
		return nil, fmt.Errorf("model signature %s: %w", path, err)
	}
	// As the gate reads it: the pre-1.1 model_signing tool's key material
	// is tolerated (and not trusted).
	b, err := modelsig.ParseSignature(data, verify.ParseBundle)
	if err != nil {
		return nil, fmt.Errorf("model signature %s: %w", path, err)
	}
	bi := &bundleImage{title: filepath.Base(path), kind: KindModelSignature, data: data}
	m, err := modelsig.ParseStatement(b.GetDsseEnvelope().GetPayload())
	if err != nil {
		return nil, fmt.Errorf("model signature %s: %w", path, err)
	}
	digests := make(map[string]string, len(files))
	for _, f := range files {
		digests[f.Name] = f.SHA256()
	}
	if err := m.CompareDigests(digests); err != nil && !errors.Is(err, modelsig.ErrShardedManifest) {
		return nil, fmt.Errorf("model signature %s is not a signature of this model: %w", path, err)
	}
	if !strings.HasSuffix(bi.title, predicates.BundleSuffix) {
		bi.title += predicates.BundleSuffix
	}
	bi.artifactType = ArtifactTypeModelSignature
	return bi, nil
}

// emptyConfig is the OCI empty JSON object, the config of an artifact.
var emptyConfig = []byte("{}")

func (b *bundleImage) image(subject v1.Descriptor) (v1.Image, error) {
	layer := staticLayer(b.data, ArtifactTypeBundle)
	lh, _ := layer.Digest()
	ch, _, _ := v1.SHA256(bytes.NewReader(emptyConfig))
	sub := v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	at := b.artifactType
	if at == "" {
		at = ArtifactTypeBundle
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  at,
		Config:        v1.Descriptor{MediaType: MediaTypeEmpty, Digest: ch, Size: int64(len(emptyConfig)), Data: emptyConfig},
		Layers: []v1.Descriptor{{MediaType: ArtifactTypeBundle, Digest: lh, Size: int64(len(b.data)),
			Annotations: map[string]string{AnnotationTitle: b.title}}},
		Subject:     &sub,
		Annotations: map[string]string{AnnotationKind: b.kind},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	core := &modelImage{manifest: raw, config: emptyConfig, layers: map[v1.Hash]v1.Layer{lh: layer}}
	return partial.CompressedToImage(core)
}
