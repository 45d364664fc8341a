package attest

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/storemodel"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/scan/model"
	"github.com/mlattest/mlattest/store"
)

// digestArtifacts digests materials or products: paths inside dir with
// digest.Paths, storage locations (s3://, gs://, file://; see package
// store) object by object, each named by its full URI
// ("s3://bucket/prefix/file"), so that a statement says where every
// object's bytes came from and a layout's artifact rules can match them.
// The server's ETag or generation is only used to read one version of an
// object; the recorded digest is the SHA-256 of the bytes read. A location
// listing no object is an error, as a missing path is. Sorted by name.
func digestArtifacts(ctx context.Context, dir string, paths []string, opts []digest.Option) ([]digest.Artifact, error) {
	var local, locs []string
	for _, p := range paths {
		if store.IsURL(p) {
			locs = append(locs, p)
		} else {
			local = append(local, p)
		}
	}
	var arts []digest.Artifact
	if len(local) > 0 {
		a, err := digest.Paths(ctx, dir, local, opts...)
		if err != nil {
			return nil, err
		}
		arts = a
	}
	if len(locs) == 0 {
		return arts, nil
	}
	for _, l := range locs {
		a, err := store.Digest(ctx, l, nil, opts...)
		if err != nil {
			return nil, err
		}
		// A key the statement could not name (not NFC, a control
		// character) is refused now, before a command runs for hours.
		for _, x := range a {
			if err := predicates.CheckArtifactName(x.Name); err != nil {
				return nil, err
			}
		}
		arts = append(arts, a...)
	}
	slices.SortFunc(arts, func(a, b digest.Artifact) int { return strings.Compare(a.Name, b.Name) })
	// Two locations may overlap (s3://b/p and s3://b/p/sub): one object,
	// one entry.
	arts = slices.CompactFunc(arts, func(a, b digest.Artifact) bool { return a.Name == b.Name })
	return arts, nil
}

// checkLocation checks a material or product that is a storage location
// before anything runs.
func checkLocation(raw string) error {
	_, err := store.ParseLocation(raw)
	return err
}

// isLocation reports whether an artifact name is a storage location's
// object (recorded by URI), not a file below the working directory.
func isLocation(name string) bool { return store.IsURL(name) }

// scanRemotePickles is the pickle check of the materials that are storage
// locations: each object is read in place (ranged reads of what its
// format needs, one more stream of every byte for its digest), as a local
// material is scanned. An object whose bytes differ from the digest
// recorded moments before is an error, not a pass. Results are named by
// URI.
func scanRemotePickles(ctx context.Context, st *state) ([]model.Result, error) {
	recorded := make(map[string]string, len(st.rec.Materials))
	for _, a := range st.rec.Materials {
		recorded[a.Name] = a.SHA256
	}
	var pickles []model.Result
	for _, raw := range st.Materials {
		if !isLocation(raw) {
			continue
		}
		l, err := store.ListObjects(ctx, raw, nil, st.DigestOptions...)
		if err != nil {
			return nil, err
		}
		err = storemodel.Scan(ctx, model.New(), l, func(r model.Result) error {
			if want := recorded[r.Path]; want != r.SHA256 {
				return fmt.Errorf("%s: %w: its SHA-256 is %s now, %s when recorded", r.Path, store.ErrChanged, r.SHA256, want)
			}
			if r.PickleGated() {
				pickles = append(pickles, r)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return pickles, nil
}
