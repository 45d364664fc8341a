package main

// CLI promises of issue 11, run as a user would: the built binary (see
// TestMain in e2e_test.go), temp directories, exit codes and one-line
// messages naming the user's input.

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// groupCommands lists every command of the tree that only groups others.
func groupCommands(c *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	if c.HasSubCommands() {
		out = append(out, c)
	}
	for _, s := range c.Commands() {
		out = append(out, groupCommands(s)...)
	}
	return out
}

// typo swaps the last two letters of a subcommand name ("model" -> "modle").
func typo(name string) string {
	b := []byte(name)
	n := len(b)
	b[n-2], b[n-1] = b[n-1], b[n-2]
	return string(b)
}

// TestGroupCommandsRefuseTypos: `mlattest scan modle evil.pkl && deploy`
// must not print help and exit 0; neither may a bare group.
func TestGroupCommandsRefuseTypos(t *testing.T) {
	groups := groupCommands(newRootCmd())
	if len(groups) < 3 { // at least mlattest, layout, scan
		t.Fatalf("found only %d group commands", len(groups))
	}
	for _, g := range groups {
		path := strings.Fields(g.CommandPath())[1:] // without "mlattest"
		var sub string
		for _, s := range g.Commands() {
			if s.IsAvailableCommand() && len(s.Name()) >= 4 && g.SuggestionsFor(typo(s.Name())) != nil {
				sub = s.Name()
				break
			}
		}
		if sub == "" {
			t.Fatalf("%s: no subcommand to misspell", g.CommandPath())
		}
		t.Run(strings.Join(append([]string{"mlattest"}, path...), "_")+"/typo", func(t *testing.T) {
			bad := typo(sub)
			r := mlattest(t, t.TempDir(), nil, append(path, bad, "evil.pkl")...)
			want := `unknown command "` + bad + `" for "` + g.CommandPath() + `": did you mean "` + sub + `"?`
			if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, want) {
				t.Errorf("want exit 2, nothing on stdout, %q on stderr; got %v", want, r)
			}
			if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n != 0 {
				t.Errorf("want a one-line message, got %d lines: %q", n+1, r.stderr)
			}
		})
		t.Run(strings.Join(append([]string{"mlattest"}, path...), "_")+"/bare", func(t *testing.T) {
			r := mlattest(t, t.TempDir(), nil, path...)
			if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, "Usage:") ||
				!strings.Contains(r.stderr, `"`+g.CommandPath()+`" needs a subcommand: `) {
				t.Errorf("want exit 2 with the usage on stderr; got %v", r)
			}
		})
	}
}
