package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mlattest/mlattest/digest"
)

// digestCLI runs "mlattest digest args..." in-process from dir.
func digestCLI(t *testing.T, dir string, args ...string) cliResult {
	t.Helper()
	t.Chdir(dir)
	return runCLI(t, append([]string{"digest"}, args...)...)
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func hexSum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

var oddTree = map[string]string{
	"model/weights.bin":       "\x00\x01weights",
	"model/config.json":       `{"a":1}`,
	"data/empty":              "",
	"data/sub dir/two  sp":    "spaces",
	"data/-dash":              "dash",
	"odd/back\\slash":         "bs",
	"odd/new\nline":           "nl",
	"odd/car\rriage":          "cr",
	"odd/both\\and\nnewline":  "both",
	"odd/ünïcode":             "u",
	".git/HEAD":               "ignored",
	"model/.git/objects/pack": "ignored",
}

// TestDigestCLIMatchesSha256sum checks that the output is exactly what
// sha256sum prints for the same files, and that "sha256sum -c" accepts it.
func TestDigestCLIMatchesSha256sum(t *testing.T) {
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("sha256sum not installed")
	}
	dir := t.TempDir()
	writeTree(t, dir, oddTree)
	r := digestCLI(t, dir, ".")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("%v", r)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != len(oddTree)-2 {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(oddTree)-2, r.stdout)
	}
	if strings.Contains(r.stdout, ".git") {
		t.Errorf(".git not ignored:\n%s", r.stdout)
	}

	// sha256sum on the same names in the same order prints the same bytes.
	arts, err := digest.Paths(context.Background(), dir, []string{"."})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"--"}
	for _, a := range arts {
		names = append(names, a.Name)
	}
	cmd := exec.Command("sha256sum", names...)
	cmd.Dir = dir
	want, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if r.stdout != string(want) {
		t.Errorf("output differs from sha256sum's:\ngot\n%q\nwant\n%q", r.stdout, want)
	}

	sums := filepath.Join(t.TempDir(), "SHA256SUMS")
	if err := os.WriteFile(sums, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	check := exec.Command("sha256sum", "--check", "--strict", sums)
	check.Dir = dir
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}
	// And it notices a change.
	if err := os.WriteFile(filepath.Join(dir, "odd", "new\nline"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	check = exec.Command("sha256sum", "--check", "--strict", sums)
	check.Dir = dir
	if out, err := check.CombinedOutput(); err == nil {
		t.Fatalf("sha256sum -c accepted a changed file:\n%s", out)
	}
}

func TestDigestCLIJSON(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"a/x": "x", "a/<&>": "html", "b": ""})
	r := digestCLI(t, dir, "--json", "a", "b", "a/x")
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	want := []digest.Artifact{
		{Name: "a/<&>", SHA256: hexSum("html"), Size: 4},
		{Name: "a/x", SHA256: hexSum("x"), Size: 1},
		{Name: "b", SHA256: hexSum(""), Size: 0},
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d lines:\n%s", len(lines), r.stdout)
	}
	for i, l := range lines {
		var a digest.Artifact
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if a != want[i] {
			t.Errorf("line %d: got %+v, want %+v", i, a, want[i])
		}
	}
	if !strings.Contains(r.stdout, `"name":"a/<&>"`) {
		t.Errorf("name escaped for HTML: %s", r.stdout)
	}
}

func TestDigestCLIRootAndRelativePaths(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"out/model/w": "w", "sub/f": "f", "top": "t"})

	// --root: PATHs relative to the current directory, names to the root.
	r := digestCLI(t, dir, "--root", "out", "out/model")
	if want := hexSum("w") + "  model/w\n"; r.code != 0 || r.stdout != want {
		t.Errorf("--root out: %v\nwant %q", r, want)
	}
	// From a subdirectory with the root above it.
	r = digestCLI(t, filepath.Join(dir, "sub"), "--root", "..", "f", "../top")
	if want := hexSum("f") + "  sub/f\n" + hexSum("t") + "  top\n"; r.code != 0 || r.stdout != want {
		t.Errorf("--root ..: %v\nwant %q", r, want)
	}
	// Absolute PATH and absolute root.
	r = digestCLI(t, t.TempDir(), "--root", dir, filepath.Join(dir, "sub", "f"))
	if want := hexSum("f") + "  sub/f\n"; r.code != 0 || r.stdout != want {
		t.Errorf("absolute: %v\nwant %q", r, want)
	}
}

