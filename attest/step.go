// Package attest runs or records one pipeline step and builds its unsigned
// in-toto statements: always a link v0.3 statement, and a SLSA provenance v1
// training statement when training inputs (base model, dataset, config or
// container image) are given. Signing is done elsewhere (package sign).
//
// Run digests the materials and training inputs first, so that bad input
// fails before the command runs; then runs the command with stdio passed
// through, signals forwarded and the exit code recorded; then digests the
// products. Record does the same for a step that ran elsewhere.
//
// Errors wrap ErrInput (nothing ran, write nothing) or ErrRecord (the command
// ran but could not be recorded). A command that fails is not an error: the
// statements record its exit code.
package attest

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/sandbox"
)

// Step describes one pipeline step to run or record.
type Step struct {
	// Name is the step name ([A-Za-z0-9][A-Za-z0-9._-]*, at most 128 bytes);
	// it becomes part of file names, hence the restricted alphabet.
	Name string
	// RunID binds the statements to one pipeline run. When empty it is
	// resolved as documented on ResolveRunID.
	RunID string
	// Dir is the working directory of the command and the root that material
	// and product names are relative to. Default: the current directory.
	Dir string
	// Materials and Products are paths (files or directories) inside Dir,
	// or storage locations (s3://BUCKET/PREFIX, gs://BUCKET/PREFIX,
	// file:///DIR) whose objects are recorded by URI (see package store).
	Materials, Products []string
	// BaseModels and Datasets may live anywhere; they are named by URI.
	BaseModels []Input
	Datasets   []DatasetInput
	// Config is the training config file (a path; named relative to Dir
	// when inside it).
	Config string
	// Image is the container image the step ran in: REF@sha256:HEX.
	Image string
	// Command is the command to run (Run) or that was run (Record).
	Command []string
	// Hyperparameters are recorded verbatim in the training provenance.
	Hyperparameters map[string]any
	// Network is the network policy, as sandbox.ParseNetwork reads it:
	// "none" or "allow=ADDR:PORT,...". Run enforces it: the command runs in
	// a network namespace of its own (package sandbox), and the policy and
	// the refused connection attempts are recorded (Record.Isolation). Attest
	// records it as asserted by the caller (Enforced false). Empty: the
	// network is not restricted and nothing is recorded.
	Network string
	// DigestOptions are passed to every digest call (ignore patterns,
	// symlink policy, workers, progress).
	DigestOptions []digest.Option
	// ManifestThreshold: a top-level directory with more files than this is
	// recorded in the statements as one directory manifest (see
	// predicates.CollapseArtifacts; Record.Manifests holds the files to
	// store beside the bundles). 0 means predicates.DefaultManifestThreshold;
	// below 0, never.
	ManifestThreshold int
}

// Input is a training input named by URI (e.g. hf://org/model@rev) whose
// bytes are at Path (a file, or a directory: one resource per file).
type Input struct {
	URI  string
	Path string
}

// DatasetInput is a dataset input with its collection facts.
type DatasetInput struct {
	Input
	// CollectedAt is an RFC 3339 date (2006-01-02) or date-time; optional.
	CollectedAt string
	// SourceClass is one of predicates.SourceClasses; optional.
	SourceClass string
}

// Image is a container image pinned by digest.
type Image struct {
	Ref    string // registry/repo[:tag], without the digest
	SHA256 string // lowercase hex
}

// URI is the image's oci:// name (without the digest, which is recorded
// separately).
func (i Image) URI() string { return "oci://" + i.Ref }

var (
	stepNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	runIDRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,254}$`)
	schemeRE   = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*$`)
	sha256RE   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	imageRefRE = regexp.MustCompile(`^[a-z0-9]([a-zA-Z0-9._:/-]*[a-zA-Z0-9])?$`)
)

// ParseInput parses a --base-model value, URI=PATH. The URI needs a scheme
// and must not contain '='; the path must be non-empty.
func ParseInput(s string) (Input, error) {
	in, err := parseInput(s)
	if err != nil {
		return Input{}, fmt.Errorf("%w: %q: %w", ErrInput, s, err)
	}
	return in, nil
}

func parseInput(s string) (Input, error) {
	uri, path, ok := strings.Cut(s, "=")
	if !ok {
		return Input{}, errors.New("want URI=PATH")
	}
	if err := checkURI(uri); err != nil {
		return Input{}, err
	}
	if path == "" {
		return Input{}, errors.New("empty PATH after '='")
	}
	return Input{URI: uri, Path: path}, nil
}

func checkURI(uri string) error {
	if uri == "" {
		return errors.New("empty URI before '='")
	}
	if strings.ContainsAny(uri, " \t\r\n") {
		return fmt.Errorf("URI %q contains white space", uri)
	}
	u, err := url.Parse(uri)
	if err != nil {
		return fmt.Errorf("URI %q: %w", uri, err)
	}
	if u.Scheme == "" || !schemeRE.MatchString(u.Scheme) {
		return fmt.Errorf("URI %q has no scheme (want e.g. hf://org/model@rev)", uri)
	}
	if u.User != nil {
		// Statements are public; credentials in a URI would be published.
		return fmt.Errorf("URI %q contains user information", uri)
	}
	return nil
}

