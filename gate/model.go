package gate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/layouts"
	"github.com/mlattest/mlattest/predicates"
)

// ModelFiles is the released model, hashed.
type ModelFiles struct {
	Path string
	// Dir: Path is a directory and Files are named relative to it;
	// otherwise one file named by its base name.
	Dir   bool
	Files []digest.Artifact
	// Digests holds, by file name, further digests (sha384, sha512) when
	// a product asks for them; see hashAlgorithms.
	Digests map[string]DigestSet
	// given: the files are not on disk (LayoutOptions.ModelDigests), so no
	// further digest can be computed.
	given bool
}

// modelFiles is a model given by its digests, as a released directory.
// A file's name is judged by the subject check, as a hashed tree's names
// are (a bad name is a verification failure there); a digest that is not
// a SHA-256 in lowercase hex is an input error.
func (d *ModelDigests) modelFiles() (*ModelFiles, error) {
	if d.Path == "" {
		return nil, errors.New("gate: ModelDigests.Path is empty: name the model (e.g. its oci:// reference)")
	}
	if len(d.Files) == 0 {
		return nil, fmt.Errorf("model %s: no files", d.Path)
	}
	for _, f := range d.Files {
		if err := predicates.CheckDigestSet(fmt.Sprintf("model %s: file %q", d.Path, f.Name), map[string]string{"sha256": f.SHA256}); err != nil {
			return nil, err
		}
	}
	return &ModelFiles{Path: d.Path, Dir: true, Files: slices.Clone(d.Files), given: true}, nil
}

// HashModel hashes the released model: a file, or every file under a
// directory (nothing ignored, symbolic links refused, as `mlattest run`
// records products). Failing to read it is an input error; a tree holding
// anything but regular files and directories (a symbolic link, FIFO,
// socket or device, or a name that is not UTF-8) is a *ModelTreeError
// (errors.Is ErrModelTree), returned with the ModelFiles of its regular
// files, so that the failure can be reported and recorded. No special file
// is ever opened for reading.
func HashModel(ctx context.Context, path string, opts ...digest.Option) (*ModelFiles, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, fsutil.Cause(err))
	}
	m := &ModelFiles{Path: path, Dir: st.IsDir()}
	opts = append([]digest.Option{digest.WithIgnore()}, opts...)
	if m.Dir {
		m.Files, err = digest.Paths(ctx, path, []string{"."}, opts...)
		if isTreeError(err) {
			return hashHostileTree(ctx, path, opts)
		}
	} else {
		if !st.Mode().IsRegular() {
			return m, &ModelTreeError{Model: path, Entries: []ModelEntry{{Name: filepath.Base(path), Kind: digest.KindName(st.Mode())}}}
		}
		var a digest.Artifact
		a, err = digest.File(ctx, path, opts...)
		a.Name = filepath.Base(path)
		m.Files = []digest.Artifact{a}
	}
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	if len(m.Files) == 0 {
		return nil, fmt.Errorf("model %s: no files", path)
	}
	return m, nil
}

// ErrModelTree: the released model holds something other than regular
// files and directories. It is a verification failure (FailModelTree), not
// an input error: the tree was read, and it is not a release.
var ErrModelTree = errors.New("the released model holds a file that is not a regular file")

// ModelTreeError names every entry of the released model that is not a
// regular file or a directory.
type ModelTreeError struct {
	Model   string
	Entries []ModelEntry
}

// ModelEntry is one such entry: its name relative to the model directory
// and what it is ("symbolic link", "named pipe (FIFO)", "socket", ...).
type ModelEntry struct {
	Name, Kind string
}

func (e *ModelTreeError) Error() string {
	names := make([]string, 0, min(len(e.Entries), 5))
	for i, en := range e.Entries {
		if i == 5 {
			names = append(names, fmt.Sprintf("… %d more", len(e.Entries)-5))
			break
		}
		names = append(names, en.Name+" ("+en.Kind+")")
	}
	return fmt.Sprintf("model %s: %v: %s", e.Model, ErrModelTree, strings.Join(names, ", "))
}

func (e *ModelTreeError) Unwrap() error { return ErrModelTree }

// failures are the report's failures for the tree, one per entry.
func (e *ModelTreeError) failures() []Failure {
	out := make([]Failure, 0, len(e.Entries))
	for _, en := range e.Entries {
		out = append(out, Failure{Code: FailModelTree, Artifact: en.Name,
			Reason: fmt.Sprintf("the released model %s holds a %s: a release is regular files and directories only", e.Model, en.Kind)})
	}
	return out
}

