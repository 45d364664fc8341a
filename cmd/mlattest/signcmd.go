package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/spf13/cobra"

	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/sign"
	"github.com/mlattest/mlattest/trust"
)

func newSignCmd() *cobra.Command {
	var kf signFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "sign DIR",
		Short: "Sign statements a run kept unsigned (after a signing failure)",
		Long: `When signing fails after a step's command has finished (Fulcio unreachable, token
expired), 'mlattest run' keeps the statements in its --out directory as
*` + predicates.UnsignedSuffix + ` files. 'mlattest sign DIR' validates and signs each
of them, writes the bundle beside it and removes the unsigned file.

Exit status: 0 all signed; 1 some could not be signed (they stay, unchanged);
2 usage error or unreadable input.`,
		Example: `  mlattest sign attestations/ --identity-token-file /var/run/sigstore/token`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			stderr := cmd.ErrOrStderr()
			pending, err := sign.PendingStatements(args[0])
			if err != nil {
				return withCode(exitUsage, err)
			}
			report := signJSON{Dir: args[0], Files: []writtenFile{}, Failed: []failedFile{}}
			if len(pending) == 0 {
				fmt.Fprintf(stderr, "mlattest: nothing to sign in %s\n", args[0])
				if jsonOut {
					return writeJSON(cmd.OutOrStdout(), report)
				}
				return nil
			}
			signer, err := kf.signer(stderr)
			if err != nil {
				return withCode(exitUsage, err)
			}
			report.Signer = signer.Identity()
			var failed []error
			for _, p := range pending {
				w, err := signPending(cmd, signer, p)
				if err != nil {
					failed = append(failed, err)
					report.Failed = append(report.Failed, failedFile{p, fileErrors{err}.Error()})
					continue
				}
				report.Files = append(report.Files, w)
			}
			if jsonOut {
				if err := writeJSON(cmd.OutOrStdout(), report); err != nil {
					return err
				}
			}
			if len(failed) > 0 {
				return withCode(exitRejected, fileErrors(failed))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print one JSON object: the bundles written with their SHA-256, and the statements that could not be signed")
	kf.register(cmd.Flags())
	return cmd
}

// signJSON is `sign --json`'s object.
type signJSON struct {
	Dir    string        `json:"dir"`
	Signer string        `json:"signer,omitempty"`
	Files  []writtenFile `json:"files"`
	Failed []failedFile  `json:"failed"`
}

type failedFile struct {
	Path  string `json:"path"`
	Error string `json:"error"`
}

// signPending signs one unsigned statement file and replaces it by its bundle.
func signPending(cmd *cobra.Command, signer *sign.Signer, path string) (writtenFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return writtenFile{}, fmt.Errorf("%s: %w", path, fsutil.Cause(err))
	}
	// Never sign what verification would reject.
	st, err := predicates.ParseStatement(data)
	if err != nil {
		return writtenFile{}, fmt.Errorf("%s: %w", path, err)
	}
	b, err := signer.SignStatement(cmd.Context(), data)
	if err != nil {
		return writtenFile{}, fmt.Errorf("%s: %w", path, err)
	}
	out := sign.BundlePathFor(path)
	if err := sign.WriteBundle(out, b); err != nil {
		return writtenFile{}, err
	}
	if err := os.Remove(path); err != nil {
		return writtenFile{}, fmt.Errorf("signed %s but could not remove %s: %w", out, path, fsutil.Cause(err))
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "mlattest: wrote %s (signed by %s)\n", out, signer.Identity())
	return newWrittenFile(out, "", st.GetPredicateType(), true)
}

