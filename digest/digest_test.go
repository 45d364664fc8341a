package digest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// entry describes one thing in a test tree: a file with content, an empty
// directory (dir), or a symbolic link (link is its target, verbatim).
type entry struct {
	content string
	dir     bool
	link    string
}

func file(c string) entry    { return entry{content: c} }
func symlink(t string) entry { return entry{link: t} }

// makeTree creates the entries below root; names are slash paths.
func makeTree(t testing.TB, root string, tree map[string]entry) {
	t.Helper()
	for name, e := range tree {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case e.dir:
			err = os.MkdirAll(p, 0o755)
		case e.link != "":
			err = os.Symlink(e.link, p)
		default:
			err = os.WriteFile(p, []byte(e.content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func art(name, content string) Artifact {
	return Artifact{Name: name, SHA256: sum(content), Size: int64(len(content))}
}

var baseTree = map[string]entry{
	"a.txt":                 file("alpha\n"),
	"empty":                 file(""),
	"sub/b.bin":             file("bravo"),
	"sub/deeper/c.txt":      file("charlie"),
	"sub/deeper/x.tmp":      file("tmp"),
	"sub/cache/d":           file("delta"),
	"cache/e":               file("echo"),
	".git/config":           file("[core]"),
	"sub/.git/HEAD":         file("ref"),
	"data/one.bin":          file("1"),
	"data/nested/two.bin":   file("2"),
	"emptydir":              {dir: true},
	"sub/deeper/.gitignore": file("*.tmp"),
}

func TestPaths(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, baseTree)

	all := []Artifact{
		art("a.txt", "alpha\n"),
		art("cache/e", "echo"),
		art("data/nested/two.bin", "2"),
		art("data/one.bin", "1"),
		art("empty", ""),
		art("sub/b.bin", "bravo"),
		art("sub/cache/d", "delta"),
		art("sub/deeper/.gitignore", "*.tmp"),
		art("sub/deeper/c.txt", "charlie"),
		art("sub/deeper/x.tmp", "tmp"),
	}
	without := func(names ...string) []Artifact {
		var out []Artifact
	next:
		for _, a := range all {
			for _, n := range names {
				if a.Name == n {
					continue next
				}
			}
			out = append(out, a)
		}
		return out
	}
	withGit := append([]Artifact{art(".git/config", "[core]"), art("sub/.git/HEAD", "ref")}, all...)
	sort.Slice(withGit, func(i, j int) bool { return withGit[i].Name < withGit[j].Name })

	tests := []struct {
		name  string
		paths []string
		opts  []Option
		want  []Artifact
	}{
		{"whole tree, default ignore", []string{"."}, nil, all},
		{"absolute root path", []string{root}, nil, all},
		{"no ignore", []string{"."}, []Option{WithIgnore()}, withGit},
		{"glob on base name", []string{"."}, []Option{WithIgnore(".git/", "*.tmp")}, without("sub/deeper/x.tmp")},
		{"dir pattern at any depth", []string{"."}, []Option{WithIgnore(".git/", "cache/")}, without("cache/e", "sub/cache/d")},
		{"dir pattern ignores no file", []string{"."}, []Option{WithIgnore(".git/", "empty/")}, all},
		{"full-path pattern", []string{"."}, []Option{WithIgnore(".git/", "data/*.bin")}, without("data/one.bin")},
		{"full-path dir pattern", []string{"."}, []Option{WithIgnore(".git/", "sub/cache/")}, without("sub/cache/d")},
		{"leading slash is a full-path pattern", []string{"."}, []Option{WithIgnore(".git/", "/cache/")}, without("cache/e")},
		{"charclass", []string{"."}, []Option{WithIgnore(".git/", "[ab].*")}, without("a.txt", "sub/b.bin")},
		{"one file", []string{"sub/b.bin"}, nil, []Artifact{art("sub/b.bin", "bravo")}},
		{"explicit path beats ignore", []string{"sub/deeper/x.tmp"}, []Option{WithIgnore("*.tmp")}, []Artifact{art("sub/deeper/x.tmp", "tmp")}},
		{"explicit ignored dir is walked", []string{".git"}, nil, []Artifact{art(".git/config", "[core]")}},
		{"subdirectory", []string{"data"}, nil, []Artifact{art("data/nested/two.bin", "2"), art("data/one.bin", "1")}},
		{"overlapping paths appear once", []string{"data", "data/one.bin", "./data/nested/../one.bin", "data/nested"},
			nil, []Artifact{art("data/nested/two.bin", "2"), art("data/one.bin", "1")}},
		{"cleaned path", []string{"sub/../a.txt", "./empty"}, nil, []Artifact{art("a.txt", "alpha\n"), art("empty", "")}},
		{"absolute path inside root", []string{filepath.Join(root, "sub", "b.bin")}, nil, []Artifact{art("sub/b.bin", "bravo")}},
		{"empty dir", []string{"emptydir"}, nil, []Artifact{}},
		{"no paths", nil, nil, []Artifact{}},
		{"one worker", []string{"."}, []Option{WithWorkers(1)}, all},
		{"zero workers means default", []string{"."}, []Option{WithWorkers(0)}, all},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Paths(context.Background(), root, tc.paths, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n%v\nwant\n%v", got, tc.want)
			}
		})
	}
}

func TestPathsRelativeRoot(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, map[string]entry{"r/x": file("x")})
	t.Chdir(root)
	for _, r := range []string{"r", "./r", "r/"} {
		got, err := Paths(context.Background(), r, []string{"."})
		if err != nil {
			t.Fatal(err)
		}
		if want := []Artifact{art("x", "x")}; !reflect.DeepEqual(got, want) {
			t.Errorf("root %q: got %v, want %v", r, got, want)
		}
	}
	// An empty root is the current directory.
	got, err := Paths(context.Background(), "", []string{"r"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Artifact{art("r/x", "x")}; !reflect.DeepEqual(got, want) {
		t.Errorf("empty root: got %v, want %v", got, want)
	}
}

func TestRootThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir, map[string]entry{
		"real/f":    file("f"),
		"rootlink":  symlink("real"),
		"real/abs":  symlink(filepath.Join(dir, "rootlink", "f")),
		"real/abs2": symlink(filepath.Join(dir, "real", "f")),
	})
	root := filepath.Join(dir, "rootlink")
	got, err := Paths(context.Background(), root, []string{".", filepath.Join(dir, "real", "f")}, WithSymlinks(SymlinksFollowInside))
	if err != nil {
		t.Fatal(err)
	}
	want := []Artifact{art("abs", "f"), art("abs2", "f"), art("f", "f")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestPathsErrors(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, map[string]entry{"a/f": file("f"), "plain": file("p")})
	outside := t.TempDir()
	makeTree(t, outside, map[string]entry{"secret": file("s")})

	tests := []struct {
		name     string
		root     string
		paths    []string
		opts     []Option
		is       error  // errors.Is target
		mentions string // the error message names this
	}{
		{"parent dir", root, []string{".."}, nil, ErrOutsideRoot, `".."`},
		{"dotdot escape", root, []string{"a/../../x"}, nil, ErrOutsideRoot, "a/../../x"},
		{"absolute outside", root, []string{filepath.Join(outside, "secret")}, nil, ErrOutsideRoot, "secret"},
		{"sibling with common prefix", root, []string{root + "x"}, nil, ErrOutsideRoot, root + "x"},
		{"missing", root, []string{"a/nope"}, nil, fs.ErrNotExist, "a/nope"},
		{"missing among good", root, []string{"a", "nope", "plain"}, nil, fs.ErrNotExist, `"nope"`},
		{"missing root", filepath.Join(root, "nope"), []string{"."}, nil, fs.ErrNotExist, "nope"},
		{"file below a file", root, []string{"plain/x"}, nil, syscall.ENOTDIR, "plain/x"},
		{"bad pattern", root, []string{"."}, []Option{WithIgnore("[")}, path.ErrBadPattern, `"["`},
		{"empty pattern", root, []string{"."}, []Option{WithIgnore("")}, nil, "empty"},
		{"slash pattern", root, []string{"."}, []Option{WithIgnore("/")}, nil, "empty"},
		{"root is a file", filepath.Join(root, "plain"), []string{"."}, nil, nil, "not a directory"},
		{"empty path", root, []string{"plain", ""}, nil, nil, "empty path"},
		{"unknown policy", root, []string{"."}, []Option{WithSymlinks(7)}, nil, "SymlinkPolicy(7)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Paths(context.Background(), tc.root, tc.paths, tc.opts...)
			if err == nil {
				t.Fatalf("no error, got %v", got)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.mentions) {
				t.Errorf("error %q does not mention %q", err, tc.mentions)
			}
		})
	}
}

