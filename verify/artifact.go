package verify

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/fsutil"
)

// Artifact is what a bundle must be about: a file, a digest, or (DSSE only,
// explicitly) nothing. The zero value is "not given" and is an input error.
type Artifact struct {
	path   string
	alg    string // sha256, sha384 or sha512
	digest []byte
	skip   bool
}

// ArtifactFile is the file that was signed (message signature), or whose
// SHA-256 must equal one subject digest of the DSSE statement.
func ArtifactFile(path string) Artifact { return Artifact{path: path} }

// ArtifactDigest is the artifact's digest; alg is sha256, sha384 or sha512.
func ArtifactDigest(alg string, digest []byte) Artifact {
	return Artifact{alg: strings.ToLower(alg), digest: append([]byte(nil), digest...)}
}

// ParseArtifactDigest parses "sha256:HEX" (also sha384/sha512).
func ParseArtifactDigest(s string) (Artifact, error) {
	alg, h, ok := strings.Cut(s, ":")
	if !ok {
		return Artifact{}, fmt.Errorf("digest %q: want ALG:HEX, e.g. sha256:…", s)
	}
	alg = strings.ToLower(alg)
	n, known := digestSizes[alg]
	if !known {
		return Artifact{}, fmt.Errorf("digest %q: unsupported algorithm %q (want sha256, sha384 or sha512)", s, alg)
	}
	d, err := hex.DecodeString(h)
	if err != nil || len(d) != n {
		return Artifact{}, fmt.Errorf("digest %q: want %d hex characters", s, 2*n)
	}
	return Artifact{alg: alg, digest: d}, nil
}

// SkipArtifact verifies a DSSE bundle without binding it to an artifact: the
// signature, log and timestamps are checked and the statement's subjects are
// returned for the caller to match (as layout rules do). A message signature
// cannot be verified this way.
func SkipArtifact() Artifact { return Artifact{skip: true} }

var digestSizes = map[string]int{"sha256": 32, "sha384": 48, "sha512": 64}

func (a Artifact) given() bool { return a.path != "" || a.digest != nil || a.skip }

// String describes the artifact for messages.
func (a Artifact) String() string {
	switch {
	case a.path != "":
		return a.path
	case a.digest != nil:
		return a.alg + ":" + hex.EncodeToString(a.digest)
	case a.skip:
		return "(not checked)"
	}
	return "(none)"
}

// fileDigest hashes the artifact file with alg. Failing to read it is an
// input error.
func fileDigest(path, alg string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("artifact %s: %w", path, fsutil.Cause(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("artifact %s: %w", path, fsutil.Cause(err))
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("artifact %s: not a regular file", path)
	}
	h := digest.NewHash(alg)
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("artifact %s: %w", path, fsutil.Cause(err))
	}
	return h.Sum(nil), nil
}

var errNoArtifact = errors.New("no artifact given: pass a file or a digest (SkipArtifact only for DSSE bundles)")
