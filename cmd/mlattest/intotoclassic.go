package main

import (
	"errors"
	"fmt"

	intoto "github.com/in-toto/in-toto-golang/in_toto"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/intotoclassic"
	"github.com/mlattest/mlattest/verify"
)

// classicFlags select classic in-toto verification in 'mlattest verify'.
type classicFlags struct {
	layout, links string
}

func (f *classicFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.layout, "in-toto-layout", "", "verify a classic in-toto v1 layout (signed JSON metablock) and its .link files instead, with in-toto-golang (owner: --layout-key)")
	fs.StringVar(&f.links, "links", "", "with --in-toto-layout: the directory of the steps' .link files")
}

// run verifies a classic supply chain: --in-toto-layout, --layout-key
// (repeatable by comma), --links; other verify flags do not apply.
func (f *classicFlags) run(cmd *cobra.Command, v *verifyFlags) error {
	switch {
	case v.layout.key == "":
		return usage(errors.New("--in-toto-layout needs --layout-key (the layout owner's public key)"))
	case f.links == "":
		return usage(errors.New("--in-toto-layout needs --links DIR"))
	case v.layout.file != "" || v.layout.owner.given() || v.attestations != "" || v.model != "" || v.vsa != "" || v.graph != "":
		return usage(errors.New("--in-toto-layout takes only --layout-key, --links and --json"))
	}
	key, err := intotoclassic.LoadKey(v.layout.key)
	if err != nil {
		return withCode(exitUsage, err)
	}
	res, err := intotoclassic.Verify(f.layout, []intoto.Key{key}, f.links)
	if err != nil {
		if !errors.Is(err, verify.ErrRejected) {
			return withCode(exitUsage, err)
		}
		if v.json {
			writeJSON(cmd.OutOrStdout(), map[string]any{"layout": f.layout, "passed": false, "reason": err.Error()})
		}
		return withCode(exitRejected, fmt.Errorf("%s: FAILED: %w", f.layout, err))
	}
	if v.json {
		return writeJSON(cmd.OutOrStdout(), map[string]any{"layout": f.layout, "passed": true, "steps": res.Steps, "products": res.Products, "expires": res.Expires})
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "in-toto layout %s: PASSED (steps %v, expires %s)\n", f.layout, res.Steps, res.Expires)
	for _, n := range res.ProductNames() {
		fmt.Fprintf(w, "  product %s  %s\n", n, digestString(res.Products[n]))
	}
	return nil
}

func newLayoutImportCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "import IN-TOTO-LAYOUT [--out FILE]",
		Short: "Convert a classic in-toto layout into an mlattest layout",
		Long: `layout import reads a classic in-toto v1 layout (its signature is not checked
here: 'mlattest verify --in-toto-layout' does that) and writes the equivalent
mlattest layout: functionary keys, steps, thresholds and artifact rules; the
last step's products become the released subject. Everything that could not be
carried over is listed on stderr, one line each ("not carried over: ..."):
inspections, expected commands, certificate constraints, CAs, the readme, rules
mlattest's grammar refuses. The result is unsigned: review it, then sign it with
'mlattest layout sign'.

Exit status: 0 written; 1 the layout cannot be converted; 2 usage error or
unreadable input.`,
		Example: `  mlattest layout import root.layout --out layout.yaml`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, l, err := intotoclassic.LoadLayout(args[0])
			if err != nil {
				if errors.Is(err, verify.ErrRejected) {
					return withCode(exitRejected, err)
				}
				return withCode(exitUsage, err)
			}
			data, notes, err := intotoclassic.Import(l)
			if err != nil {
				return withCode(exitRejected, fmt.Errorf("%s: %w", args[0], err))
			}
			for _, n := range notes {
				fmt.Fprintf(cmd.ErrOrStderr(), "mlattest: not carried over: %s\n", n)
			}
			if out == "" {
				_, err := cmd.OutOrStdout().Write(data)
				return err
			}
			if err := checkOutFile("--out", out); err != nil {
				return withCode(exitUsage, err)
			}
			if err := fsutil.CreateExclusive(out, data, 0o644); err != nil {
				return withCode(exitUsage, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "mlattest: wrote %s (unsigned: sign it with mlattest layout sign)\n", out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write the layout to this file (must not exist; default: stdout)")
	return cmd
}
