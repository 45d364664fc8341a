package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGraphCLI draws a two-step run signed offline with a key, then the
// same run where the second step read other bytes than the first wrote.
func TestGraphCLI(t *testing.T) {
	dir := t.TempDir()
	if r := mlattest(t, dir, nil, "keygen", "--output-key-prefix", "k", "--no-passphrase"); r.code != 0 {
		t.Fatalf("keygen: %v", r)
	}
	key := filepath.Join(dir, "k.key")
	att := filepath.Join(dir, "att")
	step := func(name string, extra ...string) {
		t.Helper()
		args := append([]string{"attest", "--step", name, "--run-id", "graph", "--out", att, "--key", key, "--offline", "--exit-code", "0"}, extra...)
		if r := mlattest(t, dir, nil, args...); r.code != 0 {
			t.Fatalf("attest %s: %v", name, r)
		}
	}
	writeFile(t, filepath.Join(dir, "raw.txt"), "raw")
	writeFile(t, filepath.Join(dir, "clean.txt"), "clean")
	step("ingest", "--products", "raw.txt")
	step("clean", "--materials", "raw.txt", "--products", "clean.txt")
	out := filepath.Join(dir, "g")
	if r := mlattest(t, dir, nil, "graph", "--attestations", att, "--out", out); r.code != 0 {
		t.Fatalf("graph: %v", r)
	}
	mmd, _ := os.ReadFile(out + ".mmd")
	svg, _ := os.ReadFile(out + ".svg")
	if !strings.Contains(string(mmd), `["ingest<br/>key`) || !strings.Contains(string(mmd), "raw.txt") || strings.Contains(string(mmd), "class ") ||
		!strings.HasPrefix(string(svg), "<svg") || strings.Contains(string(svg), "#c00\"/>\n<text") {
		t.Fatalf("honest run:\n%s\n%s", mmd, svg)
	}
	// clean read raw.txt after it changed: drawn red.
	writeFile(t, filepath.Join(dir, "raw.txt"), "swapped")
	if err := os.Remove(filepath.Join(att, "clean.link.sigstore.json")); err != nil {
		t.Fatal(err)
	}
	step("clean", "--materials", "raw.txt", "--products", "clean.txt")
	if r := mlattest(t, dir, nil, "graph", "--attestations", att, "--out", out); r.code != 0 {
		t.Fatalf("graph: %v", r)
	}
	mmd, _ = os.ReadFile(out + ".mmd")
	if !strings.Contains(string(mmd), "reads raw.txt with a digest no step produced") || !strings.Contains(string(mmd), "class s2,a2 bad") {
		t.Fatalf("swapped run:\n%s", mmd)
	}
	if r := mlattest(t, dir, nil, "graph", "--attestations", filepath.Join(dir, "none"), "--out", out); r.code != 2 {
		t.Fatalf("missing dir: %v", r)
	}

	// verify --graph: an output that cannot be written is refused before
	// anything is verified (exit 2, naming it), and nothing is written.
	writeFile(t, filepath.Join(dir, "layout.yaml"), "not checked")
	for _, d := range []string{"taken.svg", "half.mmd"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ name, out, want string }{
		{"missing directory", filepath.Join(dir, "nope", "g"), "does not exist"},
		{"parent is a file", filepath.Join(dir, "raw.txt", "g"), "is not a directory"},
		{"output is a directory", filepath.Join(dir, "taken"), "is a directory"},
		{"Mermaid output is a directory", filepath.Join(dir, "half"), "is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mlattest(t, dir, nil, "verify", "--layout", filepath.Join(dir, "layout.yaml"), "--layout-key", filepath.Join(dir, "k.pub"),
				"--attestations", att, "--model", filepath.Join(dir, "clean.txt"), "--graph", tc.out)
			if r.code != 2 || !strings.Contains(r.stderr, "--graph "+tc.out) || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
				t.Fatalf("want exit 2 naming --graph %s (%s): %v", tc.out, tc.want, r)
			}
			for _, ext := range []string{".svg", ".mmd"} {
				if st, err := os.Stat(tc.out + ext); err == nil && !st.IsDir() {
					t.Fatalf("%s%s written", tc.out, ext)
				}
			}
		})
	}
}