func TestDigestCLIOptions(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"d/keep": "k", "d/x.tmp": "t", "d/cache/c": "c", ".git/HEAD": "h"})
	if err := os.Symlink("keep", filepath.Join(dir, "d", "link")); err != nil {
		t.Fatal(err)
	}
	r := digestCLI(t, dir, "--follow-symlinks", "--ignore", "*.tmp", "--ignore", "cache/", ".")
	want := hexSum("h") + "  .git/HEAD\n" + hexSum("k") + "  d/keep\n" + hexSum("k") + "  d/link\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("%v\nwant %q", r, want)
	}
	r = digestCLI(t, dir, "--workers", "1", "--follow-symlinks", "d/link")
	if want := hexSum("k") + "  d/link\n"; r.code != 0 || r.stdout != want {
		t.Errorf("%v\nwant %q", r, want)
	}
}

func TestDigestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"ok": "ok", "in/f": "f"})
	if err := os.Symlink("ok", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "in", "escape")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		mentions []string
	}{
		{"no PATH", nil, []string{"requires at least 1 arg"}},
		{"missing file", []string{"ok", "nope"}, []string{`"nope"`, "no such file"}},
		{"missing outside the current directory", []string{"../x"}, []string{`"../x"`, "no such file"}},
		{"outside --root", []string{"--root", "in", "ok"}, []string{"outside the root"}},
		{"symlink without flag", []string{"link"}, []string{`"link"`, "symbolic link"}},
		{"symlink escaping", []string{"--follow-symlinks", "in"}, []string{`"in/escape"`, "escapes the root"}},
		{"fifo", []string{"fifo"}, []string{`"fifo"`, "FIFO"}},
		{"bad pattern", []string{"--ignore", "[", "ok"}, []string{`"["`, "syntax error"}},
		{"unknown flag", []string{"--nope", "ok"}, []string{"unknown flag"}},
		{"empty PATH", []string{""}, []string{"empty PATH"}},
		{"missing root", []string{"--root", "nowhere", "ok"}, []string{"nowhere"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := digestCLI(t, dir, tc.args...)
			if r.code != exitUsage {
				t.Errorf("exit %d, want %d\n%v", r.code, exitUsage, r)
			}
			if r.stdout != "" {
				t.Errorf("printed on failure: %q", r.stdout)
			}
			for _, m := range tc.mentions {
				if !strings.Contains(r.stderr, m) {
					t.Errorf("stderr %q does not mention %q", r.stderr, m)
				}
			}
		})
	}
}

func TestDigestCLIHelp(t *testing.T) {
	r := digestCLI(t, t.TempDir(), "--help")
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	for _, s := range []string{"sha256sum -c", "--json", "--root", "--follow-symlinks", "--ignore", "Examples:", "Exit status"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("help lacks %q", s)
		}
	}
}

func TestSumLine(t *testing.T) {
	h := strings.Repeat("ab", 32)
	tests := []struct{ name, want string }{
		{"plain/name", h + "  plain/name\n"},
		{"sp ace", h + "  sp ace\n"},
		{`a\b`, `\` + h + `  a\\b` + "\n"},
		{"a\nb", `\` + h + `  a\nb` + "\n"},
		{"a\rb", `\` + h + `  a\rb` + "\n"},
		{"\\\n", `\` + h + `  \\\n` + "\n"},
	}
	for _, tc := range tests {
		if got := sumLine(digest.Artifact{Name: tc.name, SHA256: h}); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
