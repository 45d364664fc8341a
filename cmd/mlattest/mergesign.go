package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mlattest/mlattest/attest"
	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/sign"
	"github.com/mlattest/mlattest/store"
)

// mergeSignFlags make merge sign the merged manifest as a step's link
// statement: the statement `mlattest attest --step NAME --products LOCATION`
// signs for the same objects, digested by one process.
type mergeSignFlags struct {
	step, runID, out string
	sf               signFlags
}

func (f *mergeSignFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.step, "step", "", "with --sign-out: sign the merged manifest as this step's link statement (its products and subjects: the objects, named by URI)")
	fs.StringVar(&f.out, "sign-out", "", "with --step: write <step>.link.sigstore.json to this directory or s3://BUCKET/PREFIX")
	fs.StringVar(&f.runID, "run-id", "", "with --step: pipeline run id the statement is bound to (default: $MLATTEST_RUN_ID, the GitHub Actions run, or a new one, printed)")
	f.sf.register(fs)
}

// prepareIf is prepare when any signing flag was given (nil otherwise).
func (f *mergeSignFlags) prepareIf(cmd *cobra.Command) (*sign.Signer, error) {
	for _, name := range []string{"step", "sign-out", "run-id", "key", "offline", "identity-token", "identity-token-file", "signing-config", "trusted-root"} {
		if cmd.Flags().Changed(name) {
			return f.prepare(cmd)
		}
	}
	return nil, nil
}

// prepare checks the flags and builds the signer before any part is read,
// so that a bad token or key fails at once.
func (f *mergeSignFlags) prepare(cmd *cobra.Command) (*sign.Signer, error) {
	if f.step == "" || f.out == "" {
		return nil, usage(errors.New("merge: signing needs --step NAME and --sign-out DIR|s3://BUCKET/PREFIX"))
	}
	step := &attest.Step{Name: f.step, RunID: f.runID}
	if _, err := attest.Digested(step, []digest.Artifact{{Name: "probe", SHA256: emptySHA256}}); err != nil {
		return nil, usage(fmt.Errorf("merge: %w", err))
	}
	dir, err := f.localOut()
	if err != nil {
		return nil, usage(fmt.Errorf("merge: --sign-out: %w", err))
	}
	if dir != "" {
		if err := checkOut(dir, f.step); err != nil {
			return nil, withCode(exitUsage, fmt.Errorf("merge: --sign-out: %w", err))
		}
	}
	signer, err := f.sf.signer(cmd.ErrOrStderr())
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("merge: %w", err))
	}
	return signer, nil
}

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// sign records the merged files of location as the step's products and
// signs the link, writing the bundle to --sign-out. Each file is named by
// its URI, location followed by its name, as attest names the objects of a
// location it digests itself. A statement that cannot be signed is kept
// there unsigned, as run and attest keep theirs, and the error says how to
// finish it.
func (f *mergeSignFlags) sign(ctx context.Context, stderr io.Writer, signer *sign.Signer, location string, arts []digest.Artifact) error {
	step := &attest.Step{Name: f.step, RunID: f.runID}
	madeUp := f.runID == "" && attest.AmbientRunID(os.LookupEnv) == ""
	named := make([]digest.Artifact, len(arts))
	for i, a := range arts {
		named[i] = a
		named[i].Name = location + a.Name
	}
	rec, err := attest.Digested(step, named)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("merge: %w", err))
	}
	if madeUp {
		step.RunID = rec.RunID
		announceRunID(stderr, step)
	}
	dir, err := f.localOut()
	if err != nil {
		return usage(fmt.Errorf("merge: --sign-out: %w", err))
	}
	if dir != "" {
		if _, err := storeRecord(ctx, signer, rec, dir, stderr, nil); err != nil {
			return withCode(exitRejected, fmt.Errorf("merge: %w", err))
		}
		return nil
	}
	// A bucket: sign into a directory of our own, then upload what was
	// written, unsigned statements included.
	tmp, err := os.MkdirTemp("", "mlattest-merge-sign-")
	if err != nil {
		return withCode(exitUsage, err)
	}
	defer os.RemoveAll(tmp)
	_, signErr := storeRecord(ctx, signer, rec, tmp, io.Discard, nil)
	if err := uploadDir(ctx, stderr, tmp, f.out); err != nil {
		return withCode(exitUsage, fmt.Errorf("merge: --sign-out: %w", err))
	}
	if signErr != nil {
		// storeRecord's advice names the directory just removed.
		first, _, _ := strings.Cut(signErr.Error(), "\n")
		return withCode(exitRejected, fmt.Errorf("merge: signing failed: %s\nmlattest: the statement is kept unsigned in %s; copy it to a directory and finish with: mlattest sign DIR", first, f.out))
	}
	fmt.Fprintf(stderr, "mlattest: step %q signed by %s\n", f.step, signer.Identity())
	return nil
}

// localOut is --sign-out as a local directory (a path or a file:// URL),
// or "" for a bucket.
func (f *mergeSignFlags) localOut() (string, error) {
	if !store.IsURL(f.out) {
		return f.out, nil
	}
	loc, err := store.ParseLocation(f.out)
	if err != nil {
		return "", err
	}
	if loc.Scheme == "file" {
		return loc.Prefix, nil
	}
	return "", nil
}

// uploadDir copies every file below dir to the location out, keyed by its
// slash path relative to dir.
func uploadDir(ctx context.Context, stderr io.Writer, dir, out string) error {
	b, err := store.OpenParts(ctx, out, true)
	if err != nil {
		return err
	}
	w, ok := b.(interface {
		Put(ctx context.Context, name string, data []byte) error
	})
	if !ok {
		return fmt.Errorf("%w: %s cannot be written", store.ErrUnsupported, b.Location())
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := w.Put(ctx, filepath.ToSlash(rel), data); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "mlattest: wrote %s%s\n", b.Location(), filepath.ToSlash(rel))
		return nil
	})
}
