package audit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/registry"
	"github.com/mlattest/mlattest/verify"
)

// Store holds the attestation bundles a pipeline kept: what a monitor
// counts as known.
type Store interface {
	// Bundles returns every kept bundle.
	Bundles(ctx context.Context) ([]StoredBundle, error)
	// String names the store in messages.
	String() string
}

// StoredBundle is one kept bundle's bytes; Name says where it came from.
type StoredBundle struct {
	Name string
	Data []byte
}

// DirStore is a directory of bundles (*.sigstore.json, not recursive).
type DirStore string

func (d DirStore) String() string { return string(d) }

// Bundles reads the directory's bundles; a missing directory is an error.
func (d DirStore) Bundles(context.Context) ([]StoredBundle, error) {
	dir := string(d)
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("attestations %s: %w", dir, fsutil.Cause(err))
	}
	names, err := filepath.Glob(filepath.Join(dir, "*"+predicates.BundleSuffix))
	if err != nil {
		return nil, err
	}
	out := make([]StoredBundle, 0, len(names))
	for _, n := range names {
		data, err := fsutil.ReadFileMax(n, verify.MaxBundleSize)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", n, fsutil.Cause(err))
		}
		out = append(out, StoredBundle{Name: n, Data: data})
	}
	return out, nil
}

// OCIStore is the attestation bundles attached as referrers (as push
// attaches them) to one model of an OCI repository, or to every tagged
// model of it.
type OCIStore struct {
	client *registry.Client
	model  name.Reference // nil: every tagged model of repo
	repo   name.Repository
}

// NewOCIStore reads oci://REGISTRY/REPO (every tagged model),
// oci://REGISTRY/REPO:TAG or oci://REGISTRY/REPO@sha256:HEX (one model)
// through c.
func NewOCIStore(c *registry.Client, ref string) (*OCIStore, error) {
	rest := strings.TrimPrefix(ref, registry.Scheme)
	if _, path, _ := strings.Cut(rest, "/"); !strings.ContainsAny(path, ":@") {
		repo, err := registry.ParseRepository(ref)
		if err != nil {
			return nil, err
		}
		return &OCIStore{client: c, repo: repo}, nil
	}
	m, err := registry.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	return &OCIStore{client: c, model: m, repo: m.Context()}, nil
}

func (o *OCIStore) String() string {
	if o.model != nil {
		return registry.String(o.model)
	}
	return registry.Scheme + o.repo.Name()
}

// Bundles fetches the attestation referrers of the store's model(s); each
// is named MODEL-DIGEST-REF/TITLE.
func (o *OCIStore) Bundles(ctx context.Context) ([]StoredBundle, error) {
	var models []*registry.Model
	if o.model != nil {
		m, err := o.client.Resolve(ctx, o.model)
		if err != nil {
			return nil, err
		}
		models = []*registry.Model{m}
	} else {
		ms, err := o.client.Models(ctx, o.repo)
		if err != nil {
			return nil, err
		}
		models = ms
	}
	var out []StoredBundle
	for _, m := range models {
		bs, err := o.client.Bundles(ctx, m, registry.KindAttestation)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			out = append(out, StoredBundle{Name: registry.String(m.Ref) + "/" + b.Title, Data: b.Data})
		}
	}
	return out, nil
}
