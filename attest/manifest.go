package attest

import (
	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/predicates"
)

// collapseTrees turns large top-level directories of the materials, products
// and subjects into directory manifests (predicates.CollapseArtifacts), so a
// statement about a 200,000-file dataset stays a few KB, and records the
// manifests in rec.Manifests (each once).
func collapseTrees(rec *Record, subjects []digest.Artifact, threshold int) (mats, prods, subj []digest.Artifact, err error) {
	if threshold < 0 {
		return rec.Materials, rec.Products, subjects, nil
	}
	seen := map[string]bool{}
	collapse := func(arts []digest.Artifact) ([]digest.Artifact, error) {
		out, ms, err := predicates.CollapseArtifacts(arts, threshold)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if !seen[m.SHA256] {
				seen[m.SHA256] = true
				rec.Manifests = append(rec.Manifests, m)
			}
		}
		return out, nil
	}
	if mats, err = collapse(rec.Materials); err != nil {
		return nil, nil, nil, err
	}
	if prods, err = collapse(rec.Products); err != nil {
		return nil, nil, nil, err
	}
	if subj, err = collapse(subjects); err != nil {
		return nil, nil, nil, err
	}
	return mats, prods, subj, nil
}
