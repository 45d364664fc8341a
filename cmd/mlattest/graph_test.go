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
}
