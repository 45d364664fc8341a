package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/intototest"
)

// TestVerifyInTotoLayout: 'mlattest verify --in-toto-layout' passes a
// three-step chain whose links in-toto-golang recorded (exit 0), fails it
// once a link is signed by a key the layout does not name (exit 1, the
// reason printed), and refuses flags that do not apply (exit 2).
func TestVerifyInTotoLayout(t *testing.T) {
	c := intototest.NewChain(t)
	args := []string{"verify", "--in-toto-layout", c.Layout, "--layout-key", c.OwnerPub, "--links", c.Links}
	r := runCLI(t, args...)
	if r.code != 0 || !strings.Contains(r.stdout, "PASSED (steps [clean train package]") || !strings.Contains(r.stdout, "product release.tar  sha256:") {
		t.Fatalf("%s", r)
	}
	for _, extra := range [][]string{{"--model", "x"}, {"--graph", filepath.Join(t.TempDir(), "g")}} {
		if r := runCLI(t, append(args, extra...)...); r.code != exitUsage || !strings.Contains(r.stderr, "takes only") {
			t.Errorf("%s with --in-toto-layout: %s", extra[0], r)
		}
	}
	if r := runCLI(t, "verify", "--in-toto-layout", c.Layout, "--links", c.Links); r.code != exitUsage {
		t.Errorf("no owner key: %s", r)
	}
	mallory, _, _ := intototest.Key(t, c.Dir, "mallory")
	if err := os.Remove(filepath.Join(c.Links, intototest.LinkName("package", c.Pack))); err != nil {
		t.Fatal(err)
	}
	c.Record(t, "package", mallory, []string{"model.bin"}, []string{"model.bin", "release.tar"}, func() {})
	r = runCLI(t, append(args, "--json")...)
	if r.code != exitRejected || !strings.Contains(r.stdout, `"passed":false`) || !strings.Contains(r.stderr, "step 'package' requires '1' link metadata file(s)") {
		t.Fatalf("link by an unknown key: %s", r)
	}
}