func TestSymlinks(t *testing.T) {
	outside := t.TempDir()
	makeTree(t, outside, map[string]entry{"secret": file("s"), "back": {dir: true}})
	root := t.TempDir()
	makeTree(t, root, map[string]entry{
		"f":                file("f"),
		"dir/g":            file("g"),
		"ok/tofile":        symlink("../f"),
		"ok/todir":         symlink("../dir"),
		"ok/abs":           symlink(filepath.Join(root, "dir", "g")),
		"chain/1":          symlink("2"),
		"chain/2":          symlink("../chain/3"),
		"chain/3":          symlink("./../f"),
		"chain/viadir":     symlink("../ok/todir/g"),
		"esc/abs":          symlink(filepath.Join(outside, "secret")),
		"esc/rel":          symlink("../../" + filepath.Base(outside) + "/secret"),
		"esc/dotdot":       symlink("../.."),
		"esc/deep":         symlink("../dir/../../x"),
		"esc/chain":        symlink("../esc/abs"),
		"esc/outandback":   symlink(outside + "/back/../../" + filepath.Base(root) + "/f"),
		"esc/root":         symlink("/"),
		"cyc/a":            symlink("b"),
		"cyc/b":            symlink("a"),
		"cyc/self":         symlink("self"),
		"dirloop/sub/up":   symlink(".."),
		"dirloop/sub/x":    file("x"),
		"dirloop2/a/tob":   symlink("../b"),
		"dirloop2/b/toa":   symlink("../a"),
		"dangling/l":       symlink("nothing"),
		"ign/node_modules": symlink(filepath.Join(outside)),
		"ign/k":            file("k"),
		"ign/keep.lnk":     symlink("k"),
		"special/devnull":  symlink("/dev/null"),
		"linkdir":          symlink("dir"),
		"samefile/l1":      symlink("../f"),
		"samefile/l2":      symlink("../f"),
	})

	follow := []Option{WithSymlinks(SymlinksFollowInside)}
	type want struct {
		arts     []Artifact
		is       error
		mentions string
	}
	tests := []struct {
		name  string
		paths []string
		opts  []Option
		want  want
	}{
		{"reject: walked link", []string{"ok"}, nil, want{is: ErrSymlink, mentions: "ok/abs"}},
		{"reject: argument link", []string{"ok/tofile"}, nil, want{is: ErrSymlink, mentions: "ok/tofile"}},
		{"reject: link as a directory on the way", []string{"linkdir/g"}, nil, want{is: ErrSymlink, mentions: "linkdir/g"}},
		{"reject: ignored link is skipped", []string{"ign"}, []Option{WithIgnore("node_modules/", "*.lnk")}, want{arts: []Artifact{art("ign/k", "k")}}},
		{"follow: inside", []string{"ok"}, follow, want{arts: []Artifact{
			art("ok/abs", "g"), art("ok/todir/g", "g"), art("ok/tofile", "f")}}},
		{"follow: argument through a link dir", []string{"linkdir/g"}, follow, want{arts: []Artifact{art("linkdir/g", "g")}}},
		{"follow: chain", []string{"chain"}, follow, want{arts: []Artifact{
			art("chain/1", "f"), art("chain/2", "f"), art("chain/3", "f"), art("chain/viadir", "g")}}},
		{"follow: two links to one file keep their names", []string{"samefile"}, follow, want{arts: []Artifact{
			art("samefile/l1", "f"), art("samefile/l2", "f")}}},
		{"follow: escape absolute", []string{"esc/abs"}, follow, want{is: ErrSymlinkEscapes, mentions: "esc/abs"}},
		{"follow: escape relative", []string{"esc/rel"}, follow, want{is: ErrSymlinkEscapes, mentions: "esc/rel"}},
		{"follow: escape via ..", []string{"esc/dotdot"}, follow, want{is: ErrSymlinkEscapes, mentions: "esc/dotdot"}},
		{"follow: escape via .. after a dir", []string{"esc/deep"}, follow, want{is: ErrSymlinkEscapes, mentions: "esc/deep"}},
		{"follow: link to the root's parent dir is fine when inside", []string{"ok/todir"}, follow, want{arts: []Artifact{art("ok/todir/g", "g")}}},
		{"follow: escape via chain", []string{"esc/chain"}, follow, want{is: ErrSymlinkEscapes, mentions: "esc/chain"}},
		{"follow: out and back in is refused", []string{"esc/outandback"}, follow, want{is: ErrSymlinkEscapes, mentions: "esc/outandback"}},
		{"follow: link to /", []string{"esc/root"}, follow, want{is: ErrSymlinkEscapes, mentions: "esc/root"}},
		{"follow: escape found while walking", []string{"ok", "esc"}, follow, want{is: ErrSymlinkEscapes}},
		{"follow: two-link cycle", []string{"cyc/a"}, follow, want{is: ErrSymlinkLoop, mentions: "cyc/a"}},
		{"follow: self cycle", []string{"cyc/self"}, follow, want{is: ErrSymlinkLoop, mentions: "cyc/self"}},
		{"follow: link to an ancestor", []string{"dirloop"}, follow, want{is: ErrSymlinkLoop, mentions: "dirloop/sub/up"}},
		{"follow: two dirs linking each other", []string{"dirloop2"}, follow, want{is: ErrSymlinkLoop}},
		{"follow: dangling", []string{"dangling"}, follow, want{is: fs.ErrNotExist, mentions: "dangling/l"}},
		{"follow: link to a device outside", []string{"special/devnull"}, follow, want{is: ErrSymlinkEscapes}},
		{"follow: ignored link is not followed", []string{"ign"}, append(follow, WithIgnore("node_modules/")), want{arts: []Artifact{
			art("ign/k", "k"), art("ign/keep.lnk", "k")}}},
		{"follow: name glob skips a link", []string{"ign"}, append(follow, WithIgnore("node_*")), want{arts: []Artifact{
			art("ign/k", "k"), art("ign/keep.lnk", "k")}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Paths(context.Background(), root, tc.paths, tc.opts...)
			if tc.want.is == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tc.want.arts) {
					t.Errorf("got\n%v\nwant\n%v", got, tc.want.arts)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, got %v", got)
			}
			if !errors.Is(err, tc.want.is) {
				t.Errorf("error %q is not %v", err, tc.want.is)
			}
			var pe *PathError
			if !errors.As(err, &pe) {
				t.Errorf("error %q is not a *PathError", err)
			}
			if !strings.Contains(err.Error(), tc.want.mentions) {
				t.Errorf("error %q does not mention %q", err, tc.want.mentions)
			}
		})
	}
}

