package main

import (
	"errors"
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/spf13/pflag"

	"github.com/mlattest/mlattest/gate"
	"github.com/mlattest/mlattest/trust"
)

// layoutFlags name a signed layout and its owner, for verify (at release)
// and run (base-model pins before a step).
type layoutFlags struct {
	file, bundle     string
	owner            identityFlags
	key              string
	minSerial        int64
	insecureUnsigned bool
}

func (f *layoutFlags) register(fs *pflag.FlagSet, what string) {
	fs.StringVar(&f.file, "layout", "", what)
	fs.StringVar(&f.bundle, "layout-bundle", "", "the layout's Sigstore bundle (default: LAYOUT.sigstore.json)")
	f.owner.register(fs, "layout", "the layout owner's")
	fs.StringVar(&f.key, "layout-key", "", "the layout owner's PEM public key, instead of an identity")
	fs.Int64Var(&f.minSerial, "layout-min-serial", 0, "refuse a layout whose serial is lower (an older layout replayed)")
	fs.BoolVar(&f.insecureUnsigned, "insecure-unsigned-layout", false, "accept the layout without any signature (testing layouts only; never for a release)")
}

// given reports whether any layout flag was set.
func (f *layoutFlags) given() bool {
	return f.file != "" || f.bundle != "" || f.owner.given() || f.key != "" || f.minSerial != 0 || f.insecureUnsigned
}

// options checks the combination and loads the owner's key; every error is
// a usage error. The trust root is left to the caller.
func (f *layoutFlags) options() (gate.LayoutOptions, error) {
	opts := gate.LayoutOptions{LayoutFile: f.file, LayoutBundle: f.bundle, MinSerial: f.minSerial, InsecureUnsignedLayout: f.insecureUnsigned}
	hasID := f.owner.given()
	switch {
	case f.file == "":
		return opts, errors.New("--layout is required with the other --layout flags")
	case f.minSerial < 0:
		return opts, errors.New("--layout-min-serial must not be negative")
	case f.insecureUnsigned:
		if hasID || f.key != "" || f.bundle != "" {
			return opts, errors.New("--insecure-unsigned-layout cannot be combined with --layout-bundle, --layout-key or --layout-identity flags")
		}
	case f.key != "":
		if hasID {
			return opts, fmt.Errorf("--layout-key cannot be combined with %s flags", f.owner.names())
		}
		pub, err := trust.LoadPublicKey(f.key)
		if err != nil {
			return opts, err
		}
		opts.LayoutKey = pub
	case !hasID:
		return opts, errors.New("the layout owner is required: --layout-key, or --layout-identity (or --layout-identity-regexp) with --layout-oidc-issuer (or --layout-oidc-issuer-regexp); --insecure-unsigned-layout only for testing")
	default:
		id, err := f.owner.identity()
		if err != nil {
			return opts, err
		}
		opts.LayoutIdentity = id
	}
	return opts, nil
}

// setTrustedRoot says where the trusted root of opts comes from: the file
// given (--trusted-root or $MLATTEST_TRUSTED_ROOT), else the public-good
// root via TUF, fetched at once for a keyless layout owner and otherwise
// only if the verified layout needs one (keyless functionaries,
// requireTransparencyLog). A key-only layout verifies with no network.
func setTrustedRoot(opts *gate.LayoutOptions, path string) error {
	if path != "" || opts.LayoutIdentity != nil {
		tr, err := loadTrustedRoot(path)
		if err != nil {
			return err
		}
		opts.TrustedRoot = tr
		return nil
	}
	opts.TrustedRootFunc = func() (root.TrustedMaterial, error) {
		tr, err := loadTrustedRoot("")
		if err != nil {
			return nil, err
		}
		return tr, nil
	}
	return nil
}

// loadTrustedRoot is trust.LoadTrustedRoot with the flag that avoids the
// public-good fetch named when that fetch fails.
func loadTrustedRoot(path string) (*root.TrustedRoot, error) {
	return loadTrustedRootHint(trust.LoadTrustedRoot(path))
}

func loadTrustedRootHint(tr *root.TrustedRoot, err error) (*root.TrustedRoot, error) {
	if errors.Is(err, trust.ErrPublicGoodRoot) {
		return nil, fmt.Errorf("%w (give --trusted-root for a private instance)", err)
	}
	return tr, err
}
