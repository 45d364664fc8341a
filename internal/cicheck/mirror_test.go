package cicheck

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const stepTimeout = 2 * time.Minute

// The parts of a workflow (or composite action) the mirror runs.
type (
	ghWorkflow struct {
		Env  map[string]string `yaml:"env"`
		Jobs map[string]ghJob  `yaml:"jobs"`
	}
	ghJob struct {
		Needs       yaml.Node         `yaml:"needs"`
		Permissions map[string]string `yaml:"permissions"`
		Env         map[string]string `yaml:"env"`
		Steps       []ghStep          `yaml:"steps"`
	}
	ghStep struct {
		ID               string            `yaml:"id"`
		Name             string            `yaml:"name"`
		If               string            `yaml:"if"`
		Uses             string            `yaml:"uses"`
		Run              string            `yaml:"run"`
		WorkingDirectory string            `yaml:"working-directory"`
		With             map[string]string `yaml:"with"`
		Env              map[string]string `yaml:"env"`
	}
	ghAction struct {
		Inputs map[string]struct {
			Default string `yaml:"default"`
		} `yaml:"inputs"`
		Runs struct {
			Steps []ghStep `yaml:"steps"`
		} `yaml:"runs"`
	}
)

func (j ghJob) needs() []string {
	switch j.Needs.Kind {
	case yaml.ScalarNode:
		return []string{j.Needs.Value}
	case yaml.SequenceNode:
		var out []string
		for _, n := range j.Needs.Content {
			out = append(out, n.Value)
		}
		return out
	}
	return nil
}

// mirror runs a workflow's jobs on this machine the way a runner would:
// each job in a fresh copy of the repository, run: steps with bash -eo
// pipefail, GITHUB_ENV/GITHUB_PATH/GITHUB_OUTPUT honoured, artifacts
// copied between jobs, the job's token environment present only when it has
// id-token: write. Steps it cannot run here are listed in skip.
type mirror struct {
	t         *testing.T
	root      string            // the repository (the action's checkout)
	fixture   string            // what actions/checkout yields
	dir       string            // jobs' workspaces and artifacts
	baseEnv   []string          // the runner's environment
	tokenEnv  []string          // given to jobs with id-token: write
	envOver   map[string]string // replaces workflow env values
	skip      map[string]string // step name -> why it cannot run here
	reached   []string          // job/step of every step reached, run or skipped
	skipped   []string
	artifacts string
	installed string // folder of the mlattest the action built, once built
}

// runWorkflow runs every job in needs order; it stops at the first failing
// job and returns its error.
func (m *mirror) runWorkflow(wf ghWorkflow, only ...string) error {
	done := map[string]bool{}
	for len(done) < len(wf.Jobs) {
		var ready []string
		for name, j := range wf.Jobs {
			if done[name] {
				continue
			}
			if !slices.ContainsFunc(j.needs(), func(n string) bool { return !done[n] }) {
				ready = append(ready, name)
			}
		}
		if len(ready) == 0 {
			return fmt.Errorf("jobs wait on each other: %v", done)
		}
		slices.Sort(ready)
		for _, name := range ready {
			done[name] = true
			if len(only) > 0 && !slices.Contains(only, name) {
				continue
			}
			if err := m.runJob(wf, name); err != nil {
				return fmt.Errorf("job %s: %w", name, err)
			}
		}
	}
	return nil
}

type jobCtx struct {
	name, ws, temp string
	env            map[string]string
	path           []string
	outputs        map[string]map[string]string // step id -> outputs
}

func (m *mirror) runJob(wf ghWorkflow, name string) error {
	j := wf.Jobs[name]
	jc := &jobCtx{name: name, ws: filepath.Join(m.dir, name, "ws"), temp: filepath.Join(m.dir, name, "tmp"),
		env: map[string]string{}, outputs: map[string]map[string]string{}}
	if err := os.RemoveAll(filepath.Join(m.dir, name)); err != nil {
		return err
	}
	if err := os.MkdirAll(jc.temp, 0o755); err != nil {
		return err
	}
	if err := exec.Command("cp", "-a", m.fixture, jc.ws).Run(); err != nil {
		return fmt.Errorf("checkout: %w", err)
	}
	for _, kv := range m.baseEnv {
		k, v, _ := strings.Cut(kv, "=")
		jc.env[k] = v
	}
	if j.Permissions["id-token"] == "write" {
		for _, kv := range m.tokenEnv {
			k, v, _ := strings.Cut(kv, "=")
			jc.env[k] = v
		}
	}
	for k, v := range wf.Env {
		jc.env[k] = v
	}
	maps.Copy(jc.env, j.Env)
	maps.Copy(jc.env, m.envOver)
	jc.env["GITHUB_WORKSPACE"], jc.env["RUNNER_TEMP"], jc.env["GITHUB_JOB"] = jc.ws, jc.temp, name
	for _, s := range j.Steps {
		label := name + "/" + stepLabel(s)
		m.reached = append(m.reached, label)
		if why, ok := m.skip[s.Name]; ok {
			m.skipped = append(m.skipped, label+": "+why)
			continue
		}
		if s.If != "" {
			ok, err := evalIf(s.If, jc, nil)
			if err != nil {
				return fmt.Errorf("%s: %w", label, err)
			}
			if !ok {
				continue
			}
		}
		start := time.Now()
		if err := m.runStep(jc, s, nil); err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		m.t.Logf("%s: %.1fs", label, time.Since(start).Seconds())
	}
	return nil
}