func TestSpecialFiles(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, map[string]entry{"d/ok": file("ok")})
	if err := syscall.Mkfifo(filepath.Join(root, "d", "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, paths := range [][]string{{"d"}, {"d/fifo"}, {"."}} {
		_, err := Paths(context.Background(), root, paths)
		if !errors.Is(err, ErrSpecialFile) {
			t.Fatalf("%v: error %v is not ErrSpecialFile", paths, err)
		}
		if !strings.Contains(err.Error(), `"d/fifo"`) || !strings.Contains(err.Error(), "FIFO") {
			t.Errorf("%v: error %q does not name the FIFO", paths, err)
		}
	}
	// A device, through a root where one lives.
	if _, err := os.Stat("/dev/null"); err == nil {
		_, err := Paths(context.Background(), "/dev", []string{"null"})
		if !errors.Is(err, ErrSpecialFile) || !strings.Contains(err.Error(), "character device") {
			t.Errorf("/dev/null: error %v", err)
		}
	}
	if _, err := File(context.Background(), filepath.Join(root, "d", "fifo")); !errors.Is(err, ErrSpecialFile) {
		t.Errorf("File(fifo): error %v is not ErrSpecialFile", err)
	}
	// The check on the open file refuses a FIFO that appears after the walk,
	// without blocking on it.
	if _, _, err := hashFile(context.Background(), filepath.Join(root, "d", "fifo"), true, nil); !errors.Is(err, ErrSpecialFile) {
		t.Errorf("hashFile(fifo): error %v is not ErrSpecialFile", err)
	}
}

