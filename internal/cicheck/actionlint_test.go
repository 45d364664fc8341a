package cicheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/repotest"
	"go.yaml.in/yaml/v3"
)

// lintRepo lays out a throw-away repository the way a user's would look:
// action.yml (and the script it runs) at the root, the example workflows
// under .github/workflows, plus actionSteps.yml: the composite action's
// steps as a reusable workflow's job, so actionlint checks their
// expressions and the inputs of the actions they use (actionlint reads an
// action's metadata, not its steps).
func lintRepo(t *testing.T, root string) string {
	t.Helper()
	dir := t.TempDir()
	copyFile(t, filepath.Join(root, "action.yml"), filepath.Join(dir, "action.yml"))
	copyFile(t, filepath.Join(root, "scripts/action.sh"), filepath.Join(dir, "scripts/action.sh"))
	for _, f := range workflowFiles(t, root)[1:] {
		copyFile(t, f, filepath.Join(dir, ".github/workflows", filepath.Base(f)))
	}
	if err := os.WriteFile(filepath.Join(dir, ".github/workflows/actionSteps.yml"), actionAsWorkflow(t, filepath.Join(root, "action.yml")), 0o644); err != nil {
		t.Fatal(err)
	}
	// actionlint finds the project by its .git folder.
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// actionAsWorkflow turns a composite action into a workflow_call workflow
// with the same inputs and one job running the action's steps.
func actionAsWorkflow(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Inputs map[string]struct {
			Default string `yaml:"default"`
		} `yaml:"inputs"`
		Runs struct {
			Using string `yaml:"using"`
			Steps []any  `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(b, &action); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if action.Runs.Using != "composite" || len(action.Runs.Steps) == 0 {
		t.Fatalf("%s: not a composite action with steps", path)
	}
	inputs := map[string]any{}
	for name, in := range action.Inputs {
		inputs[name] = map[string]any{"type": "string", "required": false, "default": in.Default}
	}
	wf := map[string]any{
		"name": "action steps",
		"on":   map[string]any{"workflow_call": map[string]any{"inputs": inputs}},
		"jobs": map[string]any{"action": map[string]any{"runs-on": "ubuntu-latest", "steps": action.Runs.Steps}},
	}
	out, err := yaml.Marshal(wf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func actionlint(t *testing.T, bin, dir string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, "-no-color")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestActionlint: actionlint passes on action.yml (its metadata, through a
// workflow that uses it, and its steps) and on every example workflow.
func TestActionlint(t *testing.T) {
	root := repotest.Root(t)
	bin := tool(t, root, "actionlint")
	dir := lintRepo(t, root)
	// One workflow that uses the local action with every input, so actionlint
	// loads and checks action.yml itself.
	use := "name: use\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ./\n        with:\n          version: v0.1.0\n          module-sum: h1:x\n          go-version: \"1.26\"\n          cache: \"false\"\n          args: version\n"
	if err := os.WriteFile(filepath.Join(dir, ".github/workflows/use.yml"), []byte(use), 0o644); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(filepath.Join(dir, ".github/workflows"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) < 3 {
		t.Fatalf("only %d workflows to lint", len(ents))
	}
	if out, err := actionlint(t, bin, dir); err != nil {
		t.Fatalf("actionlint: %v\n%s", err, out)
	}
}

// TestActionlintCatches: the set-up above does make actionlint look at the
// action and the workflows: each seeded mistake is reported.
func TestActionlintCatches(t *testing.T) {
	root := repotest.Root(t)
	bin := tool(t, root, "actionlint")
	tests := []struct {
		name, file, doc, want string
	}{
		{"unknown action input", "use.yml",
			"name: u\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ./\n        with:\n          verison: v1\n",
			`input "verison" is not defined in action "mlattest"`},
		{"undefined step output", "bad.yml",
			"name: b\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"${{ steps.nope.outputs.x }}\"\n",
			`property "nope" is not defined`},
		// A typo in the action's own steps: caught through actionSteps.yml.
		{"action step typo", "", "", `property "resolv" is not defined`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := lintRepo(t, root)
			path, doc := filepath.Join(dir, ".github/workflows", tc.file), []byte(tc.doc)
			if tc.file == "" {
				b, err := os.ReadFile(filepath.Join(dir, "action.yml"))
				if err != nil {
					t.Fatal(err)
				}
				mutated := filepath.Join(t.TempDir(), "action.yml")
				if err := os.WriteFile(mutated, []byte(strings.Replace(string(b), "steps.resolve.outputs.key", "steps.resolv.outputs.key", 1)), 0o644); err != nil {
					t.Fatal(err)
				}
				path, doc = filepath.Join(dir, ".github/workflows/actionSteps.yml"), actionAsWorkflow(t, mutated)
			}
			if err := os.WriteFile(path, doc, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := actionlint(t, bin, dir)
			if err == nil || !strings.Contains(out, tc.want) {
				t.Fatalf("actionlint err = %v, want a failure saying %q; output:\n%s", err, tc.want, out)
			}
		})
	}
}
