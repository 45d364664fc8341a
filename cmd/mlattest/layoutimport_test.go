package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/intototest"
)

// TestLayoutImportEquivalentRun: 'mlattest layout import' converts the
// classic three-step layout (listing what it could not carry over), and
// the same three steps run with 'mlattest run' by the same functionary
// keys verify under the imported layout once its owner signs it; a step
// signed by another key fails.
func TestLayoutImportEquivalentRun(t *testing.T) {
	c := intototest.NewChain(t)
	c.LayoutDoc.Steps[1].ExpectedCommand = []string{"python", "train.py"}
	c.SignLayout(t)
	imported := filepath.Join(c.Dir, "imported.yaml")
	r := runCLI(t, "layout", "import", c.Layout, "--out", imported)
	if r.code != 0 || !strings.Contains(r.stderr, "not carried over: step train: expected_command") ||
		!strings.Contains(r.stderr, "not carried over: subject:") {
		t.Fatalf("import: %s", r)
	}
	if r := runCLI(t, "layout", "sign", imported, "--key", filepath.Join(c.Dir, "owner.key"), "--offline"); r.code != 0 {
		t.Fatalf("layout sign: %s", r)
	}

	// The equivalent mlattest run, in a fresh working directory.
	work := filepath.Join(c.Dir, "mlwork")
	att := filepath.Join(c.Dir, "att")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "raw.txt"), []byte("raw records\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	step := func(name, key, mat, prod, content string) cliResult {
		return runCLI(t, "run", "--step", name, "--run-id", "classic-1", "--dir", work, "--out", att,
			"--key", filepath.Join(c.Dir, key+".key"), "--offline", "--materials", mat, "--products", prod,
			"--", "sh", "-c", "printf '"+content+"' > "+prod)
	}
	for _, s := range [][5]string{
		{"clean", "clean", "raw.txt", "data.txt", "clean records"},
		{"train", "train", "data.txt", "model.bin", "weights"},
		{"package", "package", "model.bin", "release.tar", "tarball"},
	} {
		if r := step(s[0], s[1], s[2], s[3], s[4]); r.code != 0 {
			t.Fatalf("run %s: %s", s[0], r)
		}
	}
	verifyArgs := []string{"verify", "--layout", imported, "--layout-key", filepath.Join(c.Dir, "owner.pub"),
		"--attestations", att, "--model", filepath.Join(work, "release.tar")}
	if r := runCLI(t, verifyArgs...); r.code != 0 || !strings.Contains(r.stdout, "PASSED") {
		t.Fatalf("verify under the imported layout: %s", r)
	}

	// package re-signed by a key the layout does not name.
	intototest.Key(t, c.Dir, "mallory")
	matches, _ := filepath.Glob(filepath.Join(att, "package.*"))
	for _, m := range matches {
		os.Remove(m)
	}
	os.Remove(filepath.Join(work, "release.tar"))
	if r := step("package", "mallory", "model.bin", "release.tar", "tarball"); r.code != 0 {
		t.Fatalf("run package: %s", r)
	}
	if r := runCLI(t, verifyArgs...); r.code != exitRejected || !strings.Contains(r.stdout, "no functionary key of the layout") {
		t.Fatalf("a step signed by an unknown key: %s", r)
	}
}