func TestBadName(t *testing.T) {
	root := t.TempDir()
	bad := "bad\xff"
	if err := os.WriteFile(filepath.Join(root, bad), nil, 0o644); err != nil {
		t.Skipf("file system refuses non-UTF-8 names: %v", err)
	}
	for _, paths := range [][]string{{"."}, {bad}} {
		if _, err := Paths(context.Background(), root, paths); !errors.Is(err, ErrBadName) {
			t.Errorf("%q: error %v is not ErrBadName", paths, err)
		}
	}
}

func TestNamesWithOddCharacters(t *testing.T) {
	root := t.TempDir()
	names := []string{"new\nline", `back\slash`, "sp ace", " lead", "tab\t", "ünï", "-dash", "*star"}
	tree := map[string]entry{}
	for _, n := range names {
		tree["odd/"+n] = file(n)
	}
	makeTree(t, root, tree)
	got, err := Paths(context.Background(), root, []string{"odd"}, WithIgnore())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(names) {
		t.Fatalf("got %d artifacts, want %d", len(got), len(names))
	}
	for _, a := range got {
		n := strings.TrimPrefix(a.Name, "odd/")
		if a.SHA256 != sum(n) {
			t.Errorf("%q: wrong digest", a.Name)
		}
	}
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir, map[string]entry{"sub/model.bin": file("weights"), "link": symlink("sub/model.bin"), "e": file("")})
	tests := []struct {
		path string
		want Artifact
		is   error
	}{
		{filepath.Join(dir, "sub", "model.bin"), art("model.bin", "weights"), nil},
		{filepath.Join(dir, "link"), art("link", "weights"), nil},
		{filepath.Join(dir, "e"), art("e", ""), nil},
		{filepath.Join(dir, "sub"), Artifact{}, ErrSpecialFile},
		{filepath.Join(dir, "missing"), Artifact{}, fs.ErrNotExist},
	}
	for _, tc := range tests {
		got, err := File(context.Background(), tc.path)
		if tc.is != nil {
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.path) {
				t.Errorf("File(%s): error %v, want %v naming the file", tc.path, err, tc.is)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("File(%s) = %v, %v; want %v", tc.path, got, err, tc.want)
		}
	}
}

