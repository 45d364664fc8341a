package digest

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGolden hashes the fixed tree in testdata/tree. The golden file is in
// sha256sum's format, so it also checks us against an independent tool.
func TestGolden(t *testing.T) {
	arts, err := Paths(context.Background(), "testdata/tree", []string{"."})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, a := range arts {
		fmt.Fprintf(&buf, "%s  %s\n", a.SHA256, a.Name)
	}
	golden := filepath.Join("testdata", "tree.sha256")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("got\n%s\nwant\n%s", buf.Bytes(), want)
	}
	if _, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command("sha256sum", "--check", "--strict", "../tree.sha256")
		cmd.Dir = filepath.Join("testdata", "tree")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, out)
		}
	}
}
