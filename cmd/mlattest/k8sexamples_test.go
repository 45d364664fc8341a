package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// checkCommandLine says whether args (without the leading "mlattest") are
// a real mlattest command line: a runnable subcommand, flags it has, and
// operands its argument check accepts.
func checkCommandLine(args []string) error {
	root := newRootCmd()
	c, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	if c == root || c.HasSubCommands() {
		return fmt.Errorf("%q is not a runnable command", strings.Join(args, " "))
	}
	if err := c.ParseFlags(rest); err != nil {
		return fmt.Errorf("%s: %w", c.CommandPath(), err)
	}
	if c.Args != nil {
		if err := c.Args(c, c.Flags().Args()); err != nil {
			return fmt.Errorf("%s: %w", c.CommandPath(), err)
		}
	}
	return nil
}

func TestCheckCommandLine(t *testing.T) {
	for _, ok := range [][]string{{"digest", "--shard", "0/2", "--part-out", "p", "s3://b/x/"}, {"merge", "--step", "s", "--sign-out", "o", "p"}} {
		if err := checkCommandLine(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range [][]string{{"digset", "x"}, {"merge", "--no-such", "p"}, {"k8s"}, {"merge"}, {"merge", "a", "b"}} {
		if err := checkCommandLine(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestExamplesKubernetesRendered: examples/kubernetes/render.sh, run with
// the mlattest under test, reproduces the committed manifests byte for
// byte, and they decode strictly into the API types.
func TestExamplesKubernetesRendered(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command("bash", "../../examples/kubernetes/render.sh", out)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(binPath)+string(os.PathListSeparator)+os.Getenv("PATH"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("render.sh: %v\n%s", err, b)
	}
	for _, f := range []string{"digest-job.yaml", "scan-data-job.yaml"} {
		got, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("../../examples/kubernetes", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("examples/kubernetes/%s is not what render.sh renders now: run examples/kubernetes/render.sh", f)
		}
		docs := bytes.Split(want, []byte("---\n"))
		var sa corev1.ServiceAccount
		if len(docs) != 3 || yaml.UnmarshalStrict(docs[0], &sa) != nil || sa.Kind != "ServiceAccount" {
			t.Fatalf("%s: want a ServiceAccount and two Jobs", f)
		}
		workers, merge := renderedJobs(t, want)
		for _, j := range []struct {
			pod  renderedPod
			name string
		}{{podOf(t, workers), workers.Name}, {podOf(t, merge), merge.Name}} {
			if err := checkCommandLine(j.pod.command); err != nil {
				t.Errorf("%s: %s: %v", f, j.name, err)
			}
		}
	}
}

// commandsIn walks decoded YAML and returns every container command that
// runs mlattest (without the leading "mlattest").
func commandsIn(v any) [][]string {
	var out [][]string
	switch x := v.(type) {
	case map[string]any:
		if cmd, ok := x["command"].([]any); ok && len(cmd) > 0 && cmd[0] == "mlattest" {
			var args []string
			for _, a := range cmd[1:] {
				args = append(args, fmt.Sprint(a))
			}
			out = append(out, args)
		}
		for _, k := range sortedKeys(x) {
			out = append(out, commandsIn(x[k])...)
		}
	case []any:
		for _, e := range x {
			out = append(out, commandsIn(e)...)
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// pyList finds the Python list literals that run mlattest; a string
// literal element is kept, anything else (a variable, an f-string) stands
// for a value.
var (
	pyList = regexp.MustCompile(`\[\s*"mlattest",([^\]]*)\]`)
	pyElem = regexp.MustCompile(`f?"[^"]*"|[A-Za-z_][A-Za-z0-9_.]*`)
)

// TestExamplesWorkflowCommands: the Argo WorkflowTemplate is valid YAML of
// that kind, fans out with withSequence and runs digest shards then a
// signing merge with the projected sigstore token; the Ray script runs the
// same commands; the README's command lines are real. Every mlattest
// command line in them is a real subcommand with real flags.
func TestExamplesWorkflowCommands(t *testing.T) {
	b, err := os.ReadFile("../../examples/argo/sharded-digest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var wf map[string]any
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatalf("argo: %v", err)
	}
	if wf["kind"] != "WorkflowTemplate" || !strings.Contains(string(b), "withSequence:") || !strings.Contains(string(b), "audience: sigstore") {
		t.Errorf("argo: want a WorkflowTemplate with withSequence and a sigstore-audience token")
	}
	check := func(where string, cmds [][]string, want ...string) {
		t.Helper()
		var subs []string
		for _, c := range cmds {
			if err := checkCommandLine(c); err != nil {
				t.Errorf("%s: mlattest %s: %v", where, strings.Join(c, " "), err)
			}
			subs = append(subs, c[0])
		}
		for _, w := range want {
			if !slices.Contains(subs, w) {
				t.Errorf("%s: no mlattest %s among %q", where, w, subs)
			}
		}
	}
	check("argo", commandsIn(wf), "digest", "merge")

	py, err := os.ReadFile("../../examples/ray/sharded_digest.py")
	if err != nil {
		t.Fatal(err)
	}
	var rayCmds [][]string
	for _, m := range pyList.FindAllStringSubmatch(string(py), -1) {
		var args []string
		for _, e := range pyElem.FindAllString(m[1], -1) {
			if strings.HasPrefix(e, `"`) {
				args = append(args, strings.Trim(e, `"`))
			} else {
				args = append(args, "VALUE")
			}
		}
		rayCmds = append(rayCmds, args)
	}
	if len(rayCmds) < 3 {
		t.Fatalf("ray: found %d mlattest command lines, want the shard and two merges", len(rayCmds))
	}
	check("ray", rayCmds, "digest", "merge")
	if python, err := exec.LookPath("python3"); err == nil {
		cmd := exec.Command(python, "-c", "import ast,sys; ast.parse(open(sys.argv[1]).read())", "../../examples/ray/sharded_digest.py")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("ray: not valid Python: %v\n%s", err, out)
		}
	}

	readme, err := os.ReadFile("../../examples/kubernetes/README.md")
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]string
	joined := strings.ReplaceAll(string(readme), "\\\n", " ")
	for _, l := range strings.Split(joined, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "mlattest "); ok {
			lines = append(lines, strings.Fields(rest))
		}
	}
	if len(lines) < 2 {
		t.Fatalf("README: found %d mlattest command lines", len(lines))
	}
	check("examples/kubernetes/README.md", lines, "k8s", "verify-bundle")
}
