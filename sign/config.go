package sign

import (
	"errors"
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// ErrPublicGoodSigningConfig is wrapped when the public-good signing config
// cannot be fetched; a caller that takes a file instead says how to give one.
var ErrPublicGoodSigningConfig = errors.New("fetching the public-good signing config")

// LoadSigningConfig reads a Sigstore signing_config.json; with an empty path
// it fetches the public-good instance's config through Sigstore's TUF root.
func LoadSigningConfig(path string) (*root.SigningConfig, error) {
	if path == "" {
		sc, err := root.FetchSigningConfig()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrPublicGoodSigningConfig, err)
		}
		return sc, nil
	}
	sc, err := root.NewSigningConfigFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("signing config %s: %w", path, err)
	}
	return sc, nil
}
