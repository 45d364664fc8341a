// Package ociregistry is the OCI 1.1 registry mlattest's tests and demo run
// beside the distribution registry: go-containerregistry's registry with the
// referrers API switched on and blobs kept on disk, so a test can tamper
// with a stored blob the way an attacker with write access to the storage
// would.
package ociregistry

import (
	"io"
	"log"
	"net/http"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Handler serves the registry API; blobs live under dir, manifests in
// memory (a restart forgets them, which the tests never rely on).
func Handler(dir string, logw io.Writer) http.Handler {
	if logw == nil {
		logw = io.Discard
	}
	return registry.New(
		registry.WithReferrersSupport(true),
		registry.WithBlobHandler(registry.NewDiskBlobHandler(dir)),
		registry.Logger(log.New(logw, "ociregistry: ", log.LstdFlags)),
	)
}

// BlobPath is where Handler(dir) stores the blob with the given digest
// ("sha256:hex").
func BlobPath(dir, algorithm, hex string) string {
	return filepath.Join(dir, algorithm, hex)
}
