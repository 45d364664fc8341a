// Package trust holds the trust material helpers that signing and
// verification share. It sits below sign, verify and layouts.
package trust

import (
	"errors"
	"fmt"
	"strings"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/mlattest/mlattest/internal/fsutil"
)

// MaxTrustedRootSize caps a trusted_root.json: a few CA certificates and
// log keys, far below this.
const MaxTrustedRootSize = 16 << 20

// ErrPublicGoodRoot is wrapped when the public-good trusted root cannot be
// fetched; callers that take a file instead say how to give one.
var ErrPublicGoodRoot = errors.New("fetching the public-good trusted root")

// LoadTrustedRoot reads a Sigstore trusted_root.json; with an empty path it
// fetches the public-good trusted root through Sigstore's TUF root.
func LoadTrustedRoot(path string) (*root.TrustedRoot, error) {
	if path == "" {
		tr, err := root.FetchTrustedRoot()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrPublicGoodRoot, err)
		}
		return tr, nil
	}
	return ReadTrustedRoot(path)
}

// ReadTrustedRoot reads a Sigstore trusted_root.json. Errors name the file
// and say what is wrong with it, not which decoder step failed.
func ReadTrustedRoot(path string) (*root.TrustedRoot, error) {
	data, err := fsutil.ReadFileMax(path, MaxTrustedRootSize)
	if err != nil {
		return nil, fmt.Errorf("trusted root %s: %w", path, fsutil.Cause(err))
	}
	var pb prototrustroot.TrustedRoot
	if err := protojson.Unmarshal(data, &pb); err != nil {
		// protobuf's messages start "proto:" and a space that is sometimes
		// a no-break space, so that nobody matches them: drop both.
		msg := strings.TrimLeft(strings.TrimPrefix(err.Error(), "proto:"), " \u00a0")
		return nil, fmt.Errorf("trusted root %s: not a Sigstore trusted_root.json: %s", path, msg)
	}
	tr, err := root.NewTrustedRootFromProtobuf(&pb)
	if err != nil {
		return nil, fmt.Errorf("trusted root %s: %w", path, err)
	}
	return tr, nil
}