func newKeygenCmd() *cobra.Command {
	var prefix string
	var noPassphrase, jsonOut bool
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Create an ECDSA P-256 signing key pair for key-based signing",
		Long: `Keygen writes PREFIX.key (PKCS#8 PEM, encrypted with the passphrase: PBES2,
PBKDF2-SHA256, AES-256-CBC, readable by openssl) and PREFIX.pub (PKIX PEM).
The passphrase comes from $` + envPassphrase + ` or is asked for twice on the
terminal; --no-passphrase writes an unencrypted key. Existing files are never
overwritten, and nothing is written unless both files can be.

Exit status: 0 both files written; 2 usage error (empty or directory prefix,
existing file, no passphrase) or a file that cannot be written.`,
		Example: `  MLATTEST_KEY_PASSPHRASE=... mlattest keygen --output-key-prefix ci-signer`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if base := filepath.Base(prefix); prefix == "" || base == "." || base == ".." ||
				strings.HasSuffix(prefix, "/") || strings.HasSuffix(prefix, string(filepath.Separator)) {
				return usage(fmt.Errorf("--output-key-prefix %q: want a file name prefix such as keys/signer (PREFIX.key and PREFIX.pub are written)", prefix))
			}
			keyPath, pubPath := prefix+".key", prefix+".pub"
			for _, p := range []string{keyPath, pubPath} {
				if err := checkOutFile("--output-key-prefix", p); err != nil {
					return withCode(exitUsage, err)
				}
				if _, err := os.Lstat(p); err == nil {
					return withCode(exitUsage, fmt.Errorf("%s already exists; not overwriting it", p))
				}
			}
			var pass []byte
			if !noPassphrase {
				var err error
				if pass, err = newPassphrase(); err != nil {
					return withCode(exitUsage, err)
				}
			}
			privPEM, pubPEM, err := sign.GenerateKey(pass)
			if err != nil {
				return withCode(exitUsage, err)
			}
			if err := fsutil.CreateExclusive(keyPath, privPEM, 0o600); err != nil {
				return withCode(exitUsage, err)
			}
			if err := fsutil.CreateExclusive(pubPath, pubPEM, 0o644); err != nil {
				_ = os.Remove(keyPath)
				return withCode(exitUsage, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "mlattest: wrote private key %s and public key %s\n", keyPath, pubPath)
			if !jsonOut {
				return nil
			}
			pub, err := cryptoutils.UnmarshalPEMToPublicKey(pubPEM)
			if err != nil {
				return withCode(exitUsage, err)
			}
			id, err := trust.KeyID(pub)
			if err != nil {
				return withCode(exitUsage, err)
			}
			return writeJSON(cmd.OutOrStdout(), keygenJSON{PrivateKey: keyPath, PublicKey: pubPath, KeyID: id, Encrypted: !noPassphrase})
		},
	}
	cmd.Flags().StringVar(&prefix, "output-key-prefix", "mlattest", "write PREFIX.key and PREFIX.pub")
	cmd.Flags().BoolVar(&noPassphrase, "no-passphrase", false, "write the private key unencrypted")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print one JSON object: the files written and the key id (sha256 of the DER public key)")
	return cmd
}

// keygenJSON is `keygen --json`'s object.
type keygenJSON struct {
	PrivateKey string `json:"privateKey"`
	PublicKey  string `json:"publicKey"`
	KeyID      string `json:"keyId"`
	Encrypted  bool   `json:"encrypted"`
}

// newPassphrase reads a new key's passphrase: the environment, or asked
// twice on a terminal. An empty passphrase must be asked for explicitly.
func newPassphrase() ([]byte, error) {
	if v, ok := os.LookupEnv(envPassphrase); ok {
		if v == "" {
			return nil, fmt.Errorf("$%s is empty: use --no-passphrase for an unencrypted key", envPassphrase)
		}
		return []byte(v), nil
	}
	p1, err := promptPassphrase("Passphrase for the new key: ", envPassphrase)
	if err != nil {
		return nil, fmt.Errorf("%w, or pass --no-passphrase for an unencrypted key", err)
	}
	p2, err := promptPassphrase("Again: ")
	if err != nil {
		return nil, err
	}
	if string(p1) != string(p2) || len(p1) == 0 {
		return nil, errors.New("passphrases are empty or do not match")
	}
	return p1, nil
}
