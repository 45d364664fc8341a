package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// MaxModels caps the tagged models Models resolves in one repository.
const MaxModels = 10000

// Models resolves every tagged model manifest of repo, each once (by
// digest), in tag order. Tags of the referrers tag schema (sha256-HEX) and
// tagged manifests that are not models are skipped.
func (c *Client) Models(ctx context.Context, repo name.Repository) ([]*Model, error) {
	tags, err := remote.List(repo, c.options(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("tags of %s%s: %w", Scheme, repo.Name(), err)
	}
	slices.Sort(tags)
	seen := map[string]bool{}
	var out []*Model
	for _, t := range tags {
		if strings.HasPrefix(t, "sha256-") {
			continue
		}
		m, err := c.Resolve(ctx, repo.Tag(t))
		if errors.Is(err, ErrNotModel) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if seen[m.Digest()] {
			continue
		}
		seen[m.Digest()] = true
		if len(out) == MaxModels {
			return nil, fmt.Errorf("tags of %s%s: over %d models", Scheme, repo.Name(), MaxModels)
		}
		out = append(out, m)
	}
	return out, nil
}
