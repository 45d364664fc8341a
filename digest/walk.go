package digest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// maxHops bounds the links followed while resolving one path, as the
// kernel's MAXSYMLINKS does.
const maxHops = 40

// walker collects the regular files below the path arguments.
type walker struct {
	root string // absolute and clean, as given: used for lexical checks
	real string // root with every symbolic link resolved: all reads go below it

	rootComps, realComps []string
	policy               SymlinkPolicy
	ign                  ignoreList
	seen                 map[string]struct{} // by name, so overlapping arguments give one entry
	active               map[string]bool
	// emit receives each new file as it is found: hashing starts while the
	// walk goes on.
	emit func(job)
	// needSize makes the walker Lstat every file, for the progress total;
	// otherwise the directory entry's type is enough and the hasher's fstat
	// gives the size.
	needSize bool
	// single: there is one path argument, so no name can repeat.
	single bool
	// flush, if set, is called after each directory read, so that files
	// batched by emit reach the workers without waiting for a full batch.
	flush func()
}

func newWalker(root string, policy SymlinkPolicy, ign ignoreList, emit func(job)) (*walker, error) {
	if root == "" {
		root = "."
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, pathErr(root, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, pathErr(root, err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil, pathErr(root, err)
	}
	if !fi.IsDir() {
		return nil, &PathError{Path: root, Err: errors.New("root is not a directory")}
	}
	return &walker{
		root: abs, real: real, policy: policy, ign: ign,
		rootComps: components(abs), realComps: components(real),
		seen: map[string]struct{}{}, active: map[string]bool{}, emit: emit,
	}, nil
}

// within returns target relative to base if target is at or below base.
func within(base, target string) (string, bool) {
	rel, err := filepath.Rel(base, target)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return rel, true
}

// stripPrefix returns comps without the leading components prefix, skipping
// empty and "." components; false if comps does not start with prefix.
func stripPrefix(prefix, comps []string) ([]string, bool) {
	i := 0
	for _, c := range prefix {
		for i < len(comps) && (comps[i] == "" || comps[i] == ".") {
			i++
		}
		if i == len(comps) || comps[i] != c {
			return nil, false
		}
		i++
	}
	return comps[i:], true
}

// components splits a clean absolute OS path; the file system root has none.
func components(p string) []string {
	var out []string
	for _, c := range split(p) {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

// split turns an OS path into its components.
func split(p string) []string {
	return strings.Split(filepath.ToSlash(p), "/")
}

func checkName(name string) error {
	if !utf8.ValidString(name) {
		return &PathError{Path: name, Err: ErrBadName}
	}
	return nil
}

// add collects the files at or below the path argument p.
func (w *walker) add(ctx context.Context, p string) error {
	if p == "" {
		return &PathError{Path: p, Err: errors.New("empty path")}
	}
	abs := filepath.Clean(p)
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(w.root, p)
	}
	rel, ok := within(w.root, abs)
	if !ok {
		// An absolute path may spell the root's resolved form.
		if rel, ok = within(w.real, abs); !ok {
			return &PathError{Path: p, Err: ErrOutsideRoot}
		}
	}
	name := filepath.ToSlash(rel)
	if err := checkName(name); err != nil {
		return err
	}
	var comps []string
	if rel != "." {
		comps = split(rel)
	}
	realRel, fi, err := w.resolve(nil, comps, name)
	if err != nil {
		return err
	}
	return w.visit(ctx, name, realRel, fi.Mode(), fi.Size(), "")
}

// visit adds a resolved entry: a file, or a directory to walk. size is -1
// when not looked at; osPath is the entry's OS path when already known.
func (w *walker) visit(ctx context.Context, name string, realRel []string, mode fs.FileMode, size int64, osPath string) error {
	switch {
	case mode.IsDir():
		return w.walkDir(ctx, name, realRel)
	case mode.IsRegular():
		// One argument's walk never yields a name twice; only overlapping
		// arguments need the set (a map of every name costs ~10% on a
		// tree of small files).
		if osPath == "" {
			osPath = w.osPath(realRel)
		}
		if w.single {
			w.emit(job{name: name, path: osPath, size: size})
			return nil
		}
		if _, dup := w.seen[name]; !dup {
			w.seen[name] = struct{}{}
			w.emit(job{name: name, path: osPath, size: size})
		}
		return nil
	}
	return kindErr(name, mode)
}

func (w *walker) osPath(realRel []string) string {
	return filepath.Join(append([]string{w.real}, realRel...)...)
}

// walkDir walks the directory named name, found at realRel below the real root.
func (w *walker) walkDir(ctx context.Context, name string, realRel []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	key := strings.Join(realRel, "/")
	if w.active[key] {
		return &PathError{Path: name, Err: fmt.Errorf("%w: directory %q is already being walked", ErrSymlinkLoop, "./"+key)}
	}
	w.active[key] = true
	defer delete(w.active, key)

	dirPath := w.osPath(realRel)
	entries, err := os.ReadDir(dirPath) // sorted by name
	if err != nil {
		return pathErr(name, err)
	}
	if w.flush != nil {
		defer w.flush()
	}
	for _, e := range entries {
		cname := e.Name()
		if name != "." {
			cname = name + "/" + cname
		}
		if err := checkName(cname); err != nil {
			return err
		}
		var (
			crel   []string
			mode   fs.FileMode
			size   int64 = -1
			osPath string
		)
		if e.Type()&fs.ModeSymlink != 0 {
			// Decided before looking at the target, so an ignored link is
			// never followed and never an error.
			if w.ign.match(cname, false) || w.ign.match(cname, true) {
				continue
			}
			var fi fs.FileInfo
			crel, fi, err = w.resolve(realRel, []string{e.Name()}, cname)
			if err != nil {
				return err
			}
			mode, size = fi.Mode(), fi.Size()
		} else {
			if w.ign.match(cname, e.IsDir()) {
				continue
			}
			// The entry's type comes with the directory listing; one Lstat
			// per file is only worth it when a progress bar needs sizes.
			mode = e.Type()
			if w.needSize && mode.IsRegular() {
				fi, err := e.Info()
				if err != nil {
					return pathErr(cname, err)
				}
				mode, size = fi.Mode(), fi.Size()
			}
			if mode.IsDir() {
				crel = append(realRel[:len(realRel):len(realRel)], e.Name())
			}
			osPath = dirPath + string(filepath.Separator) + e.Name()
		}
		if err := w.visit(ctx, cname, crel, mode, size, osPath); err != nil {
			return err
		}
	}
	return nil
}

// resolve walks comps from start (components below the real root), applying
// the symlink policy to every link met, and returns the resolved components
// and the final entry's Lstat. Every hop is kept inside the root: a ".."
// above it or an absolute target outside it is ErrSymlinkEscapes. name is
// the entry's Artifact name, for errors.
func (w *walker) resolve(start, comps []string, name string) ([]string, fs.FileInfo, error) {
	stack := append([]string(nil), start...)
	pending := append([]string(nil), comps...)
	hops := 0
	lastLink := "" // the link whose target is being resolved, for errors
	var fi fs.FileInfo
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) == 0 {
				// Only a link's target can get here: arguments were cleaned
				// and checked against the root first.
				return nil, nil, &PathError{Path: name, Err: fmt.Errorf("%w: target of %s goes above the root", ErrSymlinkEscapes, lastLink)}
			}
			stack = stack[:len(stack)-1]
			fi = nil
			continue
		}
		here := append(stack, c)
		p := w.osPath(here)
		var err error
		fi, err = os.Lstat(p)
		if err != nil {
			return nil, nil, pathErr(name, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			stack = here
			continue
		}
		link := strings.Join(here, "/")
		lastLink = link
		if w.policy != SymlinksFollowInside {
			return nil, nil, &PathError{Path: name, Err: fmt.Errorf("%w: %s", ErrSymlink, link)}
		}
		if hops++; hops > maxHops {
			return nil, nil, &PathError{Path: name, Err: fmt.Errorf("%w: more than %d links followed", ErrSymlinkLoop, maxHops)}
		}
		target, err := os.Readlink(p)
		if err != nil {
			return nil, nil, pathErr(name, err)
		}
		if filepath.IsAbs(target) {
			// Not cleaned: "/root/../root/x" would hide a step outside.
			rest, ok := stripPrefix(w.realComps, split(target))
			if !ok {
				rest, ok = stripPrefix(w.rootComps, split(target))
			}
			if !ok {
				return nil, nil, &PathError{Path: name, Err: fmt.Errorf("%w: %s -> %s", ErrSymlinkEscapes, link, target)}
			}
			stack = stack[:0]
			target = strings.Join(rest, "/")
		}
		// Relative targets are resolved from the link's directory; their
		// ".." steps are checked one by one above.
		pending = append(split(target), pending...)
		fi = nil
	}
	if fi == nil {
		var err error
		if fi, err = os.Lstat(w.osPath(stack)); err != nil {
			return nil, nil, pathErr(name, err)
		}
	}
	return stack, fi, nil
}
