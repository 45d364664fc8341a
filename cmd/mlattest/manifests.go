package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

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
		tmp, err := os.CreateTemp(dir, ".manifest-*")
		if err != nil {
			return fmt.Errorf("writing manifest of %s: %w", m.Dir, err)
		}
		_, werr := tmp.Write(m.Data)
		cerr := tmp.Close()
		if werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = os.Chmod(tmp.Name(), 0o644)
		}
		if werr == nil {
			werr = os.Rename(tmp.Name(), p)
		}
		if werr == nil {
			written.add(p)
		}
		if werr != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("writing manifest %s of %s: %w", p, m.Dir, werr)
		}
	}
	return nil
}
