package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/sign"
)

// Environment variables that stand in for flags (the private stack's
// scripts/stack.sh env sets them).
const (
	envSigningConfig = "MLATTEST_SIGNING_CONFIG"
	envTrustedRoot   = "MLATTEST_TRUSTED_ROOT"
	envPassphrase    = "MLATTEST_KEY_PASSPHRASE"
	// envCosignPassword is cosign's: accepted for cosign-format keys.
	envCosignPassword = "COSIGN_PASSWORD"
)

// tokenWarnWindow: a static token expiring sooner than this may not outlive
// the wrapped command; signing happens after it finishes.
const tokenWarnWindow = 5 * time.Minute

// signFlags are the signing flags shared by run, attest, sign and layout sign.
type signFlags struct {
	key           string
	offline       bool
	token         string
	tokenFile     string
	signingConfig string
	trustedRoot   string
}

func (f *signFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.key, "key", "", "sign with this private key (PEM; encrypted keys read the passphrase from $"+envPassphrase+", for cosign keys also $"+envCosignPassword+", or a terminal prompt) instead of keylessly")
	fs.BoolVar(&f.offline, "offline", false, "with --key: write a key-only bundle, contacting no transparency log or timestamp authority (air-gapped use)")
	fs.StringVar(&f.token, "identity-token", "", "OIDC identity token for keyless signing (default: --identity-token-file, $SIGSTORE_ID_TOKEN, or GitHub Actions' ambient token)")
	fs.StringVar(&f.tokenFile, "identity-token-file", "", "read the OIDC identity token from this file when signing (re-read at signing time, so it may be refreshed during a long run)")
	fs.StringVar(&f.signingConfig, "signing-config", "", "Sigstore signing_config.json naming Fulcio, Rekor and TSA (default: $"+envSigningConfig+", else the public-good instance via TUF)")
	fs.StringVar(&f.trustedRoot, "trusted-root", "", "Sigstore trusted_root.json used to check each new bundle (default: $"+envTrustedRoot+", else the public-good root via TUF)")
}

// signer checks the flags and builds the Signer: everything that can fail
// without contacting Fulcio is checked here, so a step's command only runs
// when its result can be signed (or kept for `mlattest sign`). It reads the
// key (asking for its passphrase now, before any command runs), checks a
// static token's expiry and loads the signing config and trusted root.
func (f *signFlags) signer(stderr io.Writer) (*sign.Signer, error) {
	s, err := f.newSigner(stderr)
	return s, signFlagHint(err)
}

// signFlagHint names the flags that answer a signing error the library
// reports by sentinel (it knows options, not flags).
func signFlagHint(err error) error {
	var hint string
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sign.ErrNoToken):
		hint = "pass --identity-token or --identity-token-file, or sign with --key"
	case errors.Is(err, sign.ErrOfflineNeedsKey):
		hint = "--offline needs --key"
	case errors.Is(err, sign.ErrNoSigningConfig):
		hint = "give --signing-config, or --offline with --key"
	case errors.Is(err, sign.ErrPublicGoodSigningConfig):
		hint = "give --signing-config for a private instance"
	default:
		return err
	}
	return fmt.Errorf("%w (%s)", err, hint)
}