func stepLabel(s ghStep) string {
	if s.Name != "" {
		return s.Name
	}
	return s.Uses
}

// runStep runs one step; inputs is set inside a composite action.
func (m *mirror) runStep(jc *jobCtx, s ghStep, inputs map[string]string) error {
	ref, _, _ := strings.Cut(s.Uses, "@")
	switch {
	case s.Run != "":
		return m.runScript(jc, s, inputs)
	case ref == "actions/checkout":
		return nil // the job's workspace is a fresh copy already
	case ref == "actions/setup-go", ref == "actions/cache":
		return nil // Go is installed here; nothing is cached between jobs
	case ref == "mlattest/mlattest":
		if m.installed != "" {
			// What the action's cache step restores in a later job: the
			// build the first job made and checked (the action re-checks it).
			jc.path = append([]string{m.installed}, jc.path...)
			return nil
		}
		if err := m.runAction(jc, s); err != nil {
			return err
		}
		m.installed = filepath.Join(jc.temp, "mlattest-bin")
		return nil
	case ref == "actions/upload-artifact":
		return m.upload(jc, s)
	case ref == "actions/download-artifact":
		return m.download(jc, s)
	}
	return fmt.Errorf("the mirror cannot run uses: %s", s.Uses)
}

// runAction runs the composite action's steps, built from the repository's
// own checkout (what uses: ./ does; a remote ref would go install that ref).
func (m *mirror) runAction(jc *jobCtx, s ghStep) error {
	b, err := os.ReadFile(filepath.Join(m.root, "action.yml"))
	if err != nil {
		return err
	}
	var a ghAction
	if err := yaml.Unmarshal(b, &a); err != nil {
		return err
	}
	inputs := map[string]string{}
	for k, in := range a.Inputs {
		inputs[k] = in.Default
	}
	maps.Copy(inputs, s.With)
	for _, as := range a.Runs.Steps {
		if as.If != "" {
			ok, err := evalIf(as.If, jc, inputs)
			if err != nil || !ok {
				if err != nil {
					return fmt.Errorf("action step %s: %w", stepLabel(as), err)
				}
				continue
			}
		}
		if err := m.runStep(jc, as, inputs); err != nil {
			return fmt.Errorf("action step %s: %w", stepLabel(as), err)
		}
	}
	return nil
}

func (m *mirror) runScript(jc *jobCtx, s ghStep, inputs map[string]string) error {
	env := maps.Clone(jc.env)
	for k, v := range s.Env {
		x, err := expand(v, jc, inputs, m.root)
		if err != nil {
			return fmt.Errorf("env %s: %w", k, err)
		}
		env[k] = x
	}
	script, err := expand(s.Run, jc, inputs, m.root)
	if err != nil {
		return err
	}
	files := map[string]string{}
	for _, f := range []string{"GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT"} {
		fp := filepath.Join(jc.temp, fmt.Sprintf("%s-%d", strings.ToLower(f), len(m.reached)))
		if err := os.WriteFile(fp, nil, 0o644); err != nil {
			return err
		}
		files[f], env[f] = fp, fp
	}
	env["PATH"] = strings.Join(append(slices.Clone(jc.path), jc.env["PATH"]), ":")
	// A hung step fails the test with its output rather than hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
	cmd.WaitDelay = time.Second
	cmd.Dir = filepath.Join(jc.ws, s.WorkingDirectory)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%v\n%s", err, out.String())
	}
	m.t.Logf("%s/%s:\n%s", jc.name, stepLabel(s), strings.TrimSpace(out.String()))
	for kv := range lines(files["GITHUB_ENV"]) {
		k, v, _ := strings.Cut(kv, "=")
		jc.env[k] = v
	}
	for p := range lines(files["GITHUB_PATH"]) {
		jc.path = append([]string{p}, jc.path...)
	}
	if s.ID != "" {
		jc.outputs[s.ID] = map[string]string{}
		for kv := range lines(files["GITHUB_OUTPUT"]) {
			k, v, _ := strings.Cut(kv, "=")
			jc.outputs[s.ID][k] = v
		}
	}
	return nil
}