// ParseDataset parses a --dataset value,
// URI=PATH[,collected=DATE][,source=CLASS]. Options may appear in any order,
// each at most once; PATH therefore cannot contain ','.
func ParseDataset(s string) (DatasetInput, error) {
	d, err := parseDataset(s)
	if err != nil {
		return DatasetInput{}, fmt.Errorf("%w: dataset %q: %w", ErrInput, s, err)
	}
	return d, nil
}

func parseDataset(s string) (DatasetInput, error) {
	parts := strings.Split(s, ",")
	in, err := parseInput(parts[0])
	if err != nil {
		return DatasetInput{}, err
	}
	d := DatasetInput{Input: in}
	seen := map[string]bool{}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return DatasetInput{}, fmt.Errorf("option %q: want collected=DATE or source=CLASS", p)
		}
		if seen[k] {
			return DatasetInput{}, fmt.Errorf("option %q given twice", k)
		}
		seen[k] = true
		switch k {
		case "collected":
			if err := checkDate(v); err != nil {
				return DatasetInput{}, err
			}
			d.CollectedAt = v
		case "source":
			if err := checkSourceClass(v); err != nil {
				return DatasetInput{}, err
			}
			d.SourceClass = v
		default:
			return DatasetInput{}, fmt.Errorf("unknown option %q (want collected or source)", k)
		}
	}
	return d, nil
}

func checkDate(v string) error {
	if _, err := time.Parse(time.DateOnly, v); err == nil {
		return nil
	}
	if _, err := time.Parse(time.RFC3339, v); err == nil {
		return nil
	}
	return fmt.Errorf("collected date %q is not an RFC 3339 date (2006-01-02) or date-time (2006-01-02T15:04:05Z)", v)
}

func checkSourceClass(v string) error {
	if slices.Contains(predicates.SourceClasses, v) {
		return nil
	}
	return fmt.Errorf("source class %q is not one of %s", v, strings.Join(predicates.SourceClasses, ", "))
}

// ParseImage parses an --image value, REF@sha256:HEX (an optional oci://
// prefix is accepted). A tag alone is refused: only a digest pins an image.
func ParseImage(s string) (Image, error) {
	img, err := parseImage(s)
	if err != nil {
		return Image{}, fmt.Errorf("%w: image %q: %w", ErrInput, s, err)
	}
	return img, nil
}

func parseImage(s string) (Image, error) {
	ref, dg, ok := strings.Cut(strings.TrimPrefix(s, "oci://"), "@")
	if !ok {
		return Image{}, errors.New("want REF@sha256:HEX (a tag does not pin an image)")
	}
	if ref == "" || !imageRefRE.MatchString(ref) {
		return Image{}, fmt.Errorf("image reference %q is not a valid registry/repository[:tag]", ref)
	}
	hex, ok := strings.CutPrefix(dg, "sha256:")
	if !ok || !sha256RE.MatchString(hex) {
		return Image{}, fmt.Errorf("digest %q is not sha256: followed by 64 lowercase hex digits", dg)
	}
	return Image{Ref: ref, SHA256: hex}, nil
}

// Validate checks everything that can be checked before the command runs:
// step name, run id (when set), that materials, inputs and config exist and
// are readable, that materials and products lie inside Dir, input URIs,
// dataset dates and source classes, the image digest, and that the command
// can be found. Every error wraps ErrInput and names the offending value.
// Digesting (Run, Record) checks file contents and symlinks more deeply.
func (s *Step) Validate() error {
	_, err := s.resolve(false)
	return err
}

// resolved is a validated, normalised copy of a Step.
type resolved struct {
	*Step
	dir     string // absolute
	image   *Image
	network *sandbox.Policy
}

func inputErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInput}, a...)...)
}

