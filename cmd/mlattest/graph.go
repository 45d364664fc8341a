package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/mlattest/mlattest/audit"
	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/layouts"
)

func newGraphCmd() *cobra.Command {
	var dir, layoutPath, out string
	c := &cobra.Command{
		Use:   "graph --attestations DIR [--layout L] --out FILE",
		Short: "Draw a run as stages → artifacts → stages (FILE.svg and Mermaid FILE.mmd)",
		Long: `Graph reads the link statements of the bundles in --attestations and draws the
run: each stage with its signer, the artifacts it read and wrote (name and short
digest). A stage that read an artifact with a digest no stage produced, and that
artifact, are red; with --layout, stages the layout does not name and layout
stages with no statement are red too. The bundles are read, not verified (the
signers are as the bundles claim them): mlattest verify is the verdict.

Writes FILE.svg (rendered here, no external tool) and FILE.mmd (Mermaid, for
Markdown), each atomically.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" || out == "" {
				return usage(errors.New("--attestations DIR and --out FILE are required"))
			}
			var lay *layouts.Layout
			if layoutPath != "" {
				_, l, err := readLayout(layoutPath)
				if err != nil {
					if errors.As(err, new(*exitError)) {
						return err
					}
					return printLayoutErrors(cmd.ErrOrStderr(), layoutPath, err)
				}
				lay = l
			}
			recs, err := audit.LoadRun(dir)
			if err != nil {
				return withCode(exitUsage, err)
			}
			if len(recs) == 0 {
				return withCode(exitUsage, fmt.Errorf("attestations %s: no link statement", dir))
			}
			g := audit.BuildGraph(recs, lay)
			if err := writeGraph(out, g); err != nil {
				return withCode(exitUsage, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s.svg and %s.mmd (%d stages, %d artifacts)\n", out, out, len(g.Steps), len(g.Artifacts))
			return nil
		},
	}
	c.Flags().StringVar(&dir, "attestations", "", "directory of the run's bundles")
	c.Flags().StringVar(&layoutPath, "layout", "", "layout whose steps are expected")
	c.Flags().StringVar(&out, "out", "", "output path without extension (FILE.svg, FILE.mmd)")
	return c
}

// checkGraphOut checks that out.svg and out.mmd can be written, before any
// work is done.
func checkGraphOut(flag, out string) error {
	for _, ext := range []string{".svg", ".mmd"} {
		if err := checkOutFile(flag, out+ext); err != nil {
			return err
		}
	}
	return nil
}

// writeGraph writes out.svg and out.mmd, each atomically; when the second
// cannot be written the first is removed, so a failure leaves neither.
func writeGraph(out string, g *audit.Graph) error {
	if err := fsutil.WriteFileAtomic(out+".svg", []byte(g.SVG()), 0o644); err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(out+".mmd", []byte(g.Mermaid()), 0o644); err != nil {
		os.Remove(out + ".svg")
		return err
	}
	return nil
}
