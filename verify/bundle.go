package verify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/predicates"
)

// MaxBundleSize caps what is read as a bundle: one DSSE payload of at most
// predicates.MaxStatementSize, base64-encoded, plus 4 MiB for certificates
// and proofs (a few kilobytes in practice). A larger file is refused by its
// stat size, before it is read.
const MaxBundleSize = (predicates.MaxStatementSize+2)/3*4 + 4<<20

// LoadBundle reads and parses a Sigstore bundle JSON file. A file that cannot
// be read is an input error; content that is not a valid bundle (or is larger
// than MaxBundleSize) is a rejection (ErrRejected, StageBundle), because a
// malformed bundle is the answer to "does this verify?".
func LoadBundle(path string) (*bundle.Bundle, error) { return loadBundle(path) }

// loadBundle is LoadBundle with sigstore-go bundle options (only the
// certificate-chain verifier passes any).
func loadBundle(path string, opts ...bundle.Option) (*bundle.Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", path, fsutil.Cause(err))
	}
	defer f.Close()
	// A regular file is judged by its size before it is read; a pipe (a
	// bundle given as <(...)) is read up to the limit.
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > MaxBundleSize {
		return nil, fmt.Errorf("bundle %s: %w", path, rejectf(StageBundle, "larger than %d bytes", MaxBundleSize))
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxBundleSize+1))
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", path, err)
	}
	b, err := parseBundle(data, opts...)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", path, err)
	}
	return b, nil
}

// ParseBundle parses bundle JSON with the same rules as LoadBundle; every
// error it returns is a rejection.
func ParseBundle(data []byte) (*bundle.Bundle, error) { return parseBundle(data) }

func parseBundle(data []byte, opts ...bundle.Option) (*bundle.Bundle, error) {
	if len(data) > MaxBundleSize {
		return nil, rejectf(StageBundle, "larger than %d bytes", MaxBundleSize)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, rejectf(StageBundle, "file is empty")
	}
	// protojson refuses repeated fields itself, but only with a message;
	// the strict check names the reason (predicates.ErrDuplicateKey,
	// ErrTrailingData) the way a DSSE payload's is named.
	if err := predicates.CheckJSON(data); err != nil {
		return nil, Reject(StageBundle, fmt.Errorf("not a valid Sigstore bundle: %w", err))
	}
	var b bundle.Bundle
	for _, o := range opts {
		o(&b) // options are read while unmarshalling validates
	}
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, Reject(StageBundle, fmt.Errorf("not a valid Sigstore bundle: %w", err))
	}
	return &b, nil
}

var errNilBundle = errors.New("no bundle given")