func (s *Step) resolve(needCommand bool) (*resolved, error) {
	if !stepNameRE.MatchString(s.Name) {
		return nil, inputErr("step name %q: want letters, digits, '.', '_', '-' (starting with a letter or digit, at most 128)", s.Name)
	}
	if s.RunID != "" && !runIDRE.MatchString(s.RunID) {
		return nil, inputErr("run id %q: want letters, digits and ._:/@+- (at most 255)", s.RunID)
	}
	dir := s.Dir
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, inputErr("working directory %q: %w", dir, err)
	}
	if fi, err := os.Stat(abs); err != nil {
		return nil, inputErr("working directory: %w", err)
	} else if !fi.IsDir() {
		return nil, inputErr("working directory %s is not a directory", abs)
	}
	r := &resolved{Step: s, dir: abs}

	if len(s.Materials) == 0 && len(s.Products) == 0 {
		return nil, inputErr("step %q has neither materials nor products: a statement needs a subject", s.Name)
	}
	for _, m := range s.Materials {
		if isLocation(m) {
			if err := checkLocation(m); err != nil {
				return nil, inputErr("material %q: %w", m, err)
			}
			continue
		}
		p, err := r.inside(m)
		if err != nil {
			return nil, inputErr("material %q: %w", m, err)
		}
		if err := checkReadable(p); err != nil {
			return nil, inputErr("material %q: %w", m, err)
		}
	}
	for _, p := range s.Products {
		if isLocation(p) {
			if err := checkLocation(p); err != nil {
				return nil, inputErr("product %q: %w", p, err)
			}
			continue
		}
		if _, err := r.inside(p); err != nil {
			return nil, inputErr("product %q: %w", p, err)
		}
	}
	for _, b := range s.BaseModels {
		if err := checkURI(b.URI); err != nil {
			return nil, inputErr("base model %q: %w", b.URI, err)
		}
		// A Hugging Face revision that is a branch or tag names whatever
		// it points to today: record only commits.
		if strings.HasPrefix(b.URI, "hf://") {
			if _, _, err := predicates.ParseHFURI(b.URI); err != nil {
				return nil, inputErr("%w", err)
			}
		}
		if err := checkReadable(r.abs(b.Path)); err != nil {
			return nil, inputErr("base model %q: %s: %w", b.URI, b.Path, err)
		}
	}
	for _, d := range s.Datasets {
		if err := checkURI(d.URI); err != nil {
			return nil, inputErr("dataset %q: %w", d.URI, err)
		}
		if d.CollectedAt != "" {
			if err := checkDate(d.CollectedAt); err != nil {
				return nil, inputErr("dataset %q: %w", d.URI, err)
			}
		}
		if d.SourceClass != "" {
			if err := checkSourceClass(d.SourceClass); err != nil {
				return nil, inputErr("dataset %q: %w", d.URI, err)
			}
		}
		if err := checkReadable(r.abs(d.Path)); err != nil {
			return nil, inputErr("dataset %q: %s: %w", d.URI, d.Path, err)
		}
	}
	if s.Config != "" {
		p := r.abs(s.Config)
		if err := checkReadable(p); err != nil {
			return nil, inputErr("config %s: %w", s.Config, err)
		}
		if fi, err := os.Stat(p); err == nil && !fi.Mode().IsRegular() {
			return nil, inputErr("config %s is not a regular file", s.Config)
		}
	}
	if s.Image != "" {
		img, err := parseImage(s.Image)
		if err != nil {
			return nil, inputErr("image %q: %w", s.Image, err)
		}
		r.image = &img
	}
	if s.Network != "" {
		p, err := sandbox.ParseNetwork(s.Network)
		if err != nil {
			return nil, inputErr("step %q: %w", s.Name, err)
		}
		r.network = &p
	}
	if needCommand && len(s.Command) == 0 {
		return nil, inputErr("step %q: no command to run", s.Name)
	}
	if needCommand || len(s.Command) > 0 {
		if len(s.Command) == 0 || s.Command[0] == "" {
			return nil, inputErr("step %q: empty command", s.Name)
		}
	}
	if needCommand {
		if err := r.lookCommand(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// abs resolves p against the working directory.
func (r *resolved) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(r.dir, p)
}

// inside resolves p and refuses a path lexically outside the working
// directory (symlinks are checked by digest when the tree is walked).
func (r *resolved) inside(p string) (string, error) {
	if p == "" {
		return "", errors.New("empty path")
	}
	a := r.abs(p)
	rel, err := filepath.Rel(r.dir, a)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is outside the working directory %s", a, r.dir)
	}
	return a, nil
}

// checkReadable says whether p exists and can be opened for reading.
//
// Callers name the input as the user gave it, so errors carry only the
// cause ("no such file or directory"), not the absolute path or system call.
func checkReadable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return fsutil.Cause(err)
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		return errors.New("not a regular file or directory")
	}
	f, err := os.Open(p)
	if err != nil {
		return fsutil.Cause(err)
	}
	defer f.Close()
	if fi.IsDir() {
		if _, err := f.ReadDir(1); err != nil && !errors.Is(err, io.EOF) {
			return fsutil.Cause(err)
		}
	}
	return nil
}

// lookCommand finds the program as exec would, relative to the working
// directory when the name contains a separator.
func (r *resolved) lookCommand() error {
	name := r.Command[0]
	if strings.ContainsRune(name, filepath.Separator) {
		p := r.abs(name)
		fi, err := os.Stat(p)
		if err != nil {
			return inputErr("command %q: %w", name, err)
		}
		if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return inputErr("command %q: %s is not an executable file", name, p)
		}
		return nil
	}
	if _, err := exec.LookPath(name); err != nil {
		return inputErr("command %q: %w", name, err)
	}
	return nil
}
