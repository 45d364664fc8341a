// Package repotest finds the repository and the shared test data beside it,
// for tests in any package (DESIGN.md: ../shared is read in place, never
// copied).
package repotest

import (
	"os"
	"path/filepath"
	"testing"
)

// Root is the folder holding go.mod, at or above the test's directory.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// Conformance is ../shared/conformance/SUB beside the repository; the test
// fails (never skips) when it is missing.
func Conformance(t testing.TB, sub ...string) string {
	t.Helper()
	dir := filepath.Join(append([]string{Root(t), "..", "shared", "conformance"}, sub...)...)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("conformance data missing (expected ../shared beside the repository): %v", err)
	}
	return dir
}
