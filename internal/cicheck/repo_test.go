package cicheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// workflowFiles are the GitHub Actions files of the repository: the
// composite action and every workflow, example or live.
func workflowFiles(t *testing.T, root string) []string {
	t.Helper()
	files := []string{filepath.Join(root, "action.yml")}
	for _, pat := range []string{"examples/github-actions/*.yml", ".github/workflows/*.yml", ".github/workflows/*.yaml"} {
		m, err := filepath.Glob(filepath.Join(root, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	return files
}

// tool returns the cached binary of a pinned tool from scripts/tools.sh,
// skipping the test when it was not built (failing under CI=true: .ci/run
// builds it through make test).
func tool(t *testing.T, root, name string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(root, "scripts/tools.sh"), "path", name).Output()
	if err != nil {
		t.Fatalf("scripts/tools.sh path %s: %v", name, err)
	}
	path := strings.TrimSpace(string(out))
	if _, err := os.Stat(path); err != nil {
		msg := name + " is not built (" + path + "): run scripts/tools.sh build"
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (CI=true: make test builds it)", msg)
		}
		t.Skip(msg)
	}
	return path
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