func lines(path string) func(func(string) bool) {
	return func(yield func(string) bool) {
		f, err := os.Open(path)
		if err != nil {
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if l := sc.Text(); l != "" && !yield(l) {
				return
			}
		}
	}
}

var exprRE = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// expand replaces ${{ }} expressions: context lookups joined by ||.
func expand(s string, jc *jobCtx, inputs map[string]string, actionPath string) (string, error) {
	var err error
	out := exprRE.ReplaceAllStringFunc(s, func(e string) string {
		expr := exprRE.FindStringSubmatch(e)[1]
		for alt := range strings.SplitSeq(expr, "||") {
			v, e := lookup(strings.TrimSpace(alt), jc, inputs, actionPath)
			if e != nil {
				err = e
				return ""
			}
			if v != "" {
				return v
			}
		}
		return ""
	})
	return out, err
}

func lookup(ref string, jc *jobCtx, inputs map[string]string, actionPath string) (string, error) {
	parts := strings.Split(ref, ".")
	switch {
	case len(ref) > 1 && ref[0] == '\'' && ref[len(ref)-1] == '\'':
		return ref[1 : len(ref)-1], nil
	case len(parts) == 2 && parts[0] == "inputs" && inputs != nil:
		return inputs[parts[1]], nil
	case len(parts) == 4 && parts[0] == "steps" && parts[2] == "outputs":
		return jc.outputs[parts[1]][parts[3]], nil
	case ref == "runner.temp":
		return jc.temp, nil
	case ref == "github.action_path":
		return actionPath, nil
	case ref == "github.action_ref":
		return "", nil // a local checkout of the action: built from source
	case ref == "github.token":
		return "ghs_mirror-token", nil
	}
	return "", fmt.Errorf("the mirror cannot evaluate ${{ %s }}", ref)
}

// evalIf evaluates the conditions the workflows use: failure(), always()
// and comparisons of a lookup with a string, joined by &&.
func evalIf(cond string, jc *jobCtx, inputs map[string]string) (bool, error) {
	for term := range strings.SplitSeq(cond, "&&") {
		term = strings.TrimSpace(term)
		switch term {
		case "failure()":
			return false, nil // the mirror stops at the first failure
		case "always()", "success()":
			continue
		}
		op := "=="
		l, r, ok := strings.Cut(term, " == ")
		if !ok {
			op = "!="
			if l, r, ok = strings.Cut(term, " != "); !ok {
				return false, fmt.Errorf("the mirror cannot evaluate if: %s", cond)
			}
		}
		lv, err := lookup(strings.TrimSpace(l), jc, inputs, "")
		if err != nil {
			return false, err
		}
		rv, err := lookup(strings.TrimSpace(r), jc, inputs, "")
		if err != nil {
			return false, err
		}
		if (lv == rv) != (op == "==") {
			return false, nil
		}
	}
	return true, nil
}

func (m *mirror) upload(jc *jobCtx, s ghStep) error {
	dest := filepath.Join(m.artifacts, s.With["name"])
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("artifact %s uploaded twice", s.With["name"])
	}
	for p := range strings.SplitSeq(strings.TrimSpace(s.With["path"]), "\n") {
		p = strings.TrimSuffix(strings.TrimSpace(p), "/")
		if _, err := os.Stat(filepath.Join(jc.ws, p)); err != nil {
			if s.With["if-no-files-found"] == "error" {
				return fmt.Errorf("artifact %s: %w", s.With["name"], err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dest, p)), 0o755); err != nil {
			return err
		}
		if out, err := exec.Command("cp", "-a", filepath.Join(jc.ws, p), filepath.Join(dest, p)).CombinedOutput(); err != nil {
			return fmt.Errorf("artifact %s: %v %s", s.With["name"], err, out)
		}
	}
	return nil
}

func (m *mirror) download(jc *jobCtx, s ghStep) error {
	pattern := s.With["pattern"]
	if pattern == "" {
		pattern = s.With["name"]
	}
	if s.With["merge-multiple"] != "true" {
		return fmt.Errorf("the mirror downloads with merge-multiple: true only")
	}
	ents, err := os.ReadDir(m.artifacts)
	if err != nil {
		return err
	}
	n := 0
	for _, e := range ents {
		if ok, _ := path.Match(pattern, e.Name()); !ok {
			continue
		}
		n++
		if out, err := exec.Command("cp", "-a", filepath.Join(m.artifacts, e.Name())+"/.", filepath.Join(jc.ws, s.With["path"])).CombinedOutput(); err != nil {
			return fmt.Errorf("artifact %s: %v %s", e.Name(), err, out)
		}
	}
	if n == 0 {
		return fmt.Errorf("no artifact matches %s", pattern)
	}
	return nil
}
