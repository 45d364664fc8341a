package main

// CLI promises of issue 11, run as a user would: the built binary (see
// TestMain in e2e_test.go), temp directories, exit codes and one-line
// messages naming the user's input.

import (
	"path/filepath"
	"regexp"
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

// offlineKey makes an unencrypted signing key for key-only, offline runs.
func offlineKey(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if r := mlattest(t, dir, nil, "keygen", "--no-passphrase", "--output-key-prefix", "step"); r.code != 0 {
		t.Fatalf("keygen: %v", r)
	}
	return filepath.Join(dir, "step.key")
}

// linkRunID is the run id a link bundle is bound to.
func linkRunID(t *testing.T, bundle string) string {
	t.Helper()
	by, _ := payload(t, bundle)["predicate"].(map[string]any)["byproducts"].(map[string]any)
	id, _ := by["mlattest.dev/run-id"].(string)
	return id
}

// A local pipeline run as the README shows needs one run id for all its
// steps: run prints the one it makes up, and run-id makes one to export.
func TestRunIDIsPrintedAndShareable(t *testing.T) {
	key := offlineKey(t)
	newID := regexp.MustCompile(`(?m)^mlattest: new run id ([0-9a-f]{32}) for step "clean"; give the pipeline's other steps the same one: export MLATTEST_RUN_ID=([0-9a-f]{32})$`)
	step := func(t *testing.T, env []string) (cliResult, string) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "raw.jsonl"), "{}\n")
		out := filepath.Join(dir, "att")
		r := mlattest(t, dir, env, "run", "--step", "clean", "--out", out, "--key", key, "--offline",
			"--materials", "raw.jsonl", "--", "true")
		if r.code != 0 {
			t.Fatalf("run: %v", r)
		}
		return r, linkRunID(t, filepath.Join(out, "clean.link.sigstore.json"))
	}
	t.Run("generated id is printed", func(t *testing.T) {
		r, recorded := step(t, nil)
		m := newID.FindStringSubmatch(r.stderr)
		if m == nil || m[1] != m[2] || m[1] != recorded {
			t.Fatalf("want the line naming the recorded run id %q, got %v", recorded, r)
		}
	})
	t.Run("exported id is used and not announced", func(t *testing.T) {
		r := mlattest(t, t.TempDir(), nil, "run-id")
		id := strings.TrimSpace(r.stdout)
		if r.code != 0 || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) || r.stderr != "" {
			t.Fatalf("run-id: want one 32-hex line on stdout, got %v", r)
		}
		if again := mlattest(t, t.TempDir(), nil, "run-id"); strings.TrimSpace(again.stdout) == id {
			t.Fatalf("run-id printed %s twice", id)
		}
		for range 2 { // two steps of one pipeline run
			r, recorded := step(t, []string{"MLATTEST_RUN_ID=" + id})
			if recorded != id || strings.Contains(r.stderr, "new run id") {
				t.Fatalf("want run id %s recorded and no new one announced; recorded %q, %v", id, recorded, r)
			}
		}
	})
	t.Run("run-id takes no arguments", func(t *testing.T) {
		r := mlattest(t, t.TempDir(), nil, "run-id", "extra")
		if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, `"extra"`) {
			t.Fatalf("want exit 2 naming the argument, got %v", r)
		}
	})
}
