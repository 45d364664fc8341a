package sign

import (
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// LoadSigningConfig reads a Sigstore signing_config.json; with an empty path
// it fetches the public-good instance's config through Sigstore's TUF root.
func LoadSigningConfig(path string) (*root.SigningConfig, error) {
	if path == "" {
		sc, err := root.FetchSigningConfig()
		if err != nil {
			return nil, fmt.Errorf("fetching the public-good signing config (give --signing-config for a private instance): %w", err)
		}
		return sc, nil
	}
	sc, err := root.NewSigningConfigFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("signing config %s: %w", path, err)
	}
	return sc, nil
}
