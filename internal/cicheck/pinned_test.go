package cicheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/repotest"
	"go.yaml.in/yaml/v3"
)

var (
	// owner/repo[/path]@<full commit>: a tag or branch can be moved to other
	// code, a commit cannot.
	pinnedAction = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@\s]+)?@[0-9a-f]{40}$`)
	pinnedDocker = regexp.MustCompile(`^docker://[^@\s]+@sha256:[0-9a-f]{64}$`)
)

// unpinnedUses lists every `uses:` in a workflow or action file that is
// neither a local path nor pinned to a full commit (or image digest).
func unpinnedUses(doc []byte) ([]string, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, err
	}
	var bad []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value == "uses" {
					if v.Kind != yaml.ScalarNode {
						bad = append(bad, fmt.Sprintf("line %d: uses is not a string", v.Line))
					} else if r := v.Value; !strings.HasPrefix(r, "./") && !pinnedAction.MatchString(r) && !pinnedDocker.MatchString(r) {
						bad = append(bad, fmt.Sprintf("line %d: %s", v.Line, r))
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
	return bad, nil
}

// TestUsesPinned: no workflow or action of the repository runs a third-party
// action by a mutable reference.
func TestUsesPinned(t *testing.T) {
	root := repotest.Root(t)
	files := workflowFiles(t, root)
	if len(files) < 2 {
		t.Fatalf("found only %v: expected action.yml and the example workflows", files)
	}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n += strings.Count(string(b), "uses:")
		bad, err := unpinnedUses(b)
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
		for _, u := range bad {
			rel, _ := filepath.Rel(root, f)
			t.Errorf("%s %s: not pinned to a full commit SHA (or a local ./path)", rel, u)
		}
	}
	if n == 0 {
		t.Fatal("no uses: found at all: the check looked at nothing")
	}
}

func TestUnpinnedUsesRejects(t *testing.T) {
	sha := strings.Repeat("a", 40)
	tests := []struct {
		uses string
		ok   bool
	}{
		{"actions/checkout@" + sha, true},
		{"github/codeql-action/init@" + sha, true},
		{"./", true},
		{"./.github/workflows/verify.yml", true},
		{"docker://alpine@sha256:" + strings.Repeat("0", 64), true},
		{"actions/checkout@v4", false},
		{"actions/checkout@main", false},
		{"actions/checkout@" + sha[:7], false},
		{"actions/checkout@" + strings.ToUpper(sha), false},
		{"actions/checkout@" + sha + "0", false},
		{"actions/checkout", false},
		{"docker://alpine:3.20", false},
		{"org/repo/.github/workflows/x.yml@refs/heads/main", false},
		{"../outside", false},
	}
	for _, tc := range tests {
		t.Run(tc.uses, func(t *testing.T) {
			doc := fmt.Sprintf("jobs:\n  a:\n    steps:\n      - uses: %q\n", tc.uses)
			bad, err := unpinnedUses([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(bad) == 0; got != tc.ok {
				t.Errorf("accepted = %v, want %v (problems %v)", got, tc.ok, bad)
			}
		})
	}
	// A reusable workflow call (jobs.<id>.uses) is checked like a step.
	bad, err := unpinnedUses([]byte("jobs:\n  deploy:\n    uses: org/repo/.github/workflows/v.yml@v1\n"))
	if err != nil || len(bad) != 1 || !strings.Contains(bad[0], "line 3") {
		t.Errorf("job-level uses: problems %v, err %v; want one on line 3", bad, err)
	}
}
