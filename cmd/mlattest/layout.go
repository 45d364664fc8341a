package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlattest/mlattest/layouts"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/sign"
)

func newLayoutCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "layout",
		Short: "Check and sign layouts (the model owner's policy for a pipeline)",
		Long: `A layout says how a model must be produced: which steps, signed by whom, how
artifacts flow between steps and what the predicates must say. The format is
documented in layouts/README.md.`,
	}
	cmd.AddCommand(newLayoutCheckCmd(), newLayoutSignCmd(), newLayoutImportCmd())
	return cmd
}

// readLayout reads and parses a layout file. An unreadable file is a usage
// error; invalid content is returned as *layouts.Errors with exitRejected.
func readLayout(path string) ([]byte, *layouts.Layout, error) {
	data, err := layouts.ReadFile(path)
	if err != nil {
		return nil, nil, withCode(exitUsage, err)
	}
	l, err := layouts.Parse(data, path)
	if err != nil {
		return data, nil, err
	}
	return data, l, nil
}

// printLayoutErrors writes one file:line: message per error and returns
// the short error main prints.
func printLayoutErrors(w io.Writer, path string, err error) error {
	var es layouts.Errors
	if !errors.As(err, &es) {
		return withCode(exitRejected, fmt.Errorf("%s: %w", path, err))
	}
	for _, e := range es {
		fmt.Fprintln(w, e.Error())
	}
	return withCode(exitRejected, fmt.Errorf("%s is not a valid layout (%d %s)", path, len(es), plural(len(es), "error", "errors")))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func printWarnings(w io.Writer, file string, ws []layouts.Warning) {
	for _, x := range ws {
		if x.Line > 0 {
			fmt.Fprintf(w, "%s:%d: warning: %s\n", file, x.Line, x.Message)
		} else {
			fmt.Fprintf(w, "%s: warning: %s\n", file, x.Message)
		}
	}
}

// layoutCheckJSON is `layout check --json`'s one object.
type layoutCheckJSON struct {
	File     string             `json:"file"`
	Valid    bool               `json:"valid"`
	SHA256   string             `json:"sha256,omitempty"`
	Serial   int64              `json:"serial,omitempty"`
	Expires  string             `json:"expires,omitempty"`
	Steps    []string           `json:"steps,omitempty"`
	Subject  *layoutSubjectJSON `json:"subject,omitempty"`
	Errors   []*layouts.Error   `json:"errors,omitempty"`
	Warnings []layouts.Warning  `json:"warnings"`
}

type layoutSubjectJSON struct {
	Step     string   `json:"step"`
	Patterns []string `json:"patterns"`
}

func newLayoutCheckCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "check LAYOUT",
		Short: "Validate a layout, print warnings and a summary of what it demands",
		Long: `check parses LAYOUT strictly (unknown fields, duplicate keys, YAML anchors,
bad artifact rules, bad CEL and bad regexps are errors, each with file:line),
then prints warnings (identity regexps with unescaped dots or accepting
anyone, steps that accept any artifacts, rules without a final DISALLOW,
far-off expiry, ...) and a readable summary of the steps, signers, rules,
predicate expectations and the released subject.

Exit status: 0 valid (warnings allowed); 1 invalid layout; 2 usage error or
unreadable file.`,
		Example: `  mlattest layout check layouts/finetune.yaml
  mlattest layout check --json layout.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			out := cmd.OutOrStdout()
			_, l, err := readLayout(path)
			var ee *exitError
			if errors.As(err, &ee) {
				return err // unreadable
			}
			if asJSON {
				return checkJSON(out, path, l, err)
			}
			if err != nil {
				return printLayoutErrors(out, path, err)
			}
			printWarnings(out, path, l.Lint())
			l.Summary(out)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object instead of text")
	return cmd
}

func checkJSON(w io.Writer, path string, l *layouts.Layout, perr error) error {
	r := layoutCheckJSON{File: path, Warnings: []layouts.Warning{}}
	if perr != nil {
		var es layouts.Errors
		if errors.As(perr, &es) {
			r.Errors = es
		} else {
			r.Errors = []*layouts.Error{{File: path, Msg: perr.Error()}}
		}
		if err := writeJSON(w, r); err != nil {
			return err
		}
		return withCode(exitRejected, errors.New("")) // the JSON says why
	}
	r.Valid, r.SHA256, r.Serial = true, l.SHA256, l.Serial
	r.Expires = l.Expires.UTC().Format(time.RFC3339)
	for _, s := range l.Steps {
		r.Steps = append(r.Steps, s.Name)
	}
	r.Subject = &layoutSubjectJSON{Step: l.Subject.Step, Patterns: l.Subject.Patterns}
	if ws := l.Lint(); ws != nil {
		r.Warnings = ws
	}
	return writeJSON(w, r)
}

func newLayoutSignCmd() *cobra.Command {
	var kf signFlags
	var out string
	cmd := &cobra.Command{
		Use:   "sign LAYOUT [--out LAYOUT.sigstore.json] (--key KEY | keyless flags)",
		Short: "Sign a layout's exact bytes into a Sigstore bundle",
		Long: `sign validates LAYOUT (an invalid or already expired layout is never signed),
prints its warnings, and signs its exact bytes as a Sigstore message-signature
bundle: keylessly (OIDC -> Fulcio, logged to Rekor) or with --key. Verifiers
check that signature over the bytes they read before parsing them, so the file
must be distributed byte for byte as signed. The bundle is written to --out
(default LAYOUT.sigstore.json); an existing file is never overwritten.

Exit status: 0 signed; 1 invalid layout, or signing failed; 2 usage error or
unreadable input.`,
		Example: `  mlattest layout sign finetune.yaml --identity-token-file /var/run/sigstore/token
  mlattest layout sign finetune.yaml --key owner.key --out finetune.yaml.sigstore.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			stderr := cmd.ErrOrStderr()
			data, l, err := readLayout(path)
			var ee *exitError
			if errors.As(err, &ee) {
				return err
			}
			if err != nil {
				return printLayoutErrors(stderr, path, err)
			}
			if !time.Now().Before(l.Expires) {
				return withCode(exitRejected, fmt.Errorf("%s:%d: the layout expired at %s; not signing it", path, l.ExpiresLine, l.Expires.Format(time.RFC3339)))
			}
			printWarnings(stderr, path, l.Lint())
			if out == "" {
				out = path + predicates.BundleSuffix
			}
			if err := checkOutFile("--out", out); err != nil {
				return withCode(exitUsage, err)
			}
			if _, err := os.Lstat(out); err == nil {
				return withCode(exitUsage, fmt.Errorf("%s already exists; not overwriting it", out))
			}
			signer, err := kf.signer(stderr)
			if err != nil {
				return withCode(exitUsage, err)
			}
			// data is the buffer Parse checked: the signed bytes are the
			// validated bytes.
			b, err := signer.SignBlob(cmd.Context(), data)
			if err != nil {
				return withCode(exitRejected, fmt.Errorf("signing %s: %w", path, err))
			}
			if err := sign.WriteBundle(out, b); err != nil {
				return withCode(exitUsage, err)
			}
			fmt.Fprintf(stderr, "mlattest: wrote %s (layout %s, serial %d, sha256 %s, signed by %s)\n",
				out, path, l.Serial, l.SHA256, signer.Identity())
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write the bundle here (default LAYOUT.sigstore.json)")
	kf.register(cmd.Flags())
	return cmd
}
