package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/handoff"
	"github.com/mlattest/mlattest/internal/version"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/scan/model"
	"github.com/mlattest/mlattest/store"
)

// modelScanPolicy names the allow-list the verdicts were computed with.
const modelScanPolicy = "mlattest.dev/model-scan/allow-list/v1"

// modelScanHandoffName is the name the statement is handed over under.
const modelScanHandoffName = "model-scan"

func newScanModelCmd() *cobra.Command {
	var (
		jsonOut  bool
		noDigest bool
		out      string
		follow   bool
		ignore   []string
	)
	cmd := &cobra.Command{
		Use:   "model [flags] PATH...",
		Short: "Scan model files for unsafe formats and pickle code",
		Long: `Scan model files without loading them. Formats are detected by content:
safetensors (every header rule checked, data section never read), PyTorch zip,
legacy and tar checkpoints, plain and concatenated pickles (protocols 0-5),
numpy .npy/.npz, joblib, gzip/bzip2/xz/zlib-compressed pickles, GGUF, ONNX,
Keras HDF5 and .keras. The other files of a model repository are judged by
content too: JSON configs and tokenizers, text (cards, licences, vocab and
merges lists), sentencepiece models and images are safe when they hold nothing
a loader executes; chat templates are checked for sandbox escapes, shard
indexes against their shards; code (Python, shell, notebooks, auto_map and
custom_pipelines references) is never safe.

Directories are walked as digest walks them: entries matching --ignore are
skipped (default .git/ and .cache/huggingface/ at any depth), and symbolic
links are refused unless --follow-symlinks is given.

Pickle streams are interpreted opcode by opcode, never executed: every import
is checked against an allow-list (what PyTorch's weights_only loader and numpy
array reconstruction need). Verdicts per file:
  safe       everything understood, every import allowed
  unknown    an import or a construct outside the allow-list, or a format
             whose loader cannot be judged
  malicious  a known-dangerous import (process, exec/eval, file, network,
             import machinery, nested loaders), an unresolvable import, or a
             polyglot file valid as two formats
  invalid    a format rule is broken (safetensors: the rule is named)
  error      malformed or truncated content

Inside "mlattest run" the model-scan statement
(` + predicates.ModelScanV1 + `) is handed over to the step, bound
to its step and run, and signed with its link; a layout can then require
  predicate.files.all(f, f.verdict == "safe")   or   !predicate.files.exists(f, f.pickle)
With --out FILE the unsigned statement is also written to FILE.

` + storeURIHelp + ` Objects are read in
place with ranged GETs of what their format needs (a safetensors header,
not its tensors); the digest reads every byte once; nothing is copied to disk.

Exit status: 0 when every file is safe, 1 otherwise, 2 for a usage error or
an unreadable path (nothing is written then).`,
		Example: `  mlattest scan model model/
  mlattest scan model --json --no-digest pytorch_model.bin
  mlattest run --step scan-model -- mlattest scan model out/model`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			h, inRun := handoff.FromEnv(os.Getenv)
			if noDigest && (inRun || out != "") {
				return usage(errors.New("scan model: --no-digest cannot be used with --out or inside mlattest run (the statement names files by digest)"))
			}
			for _, a := range args {
				if a == "" {
					return usage(errors.New("scan model: empty PATH"))
				}
			}
			if err := checkOutFile("--out", out); err != nil {
				return withCode(exitUsage, fmt.Errorf("scan model: %w", err))
			}
			walk := []digest.Option{digest.WithIgnore(ignore...)}
			if follow {
				walk = append(walk, digest.WithSymlinks(digest.SymlinksFollowInside))
			}
			results, err := scanModels(ctx, args, !noDigest, cmd.ErrOrStderr(), walk)
			if err != nil {
				return withCode(exitUsage, symlinkHint(fmt.Errorf("scan model: %w", err)))
			}
			if len(results) == 0 {
				return withCode(exitUsage, errors.New("scan model: no files found"))
			}
			if inRun || out != "" {
				in, err := modelScanInput(results)
				if err != nil {
					return withCode(exitUsage, fmt.Errorf("scan model: %w", err))
				}
				if err := writeModelScan(in, h, inRun, out); err != nil {
					return withCode(exitUsage, fmt.Errorf("scan model: %w", err))
				}
			}
			if err := printModelScan(cmd.OutOrStdout(), results, jsonOut); err != nil {
				return withCode(exitUsage, fmt.Errorf("scan model: writing output: %w", err))
			}
			for _, r := range results {
				if r.Verdict != model.Safe {
					return withCode(exitRejected, fmt.Errorf("scan model: %d of %d files not safe", countUnsafe(results), len(results)))
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&jsonOut, "json", false, "print one JSON object per file: path, sha256, format, verdict, findings")
	f.BoolVar(&noDigest, "no-digest", false, "do not hash files (scan only what the format needs; no statement)")
	f.StringVar(&out, "out", "", "also write the unsigned model-scan statement to `FILE`")
	f.BoolVar(&follow, "follow-symlinks", false, "follow symbolic links in directories that stay inside the working directory (a Hugging Face cache snapshot: files are scanned under their snapshot names)")
	f.StringArrayVar(&ignore, "ignore", digest.DefaultIgnore(), "skip entries matching `PATTERN` while walking directories (repeatable; replaces the default), as digest does")
	return cmd
}

func countUnsafe(rs []model.Result) int {
	n := 0
	for _, r := range rs {
		if r.Verdict != model.Safe {
			n++
		}
	}
	return n
}

func scanModels(ctx context.Context, paths []string, withDigest bool, progress io.Writer, walk []digest.Option) ([]model.Result, error) {
	s := model.New(model.WithDigest(withDigest), model.WithProgress(progress), model.WithWalk(walk...))
	var results []model.Result
	seen := map[string]bool{}
	add := func(r model.Result) error {
		// A file named twice (e.g. "m" and "m/a.bin") is reported once.
		k := r.Path
		if !store.IsURL(k) {
			k = filepath.Clean(k)
		}
		if !seen[k] {
			seen[k] = true
			results = append(results, r)
		}
		return nil
	}
	for _, p := range paths {
		if !store.IsURL(p) {
			if err := s.ScanPaths(ctx, []string{p}, add); err != nil {
				return results, err
			}
			continue
		}
		rs, err := scanModelStore(ctx, p, withDigest, progress, walk)
		if err != nil {
			return results, err
		}
		for _, r := range rs {
			add(r)
		}
	}
	return results, nil
}

// modelScanInput turns results into the predicate; paths become
// slash-separated and relative to the working directory.
func modelScanInput(results []model.Result) (predicates.ModelScanInput, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return predicates.ModelScanInput{}, err
	}
	in := predicates.ModelScanInput{Scanner: predicates.ModelScanScanner{Name: "mlattest scan model", Version: version.Get().Version, Policy: modelScanPolicy}}
	for _, r := range results {
		p := r.Path
		if store.IsURL(p) {
			in.Files = append(in.Files, modelScanFile(p, r))
			continue
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return in, err
		}
		if rel, err := filepath.Rel(cwd, abs); err == nil {
			p = rel
		}
		if filepath.IsAbs(p) {
			return in, fmt.Errorf("%s: cannot be named relative to the working directory", r.Path)
		}
		in.Files = append(in.Files, modelScanFile(filepath.ToSlash(p), r))
	}
	return in, nil
}

// modelScanFile is r in the predicate, named name.
func modelScanFile(name string, r model.Result) predicates.ModelScanFile {
	f := predicates.ModelScanFile{
		Path: name, SHA256: r.SHA256, Format: r.Format,
		Verdict: string(r.Verdict), Pickle: r.Pickle, Findings: []predicates.ModelScanFinding{},
	}
	for _, x := range r.Findings {
		f.Findings = append(f.Findings, predicates.ModelScanFinding{
			Rule: x.Rule, Severity: string(x.Severity), Member: x.Member, Offset: x.Offset, Message: x.Message,
		})
	}
	return f
}

func writeModelScan(in predicates.ModelScanInput, h handoff.Handoff, inRun bool, out string) error {
	if inRun {
		in.Step, in.RunID = h.Step, h.RunID
	}
	st, err := predicates.NewModelScanStatement(in)
	if err != nil {
		return err
	}
	return emitStatement(st, h, inRun, out, modelScanHandoffName)
}

// scanLine is the --json output contract: one object per file.
type scanLine struct {
	Path      string          `json:"path"`
	SHA256    string          `json:"sha256,omitempty"`
	Size      int64           `json:"size"`
	Format    string          `json:"format"`
	Verdict   model.Verdict   `json:"verdict"`
	Pickle    bool            `json:"pickle"`
	BytesRead int64           `json:"bytesRead"`
	Findings  []model.Finding `json:"findings"`
}

func printModelScan(w io.Writer, results []model.Result, jsonOut bool) error {
	if jsonOut {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, r := range results {
			fs := r.Findings
			if fs == nil {
				fs = []model.Finding{}
			}
			if err := enc.Encode(scanLine{r.Path, r.SHA256, r.Size, r.Format, r.Verdict, r.Pickle, r.BytesRead, fs}); err != nil {
				return err
			}
		}
		return nil
	}
	for _, r := range results {
		if _, err := fmt.Fprintf(w, "%-9s %-16s %s\n", r.Verdict, r.Format, r.Path); err != nil {
			return err
		}
		for _, f := range r.Findings {
			where := ""
			if f.Member != "" {
				where = " in " + f.Member
			}
			if f.Offset >= 0 {
				where += fmt.Sprintf(" at offset %d", f.Offset)
			}
			msg := strings.ReplaceAll(f.Message, "\n", " ")
			if _, err := fmt.Fprintf(w, "  %s: %s%s: %s\n", f.Severity, f.Rule, where, msg); err != nil {
				return err
			}
		}
	}
	return nil
}
