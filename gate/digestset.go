package gate

import (
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/predicates"
)

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
		hs[i] = digest.NewHash(alg)
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
