package sign

import (
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/mlattest/mlattest/trust"
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

// LoadTrustedRoot reads a Sigstore trusted_root.json; with an empty path it
// fetches the public-good trusted root through Sigstore's TUF root.
func LoadTrustedRoot(path string) (*root.TrustedRoot, error) {
	if path == "" {
		tr, err := root.FetchTrustedRoot()
		if err != nil {
			return nil, fmt.Errorf("fetching the public-good trusted root (give --trusted-root for a private instance): %w", err)
		}
		return tr, nil
	}
	return trust.ReadTrustedRoot(path)
}