// report adds the tree's failures to r (nothing for a nil tree): the
// subject check cannot pass on such a tree.
func (e *ModelTreeError) report(r *Report) {
	if e != nil {
		r.Failures = append(r.Failures, e.failures()...)
		r.Subject.Passed = false
	}
	r.finish()
}

// isTreeError reports whether a digest error is about what a file is (as
// opposed to reading it).
func isTreeError(err error) bool {
	for _, s := range []error{digest.ErrSymlink, digest.ErrSymlinkEscapes, digest.ErrSymlinkLoop, digest.ErrSpecialFile, digest.ErrBadName} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// hashHostileTree lists every entry of a model directory that is not a
// regular file or directory (the digest walk stops at the first) without
// following links or opening anything, and hashes the regular files.
func hashHostileTree(ctx context.Context, root string, opts []digest.Option) (*ModelFiles, error) {
	tree := &ModelTreeError{Model: root}
	var regular []string
	real, err := filepath.EvalSymlinks(root) // the model path itself may be a link, as for digest
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", root, err)
	}
	err = filepath.WalkDir(real, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(real, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		switch t := d.Type(); {
		case !utf8.ValidString(name):
			tree.Entries = append(tree.Entries, ModelEntry{Name: strings.ToValidUTF8(name, "\ufffd"), Kind: "file whose name is not UTF-8"})
			if d.IsDir() {
				return filepath.SkipDir
			}
		case t.IsDir():
		case t.IsRegular():
			regular = append(regular, name)
		default:
			tree.Entries = append(tree.Entries, ModelEntry{Name: name, Kind: digest.KindName(t)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", root, err)
	}
	m := &ModelFiles{Path: root, Dir: true}
	if len(regular) > 0 {
		if m.Files, err = digest.Paths(ctx, root, regular, opts...); err != nil {
			return nil, fmt.Errorf("model %s: %w", root, err)
		}
	}
	if len(tree.Entries) == 0 {
		// Replaced between the walks; whatever it is now, it is not
		// the tree that failed.
		return nil, fmt.Errorf("model %s: changed while it was read", root)
	}
	return m, tree
}

// hashAlgorithms hashes the released files again with each algorithm of
// algs other than sha256 (which HashModel computed), once per file for all
// of them: only when a product of the subject step lists such a digest, and
// only for files on disk.
func (m *ModelFiles) hashAlgorithms(ctx context.Context, algs []string) error {
	var extra []string
	for _, alg := range algs {
		if _, known := predicates.DigestAlgorithms[alg]; known && alg != "sha256" && !slices.Contains(extra, alg) {
			extra = append(extra, alg)
		}
	}
	if len(extra) == 0 || m.given {
		return nil
	}
	if m.Digests == nil {
		m.Digests = map[string]DigestSet{}
	}
	for _, f := range m.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := m.Path
		if m.Dir {
			p = filepath.Join(m.Path, filepath.FromSlash(f.Name))
		}
		sums, err := fileDigests(p, extra)
		if err != nil {
			return fmt.Errorf("model %s: %w", m.Path, err)
		}
		d := DigestSet{"sha256": f.SHA256}
		maps.Copy(d, sums)
		m.Digests[f.Name] = d
	}
	return nil
}

// digestsOf is a released file's digest set: sha256, and what
// hashAlgorithms added.
func (m *ModelFiles) digestsOf(f digest.Artifact) DigestSet {
	if d, ok := m.Digests[f.Name]; ok {
		return d
	}
	return DigestSet{"sha256": f.SHA256}
}

// subjectAlgorithms lists the digest algorithms the subject step's links
// give their products, for hashAlgorithms.
func subjectAlgorithms(l *layouts.Layout, ev *Evidence) []string {
	set := map[string]bool{}
	for _, vs := range ev.Statements {
		if vs.Statement.GetPredicateType() != predicates.LinkV03 {
			continue
		}
		if b, err := predicates.BindingOf(vs.Statement); err != nil || b.Step != l.Subject.Step {
			continue
		}
		for _, rd := range vs.Statement.GetSubject() {
			for alg := range rd.GetDigest() {
				set[alg] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// checkSubject requires the released files to be exactly the subject step's
// products selected by the subject patterns, one to one: each released file
// named exactly as its product relative to the subject root (subjectRoot),
// with every digest the product lists. A released single file is compared
// with the one selected product by base name (it has no tree to be
// relative to). Names are never cleaned: a name that is not a clean
// relative path is a failure of its own.
func checkSubject(r *Report, l *layouts.Layout, arts map[string]StepArtifacts, m *ModelFiles) {
	rule := "subject " + l.Subject.Step
	r.Subject.Step = l.Subject.Step
	fail := func(artifact, format string, args ...any) {
		r.fail(Failure{Code: FailSubject, Step: l.Subject.Step, Rule: rule, Artifact: artifact, Reason: fmt.Sprintf(format, args...)})
	}
	if m == nil {
		fail("", "no released model given")
		return
	}
	r.Subject.Model = m.Path
	for _, f := range m.Files {
		r.Subject.Files = append(r.Subject.Files, f.Name)
	}
	sa, ok := arts[l.Subject.Step]
	if !ok {
		fail("", "step %s has no verified link, so it has no products to compare the model with", l.Subject.Step)
		return
	}
	patterns := l.Subject.Patterns
	if len(patterns) == 0 {
		patterns = []string{"*"}
	}
	matchers := make([][]globTok, 0, len(patterns))
	for _, p := range patterns {
		toks, err := compileGlob(p)
		if err != nil {
			fail("", "subject pattern %q: %v", p, err)
			return
		}
		matchers = append(matchers, toks)
	}
	root := subjectRoot(patterns)
	r.Subject.Root = root
	before := len(r.Failures)

	// The selected products by the name they are released under.
	byName := map[string]string{}
	for _, n := range slices.Sorted(maps.Keys(sa.Products)) {
		if !slices.ContainsFunc(matchers, func(toks []globTok) bool { return matchToks(toks, n) }) {
			continue
		}
		rel := n
		if root != "" {
			var under bool
			if rel, under = strings.CutPrefix(n, root+"/"); !under {
				fail(n, "product selected by the subject patterns is not under the subject root %s/", root)
				continue
			}
		}
		if !m.Dir {
			rel = path.Base(rel)
		}
		if other, dup := byName[rel]; dup {
			fail(n, "products %s and %s would both be released as %s", other, n, rel)
			continue
		}
		byName[rel] = n
	}
	if len(byName) == 0 && len(r.Failures) == before {
		fail("", "step %s has no products matching %s", l.Subject.Step, strings.Join(patterns, ", "))
	}

	used := map[string]bool{}
	for _, f := range m.Files {
		if err := predicates.CheckPathName(f.Name); err != nil {
			r.fail(Failure{Code: FailArtifactName, Step: l.Subject.Step, Rule: rule, Artifact: f.Name,
				Reason: fmt.Sprintf("released file: %v", err)})
			continue
		}
		n, ok := byName[f.Name]
		switch {
		case !ok:
			fail(f.Name, "released file (sha256:%s) is not a product of step %s (none is named %s)", f.SHA256, l.Subject.Step, joinRoot(root, f.Name))
			continue
		case used[n]:
			fail(f.Name, "released twice as product %s of step %s", n, l.Subject.Step)
			continue
		}
		used[n] = true
		want, got := sa.Products[n], m.digestsOf(f)
		for _, alg := range slices.Sorted(maps.Keys(want)) {
			switch g, ok := got[alg]; {
			case !ok:
				fail(f.Name, "product %s of step %s lists a %s digest, which was not computed for the released file", n, l.Subject.Step, alg)
			case !strings.EqualFold(g, want[alg]):
				fail(f.Name, "released file has %s:%s, but product %s of step %s has %s:%s", alg, g, n, l.Subject.Step, alg, want[alg])
			}
		}
	}
	for _, rel := range slices.Sorted(maps.Keys(byName)) {
		if n := byName[rel]; !used[n] {
			fail(n, "product of step %s (%s) is missing from the released model", l.Subject.Step, sa.Products[n])
		}
	}
	r.Subject.Passed = len(r.Failures) == before
}

// joinRoot is a released name as a product name: root/name, never cleaned.
func joinRoot(root, name string) string {
	if root == "" {
		return name
	}
	return root + "/" + name
}

// subjectRoot is the directory of the step's products that a released
// directory stands for: the longest common directory of the subject
// patterns' literal parts ("release/*" -> "release"; "*" -> "", the step's
// working directory). It comes from the owner's signed layout, never from
// the products a functionary lists, so no product can move it.
func subjectRoot(patterns []string) string {
	var root []string
	for i, p := range patterns {
		lit := p
		if j := strings.IndexAny(p, `*?[\`); j >= 0 {
			lit = p[:j]
		}
		dir := []string{}
		if k := strings.LastIndexByte(lit, '/'); k >= 0 {
			dir = strings.Split(lit[:k], "/")
		}
		if i == 0 {
			root = dir
			continue
		}
		n := 0
		for n < len(root) && n < len(dir) && root[n] == dir[n] {
			n++
		}
		root = root[:n]
	}
	return strings.Join(root, "/")
}