func (f *signFlags) newSigner(stderr io.Writer) (*sign.Signer, error) {
	if f.offline && f.key == "" {
		return nil, &usageError{errors.New("--offline needs --key")}
	}
	var opts []sign.Option
	if f.key != "" {
		if f.token != "" || f.tokenFile != "" {
			return nil, &usageError{errors.New("--key and --identity-token/--identity-token-file are exclusive")}
		}
		k, err := sign.LoadPrivateKey(f.key, passphraseFunc(f.key))
		if err != nil {
			return nil, err
		}
		opts = append(opts, sign.WithKey(k))
	} else {
		ts, err := sign.NewTokenSource(sign.TokenOptions{Token: f.token, TokenFile: f.tokenFile})
		if err != nil {
			return nil, err
		}
		switch ts := ts.(type) {
		case sign.StaticToken:
			if f.token != "" {
				ts.From = "--identity-token" // the library names no flags
			}
			c, err := sign.CheckToken(ts.Value, time.Now())
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ts.From, err)
			}
			if !c.Expiry.IsZero() && time.Until(c.Expiry) < tokenWarnWindow {
				fmt.Fprintf(stderr, "mlattest: warning: the identity token from %s expires at %s; if the command outlives it, signing fails and `mlattest sign` can finish later with a fresh token\n",
					ts.From, c.Expiry.UTC().Format(time.RFC3339))
			}
		case sign.FileToken:
			// Read now as well as at signing time: a missing file, or one
			// that holds no JWT or an expired one, fails before a command
			// runs. One refreshed later is re-read when signing.
			tok, err := ts.Token(context.Background())
			if err != nil {
				return nil, fmt.Errorf("--identity-token-file %s: %w", f.tokenFile, pathCause(err))
			}
			c, err := sign.CheckToken(tok, time.Now())
			if err != nil {
				return nil, fmt.Errorf("--identity-token-file %s: %w", f.tokenFile, err)
			}
			if !c.Expiry.IsZero() && time.Until(c.Expiry) < tokenWarnWindow {
				fmt.Fprintf(stderr, "mlattest: warning: the identity token in %s expires at %s; refresh the file before the command finishes, or signing fails and `mlattest sign` can finish later with a fresh token\n",
					f.tokenFile, c.Expiry.UTC().Format(time.RFC3339))
			}
		}
		opts = append(opts, sign.WithTokenSource(ts))
	}
	if f.offline {
		opts = append(opts, sign.WithOffline())
	} else {
		sc, err := sign.LoadSigningConfig(orEnv(f.signingConfig, envSigningConfig))
		if err != nil {
			return nil, err
		}
		tr, err := loadTrustedRoot(orEnv(f.trustedRoot, envTrustedRoot))
		if err != nil {
			return nil, err
		}
		opts = append(opts, sign.WithSigningConfig(sc), sign.WithTrustedMaterial(tr))
	}
	return sign.New(opts...)
}

// files are the local files the flags name that hold secrets (key, token):
// a step's walk of its working directory skips them.
func (f *signFlags) files() []string {
	return []string{f.key, f.tokenFile}
}

func orEnv(v, env string) string {
	if v != "" {
		return v
	}
	return os.Getenv(env)
}

// passphraseFunc reads a key passphrase from the environment or, failing
// that, a terminal prompt. It is only called for encrypted keys. A cosign
// key also takes cosign's $COSIGN_PASSWORD, so the same CI secret serves both.
func passphraseFunc(keyPath string) func() ([]byte, error) {
	return func() ([]byte, error) {
		envs := []string{envPassphrase}
		if data, err := fsutil.ReadFileMax(keyPath, 1<<20); err == nil && sign.IsCosignKey(data) {
			envs = append(envs, envCosignPassword)
		}
		for _, env := range envs {
			if v, ok := os.LookupEnv(env); ok {
				return []byte(v), nil
			}
		}
		return promptPassphrase("Passphrase for "+keyPath+": ", envs...)
	}
}

// noTerminalError: a passphrase is needed and nobody can be asked for it.
type noTerminalError struct{ envs []string }

func (e noTerminalError) Error() string {
	return "no terminal to ask for the passphrase on: set $" + strings.Join(e.envs, " or $")
}

func (e noTerminalError) Is(target error) bool { return target == sign.ErrPassphrase }

// promptPassphrase asks on the terminal; without one, the error names the
// environment variables that would have given the passphrase.
func promptPassphrase(prompt string, envs ...string) ([]byte, error) {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, noTerminalError{envs}
	}
	fmt.Fprint(os.Stderr, prompt)
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return nil, fmt.Errorf("reading passphrase: %w", err)
	}
	return []byte(strings.TrimRight(string(p), "\r\n")), nil
}
