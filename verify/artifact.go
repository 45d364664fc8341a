package verify

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/predicates"
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

func newHash(alg string) hash.Hash {
	switch alg {
	case "sha384":
		return sha512.New384()
	case "sha512":
		return sha512.New()
	default:
		return sha256.New()
	}
}

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
	h := newHash(alg)
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("artifact %s: %w", path, fsutil.Cause(err))
	}
	return h.Sum(nil), nil
}

var errNoArtifact = errors.New("no artifact given: pass a file or a digest (SkipArtifact only for DSSE bundles)")

// DigestSet is an artifact's digests by algorithm (sha256, and sha384 or
// sha512 where a statement lists them), lowercase hex.
type DigestSet map[string]string

// String renders the set as "sha256:HEX sha512:HEX", algorithms sorted.
func (d DigestSet) String() string {
	parts := make([]string, 0, len(d))
	for _, alg := range slices.Sorted(maps.Keys(d)) {
		parts = append(parts, alg+":"+d[alg])
	}
	return strings.Join(parts, " ")
}

// agree reports whether d and o can be the same bytes: they share an
// algorithm, and every algorithm both list has the same non-empty value.
// Otherwise alg names the first algorithm that differs ("" when none is
// shared).
func (d DigestSet) agree(o DigestSet) (alg string, ok bool) {
	shared := false
	for _, a := range slices.Sorted(maps.Keys(d)) {
		w, both := o[a]
		if !both {
			continue
		}
		if d[a] == "" || !strings.EqualFold(d[a], w) {
			return a, false
		}
		shared = true
	}
	return "", shared
}

// mismatch says how o differs from d ("" when they list the same
// algorithms with the same non-empty values): what a MATCH and two links of
// one step must agree on, so that no listed digest goes unchecked.
func (d DigestSet) mismatch(o DigestSet) string {
	if alg, ok := d.agree(o); !ok && alg != "" {
		return fmt.Sprintf("%s %s vs %s", alg, d[alg], o[alg])
	}
	for _, alg := range slices.Sorted(maps.Keys(d)) {
		if _, ok := o[alg]; !ok {
			return fmt.Sprintf("%s listed on one side only", alg)
		}
	}
	for _, alg := range slices.Sorted(maps.Keys(o)) {
		if _, ok := d[alg]; !ok {
			return fmt.Sprintf("%s listed on one side only", alg)
		}
	}
	if len(d) == 0 {
		return "no digest"
	}
	return ""
}

// failureCode classifies an error about a statement's content: a bad
// artifact name or digest set has its own code, anything else is
// FailStatement.
func failureCode(err error) FailureCode {
	switch {
	case errors.Is(err, predicates.ErrArtifactName):
		return FailArtifactName
	case errors.Is(err, predicates.ErrDigestSet):
		return FailArtifactDigest
	}
	return FailStatement
}

// fileDigests hashes one file with each of algs in a single read.
func fileDigests(path string, algs []string) (DigestSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	hs := make([]hash.Hash, len(algs))
	ws := make([]io.Writer, len(algs))
	for i, alg := range algs {
		hs[i] = newHash(alg)
		ws[i] = hs[i]
	}
	if _, err := io.Copy(io.MultiWriter(ws...), f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make(DigestSet, len(algs))
	for i, alg := range algs {
		out[alg] = hex.EncodeToString(hs[i].Sum(nil))
	}
	return out, nil
}
