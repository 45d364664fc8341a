package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/pflag"

	"github.com/mlattest/mlattest/attest"
	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/sign"
)

// stepFlags are the flags that describe a step, shared by run and attest.
type stepFlags struct {
	name, runID, dir, out string
	materials, products   []string
	baseModels, datasets  []string
	config, image         string
	network               string
	python                string   // run only: the step's Python interpreter
	pipFreeze             bool     // run only: digest `python -m pip freeze`
	lockFiles             []string // run only: lock files to digest
	requireClean          bool
	followSymlinks        bool
	ignore                []string
	hashCache             string
	allowPickle           bool     // accept pickle-format inputs and products
	jsonOut               bool     // print what was written as one JSON object
	pins                  pinFlags // run only: signed base-model pins
}

func (f *stepFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.name, "step", "", "step name, recorded in the signed statements (required)")
	fs.StringVar(&f.runID, "run-id", "", "pipeline run id binding all steps of one run (default: $MLATTEST_RUN_ID, the GitHub Actions run, or a new random id for this step alone, printed; see mlattest run-id)")
	fs.StringVar(&f.dir, "dir", "", "working directory; material and product names are relative to it (default: current directory)")
	fs.StringVar(&f.out, "out", "", "directory to write the bundles to (required; created if missing)")
	fs.StringSliceVar(&f.materials, "materials", nil, "files or directories the step reads, or storage locations s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, file:///DIR whose objects are recorded by full URI (repeatable, comma-separated)")
	fs.StringSliceVar(&f.products, "products", nil, "files or directories the step writes, or storage locations (s3://, gs://, file://) as for --materials (repeatable, comma-separated)")
	fs.StringArrayVar(&f.baseModels, "base-model", nil, "base model as URI=PATH, e.g. hf://org/model@rev=./base (repeatable)")
	fs.StringArrayVar(&f.datasets, "dataset", nil, "dataset as URI=PATH[,collected=DATE][,source=internal|curated|web|crowd|synthetic] (repeatable)")
	fs.StringVar(&f.config, "config", "", "training config file, recorded with its digest")
	fs.StringVar(&f.image, "image", "", "container image the step ran in, REF@sha256:HEX")
	fs.BoolVar(&f.requireClean, "require-clean-git", false, "refuse to run when the git work tree has uncommitted changes (default: record the fact)")
	fs.BoolVar(&f.followSymlinks, "follow-symlinks", false, "follow symbolic links that stay inside the working directory (default: a symlink is an error)")
	fs.StringArrayVar(&f.ignore, "ignore", nil, "ignore pattern when digesting directories (default .git/ and **/.cache/huggingface/; repeatable); --out, --hash-cache, --identity-token-file and the key files (--key, --pin-key, --layout-key) are always skipped")
	fs.BoolVar(&f.jsonOut, "json", false, "print one JSON object on stdout when done: step, run id, exit code, signer, the statement files written with their SHA-256 (for run: after the command's own output)")
	fs.StringVar(&f.hashCache, "hash-cache", "", "reuse digests of files whose (device, inode, size, mtime, ctime) are unchanged, recorded in `DIR` (opt-in trust trade-off: whoever can write DIR or change a file without changing its ctime decides its digest; never used by verify)")
}

