package gate

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering: a program that only verifies bundles builds no signing,
// step-running or policy code (no cel-go), and the gate builds no signing or
// step-running code (DESIGN.md, package layout).
func TestLayering(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	const mod = "github.com/mlattest/mlattest/"
	for _, tc := range []struct {
		pkg    string
		forbid []string // import-path prefixes
	}{
		{"../verify", []string{mod + "sign", mod + "layouts", mod + "attest", mod + "gate", "cel.dev/", "github.com/google/cel-go"}},
		{".", []string{mod + "sign", mod + "attest"}},
	} {
		out, err := exec.Command(gobin, "list", "-deps", tc.pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", tc.pkg, err)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 10 {
			t.Fatalf("go list -deps %s named %d packages; want its whole build", tc.pkg, len(deps))
		}
		for _, d := range deps {
			for _, f := range tc.forbid {
				if d == f || strings.HasPrefix(d, f+"/") || strings.HasSuffix(f, "/") && strings.HasPrefix(d, f) {
					t.Errorf("%s depends on %s", tc.pkg, d)
				}
			}
		}
	}
}
