package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/predicates"
)

// writeManifests stores the directory manifests a step's statements refer
// to as OUT/manifests/sha256-HEX.json (temp file + rename), before any bundle
// is written, so a bundle never points at a missing manifest. A manifest
// already there is content-addressed: it is kept if its bytes are the same.
func writeManifests(out string, ms []predicates.Manifest, written *outFiles) error {
	if len(ms) == 0 {
		return nil
	}
	dir := filepath.Join(out, predicates.ManifestDir)
	if err := mkdirAll(dir, written); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	for _, m := range ms {
		p := filepath.Join(dir, predicates.ManifestFileName(m.SHA256))
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, m.Data) {
			continue
		}
		if err := fsutil.WriteFileAtomic(p, m.Data, 0o644); err != nil {
			return fmt.Errorf("writing manifest of %s: %w", m.Dir, err)
		}
		written.add(p)
	}
	return nil
}