// step builds the attest.Step; parse errors wrap attest.ErrInput. exclude
// names files of mlattest's own (key, token) that a walk of the working
// directory must skip, like --out and --hash-cache.
func (f *stepFlags) step(command []string, exclude ...string) (*attest.Step, error) {
	if f.name == "" {
		return nil, fmt.Errorf("%w: --step is required", attest.ErrInput)
	}
	if f.out == "" {
		return nil, fmt.Errorf("%w: --out is required", attest.ErrInput)
	}
	s := &attest.Step{
		Name: f.name, RunID: f.runID, Dir: f.dir,
		Materials: f.materials, Products: f.products,
		Config: f.config, Image: f.image, Network: f.network,
		Command: command,
	}
	for _, v := range f.baseModels {
		in, err := attest.ParseInput(v)
		if err != nil {
			return nil, err
		}
		s.BaseModels = append(s.BaseModels, in)
	}
	for _, v := range f.datasets {
		d, err := attest.ParseDataset(v)
		if err != nil {
			return nil, fmt.Errorf("--dataset: %w", err)
		}
		s.Datasets = append(s.Datasets, d)
	}
	if f.followSymlinks {
		s.DigestOptions = append(s.DigestOptions, digest.WithSymlinks(digest.SymlinksFollowInside))
	}
	ignore := f.ignore
	if len(ignore) == 0 {
		ignore = digest.DefaultIgnore()
	}
	// The verification keys run is given (--pin-key, --layout-key) are
	// inputs of mlattest, not of the step, like the signing key.
	ignore, err := excludePatterns(ignore, f.dir, append([]string{f.out, f.hashCache, f.pins.key, f.pins.layout.key}, exclude...))
	if err != nil {
		return nil, err
	}
	s.DigestOptions = append(s.DigestOptions, digest.WithIgnore(ignore...))
	if f.hashCache != "" {
		s.DigestOptions = append(s.DigestOptions, digest.WithHashCache(f.hashCache))
	}
	s.DigestOptions = append(s.DigestOptions, digest.WithProgress(os.Stderr))
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// excludePatterns adds to ignore one pattern per path (relative to the
// shell's directory) that lies inside dir (the working directory, default
// the shell's): "--products ." must not record the bundles being written,
// the hash cache, or the signing key.
func excludePatterns(ignore []string, dir string, paths []string) ([]string, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	root := dir
	if !filepath.IsAbs(root) {
		root = filepath.Join(cwd, root)
	}
	out := append([]string(nil), ignore...)
	for _, p := range paths {
		if p == "" {
			continue
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(cwd, p)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		// A leading "/" makes the pattern match the full relative name;
		// glob characters in the name are escaped to match literally.
		pat := "/" + globEscaper.Replace(filepath.ToSlash(rel))
		if fi, err := os.Stat(p); err != nil || fi.IsDir() {
			pat += "/" // --out and --hash-cache are directories, created later if missing
		}
		out = append(out, pat)
	}
	return out, nil
}

var globEscaper = strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`)

// registerEnv registers run's flags for the environment record.
func (f *stepFlags) registerEnv(fs *pflag.FlagSet) {
	fs.StringVar(&f.python, "python", "", "the step's Python interpreter: its version is recorded in the link's environment (with --pip-freeze, the digest of its pip freeze and the versions of torch, transformers, ... found there)")
	fs.BoolVar(&f.pipFreeze, "pip-freeze", false, "record the SHA-256 of `PYTHON -m pip freeze` and the ML framework versions it lists (needs --python)")
	fs.StringArrayVar(&f.lockFiles, "lock-file", nil, "a dependency lock file (requirements.txt, uv.lock, poetry.lock, ...) whose SHA-256 is recorded in the link's environment (repeatable)")
}

func (f *stepFlags) runOptions() []attest.RunOption {
	var opts []attest.RunOption
	if f.requireClean {
		opts = append(opts, attest.RequireCleanGit())
	}
	if f.allowPickle {
		opts = append(opts, attest.AllowPickle())
	}
	return opts
}

// checkOut fails if --out is not a directory or already holds this step's
// files, so that nothing is overwritten and the check happens before the
// command runs.
func checkOut(out, step string) error {
	fi, err := os.Stat(out)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("--out %s: %w", out, err)
	case !fi.IsDir():
		return fmt.Errorf("--out %s is not a directory", out)
	}
	for _, kind := range []string{attest.KindLink, attest.KindProvenance} {
		base := filepath.Join(out, sign.FileBase(step, kind))
		for _, p := range []string{base + predicates.BundleSuffix, base + predicates.UnsignedSuffix} {
			if _, err := os.Lstat(p); err == nil {
				return fmt.Errorf("%s already exists: use a fresh --out directory for each run", p)
			}
		}
	}
	return nil
}

// storeRecord signs every statement of rec (in parallel: Rekor v2 batches
// concurrent writes) and writes one bundle per statement to out. Statements
// that cannot be signed are written unsigned, clearly marked, so that a
// finished step is never lost; the error then says how to finish them.
//
// Everything it creates is recorded in written (when not nil). It returns
// the statement files written, signed or not.
func storeRecord(ctx context.Context, signer *sign.Signer, rec *attest.Record, out string, stderr io.Writer, written *outFiles) ([]writtenFile, error) {
	if err := mkdirAll(out, written); err != nil {
		return nil, fmt.Errorf("creating --out: %w", err)
	}
	if err := writeManifests(out, rec.Manifests, written); err != nil {
		return nil, err
	}
	type result struct {
		path string
		err  error
	}
	results := make([]result, len(rec.Statements))
	var wg sync.WaitGroup
	for i, st := range rec.Statements {
		wg.Go(func() {
			base := filepath.Join(out, sign.FileBase(rec.Step, st.Kind))
			b, err := signer.SignStatement(ctx, st.JSON)
			if err == nil {
				path := base + predicates.BundleSuffix
				err := sign.WriteBundle(path, b)
				if err == nil {
					written.add(path)
				}
				results[i] = result{path, err}
				return
			}
			results[i] = result{base + predicates.UnsignedSuffix, err}
		})
	}
	wg.Wait()
	var failed error
	var files []writtenFile
	for i, r := range results {
		st := rec.Statements[i]
		if r.err == nil {
			fmt.Fprintf(stderr, "mlattest: wrote %s (%s, signed by %s)\n", r.path, st.Kind, signer.Identity())
			if w, err := newWrittenFile(r.path, st.Kind, st.PredicateType, true); err == nil {
				files = append(files, w)
			}
			continue
		}
		if failed == nil {
			failed = r.err
		}
		if !errors.Is(r.err, os.ErrExist) {
			if werr := fsutil.CreateExclusive(r.path, st.JSON, 0o644); werr != nil {
				return files, fmt.Errorf("signing failed (%v) and the unsigned statement could not be kept: %w", r.err, werr)
			}
			written.add(r.path)
			fmt.Fprintf(stderr, "mlattest: kept UNSIGNED statement %s\n", r.path)
			if w, err := newWrittenFile(r.path, st.Kind, st.PredicateType, false); err == nil {
				files = append(files, w)
			}
		}
	}
	if failed != nil {
		return files, fmt.Errorf("%w\nmlattest: the step's statements are kept unsigned in %s; finish with: mlattest sign %s", failed, out, out)
	}
	return files, nil
}

// store is storeRecord into --out, then, with --json, the object saying
// what was written on stdout (also when signing failed: the unsigned files
// are listed).
func (f *stepFlags) store(ctx context.Context, stdout io.Writer, signer *sign.Signer, rec *attest.Record, stderr io.Writer, written *outFiles) error {
	files, err := storeRecord(ctx, signer, rec, f.out, stderr, written)
	if f.jsonOut {
		if jerr := printStepJSON(stdout, rec, signer, files, err); err == nil {
			err = jerr
		}
	}
	return err
}

// printStepJSON writes run's or attest's --json object; storeErr is
// storeRecord's error, reported in the object too.
func printStepJSON(w io.Writer, rec *attest.Record, signer *sign.Signer, files []writtenFile, storeErr error) error {
	r := stepJSON{
		Step: rec.Step, RunID: rec.RunID, ExitCode: rec.ExitCode, Signer: signer.Identity(),
		Materials: len(rec.Materials), Products: len(rec.Products), Files: files,
	}
	if r.Files == nil {
		r.Files = []writtenFile{}
	}
	if storeErr != nil {
		r.Error = strings.SplitN(storeErr.Error(), "\n", 2)[0]
	}
	return writeJSON(w, r)
}

// attestFlagHint names the flag that answers a step error the library
// reports by sentinel (it knows options, not flags).
func attestFlagHint(err error) error {
	switch {
	case errors.Is(err, attest.ErrPickleInput):
		return fmt.Errorf("%w (pass --allow-pickle to accept it)", err)
	case errors.Is(err, attest.ErrPinsWithoutBaseModel):
		return fmt.Errorf("%w (give --base-model)", err)
	}
	return err
}