func TestLargeFileSpansBuffers(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 3*bufSize+12345)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := os.WriteFile(filepath.Join(dir, "big"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(data)
	got, err := Paths(context.Background(), dir, []string{"big"})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].SHA256 != hex.EncodeToString(want[:]) || got[0].Size != int64(len(data)) {
		t.Errorf("got %v", got[0])
	}
}

func TestCancellation(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, map[string]entry{"a/b": file("b"), "c": file("c")})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Paths(ctx, root, []string{"."}); !errors.Is(err, context.Canceled) {
		t.Errorf("Paths: error %v is not context.Canceled", err)
	}
	if _, err := File(ctx, filepath.Join(root, "c")); !errors.Is(err, context.Canceled) {
		t.Errorf("File: error %v is not context.Canceled", err)
	}

	// Cancelled in the middle of a file: hashing stops at the next chunk.
	big := filepath.Join(root, "big")
	if err := os.WriteFile(big, make([]byte, 4*bufSize), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	var read int64
	_, _, err := hashFile(ctx, big, true, func(n int64) { read += n; cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("hashFile: error %v is not context.Canceled", err)
	}
	if read != bufSize {
		t.Errorf("read %d bytes after cancelling, want one chunk (%d)", read, bufSize)
	}

	// Cancelled during the parallel phase, through the progress hook.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	o := buildOptions([]Option{WithProgress(&strings.Builder{}), WithWorkers(2)})
	o.isTerminal = func(io.Writer) bool { cancel(); return true }
	o.progressMin = 0
	jobs := []job{{name: "big", path: big, size: 4 * bufSize}, {name: "c", path: filepath.Join(root, "c"), size: 1}}
	if _, err := hashAll(ctx, jobs, o); !errors.Is(err, context.Canceled) {
		t.Errorf("hashAll: error %v is not context.Canceled", err)
	}
}

func TestDeterminism(t *testing.T) {
	root := t.TempDir()
	tree := map[string]entry{}
	for i := range 400 {
		tree[fmt.Sprintf("d%d/s%d/f%03d", i%7, i%3, i)] = file(strings.Repeat(fmt.Sprint(i), i%50))
	}
	makeTree(t, root, tree)
	ref, err := Paths(context.Background(), root, []string{"."}, WithWorkers(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(ref) != 400 {
		t.Fatalf("got %d artifacts", len(ref))
	}
	for i := 1; i < len(ref); i++ {
		if ref[i-1].Name >= ref[i].Name {
			t.Fatalf("not sorted: %q before %q", ref[i-1].Name, ref[i].Name)
		}
	}
	for _, w := range []int{2, 3, 16, 64, 1000} {
		for range 3 {
			got, err := Paths(context.Background(), root, []string{"d3", ".", "d1/s0"}, WithWorkers(w))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, ref) {
				t.Fatalf("workers=%d: results differ", w)
			}
		}
	}
}

// TestFirstErrorInNameOrder checks that a failure while hashing is reported
// for the first failing file by name, whatever the timing.
func TestFirstErrorInNameOrder(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, map[string]entry{"a": file("a"), "z": file("z")})
	o := buildOptions([]Option{WithWorkers(8)})
	for range 20 {
		// Fresh jobs each time: workers fill in (and clear) their fields.
		var jobs []job
		for i := range 50 {
			jobs = append(jobs, job{name: fmt.Sprintf("n%02d", i), path: filepath.Join(root, "a")})
		}
		jobs[17].path = filepath.Join(root, "gone17")
		jobs[40].path = filepath.Join(root, "gone40")
		_, err := hashAll(context.Background(), jobs, o)
		var pe *PathError
		if !errors.As(err, &pe) || pe.Path != "n17" || !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("error %v, want n17 not found", err)
		}
	}
}
