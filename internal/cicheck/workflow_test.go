package cicheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/mlattest/mlattest/internal/repotest"
	"github.com/mlattest/mlattest/internal/stacktest"
)

// TestWorkflowMirror runs examples/github-actions/finetune.yml on this
// machine, job after job as GitHub would (see mirror), against the private
// Sigstore stack: the signing jobs get the job's token from a stand-in for
// the Actions token service handing out the stack's GitHub-type tokens for
// this workflow on main, the owner's layout (its issuers made the stack's)
// and base-model pin are signed first, and the release job's mlattest
// verify must pass. Then an artifact changed between jobs makes the release
// job fail at verify, before its push step is reached.
func TestWorkflowMirror(t *testing.T) {
	s := stacktest.Get(t)
	root := repotest.Root(t)
	run := stacktest.GitHubRun{Repository: "acme/models", Workflow: ".github/workflows/finetune.yml", Ref: "refs/heads/main",
		SHA: strings.Repeat("5e", 20), RunID: "1001", RunAttempt: "1", Event: "push"}
	svc := stacktest.NewActionsTokenService(t, s.GitHubTokens(t, run))
	ghIssuer := s.CIIssuer(t, stacktest.GitHub)
	dir := t.TempDir()

	// What actions/checkout gives every job: the repository's files.
	fixture := filepath.Join(dir, "repo")
	files, err := exec.Command("git", "-C", root, "ls-files", "-co", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for f := range strings.SplitSeq(strings.TrimSpace(string(files)), "\n") {
		if fi, err := os.Lstat(filepath.Join(root, f)); err == nil && fi.Mode().IsRegular() {
			copyFile(t, filepath.Join(root, f), filepath.Join(fixture, f))
		}
	}

	// The model owner, once: sign the layout and pin the base model.
	bin := filepath.Join(dir, "bin")
	for pkg, out := range map[string]string{"./cmd/mlattest": "mlattest", "./examples/pipeline/finetune": "finetune"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, out), pkg)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	const owner = "model-owner@acme.example"
	stackEnv := []string{"MLATTEST_SIGNING_CONFIG=" + s.SigningConfig, "MLATTEST_TRUSTED_ROOT=" + s.TrustedRoot}
	ownerDo := func(args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, "mlattest"), args...)
		cmd.Dir = fixture
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "SIGSTORE_ID_TOKEN=" + s.Token(t, 1, owner)}, stackEnv...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mlattest %v: %v\n%s", args, err, b)
		}
	}
	layout := filepath.Join(fixture, "examples/github-actions/layout.yaml")
	b, err := os.ReadFile(layout)
	if err != nil {
		t.Fatal(err)
	}
	stackLayout := strings.NewReplacer("https://token.actions.githubusercontent.com", ghIssuer, "https://accounts.google.com", s.Issuer1).Replace(string(b))
	if stackLayout == string(b) {
		t.Fatal("the layout names neither GitHub's nor the owner's issuer")
	}
	writeTestFile(t, layout, stackLayout)
	ownerDo("layout", "sign", layout)
	var wf ghWorkflow
	wfBytes, err := os.ReadFile(filepath.Join(root, "examples/github-actions/finetune.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(wfBytes, &wf); err != nil {
		t.Fatal(err)
	}
	hub := filepath.Join(dir, "hub")
	if b, err := exec.Command(filepath.Join(bin, "finetune"), "init-base", "--out", filepath.Join(hub, "model.safetensors")).CombinedOutput(); err != nil {
		t.Fatalf("init-base: %v %s", err, b)
	}
	ownerDo("pin", "--base-model", wf.Env["BASE_MODEL"]+"="+hub, "--out", filepath.Join(fixture, wf.Env["PIN"]))

	base := append([]string{"HOME=" + dir, "RUNNER_OS=Linux", "RUNNER_ARCH=X64", "GITHUB_ACTOR=octocat", "GOTOOLCHAIN=local"}, stackEnv...)
	// The machine's Go caches (go would look under the jobs' HOME otherwise).
	goenv, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	for i, v := range strings.Split(strings.TrimSpace(string(goenv)), "\n") {
		base = append(base, []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY"}[i]+"="+v)
	}
	base = append(base, "PATH="+os.Getenv("PATH"))
	m := &mirror{t: t, root: root, fixture: fixture, dir: filepath.Join(dir, "jobs"), artifacts: filepath.Join(dir, "artifacts"),
		baseEnv: append(base, run.Env()...), tokenEnv: svc.Env(),
		envOver: map[string]string{"LAYOUT_ISSUER": s.Issuer1},
		skip: map[string]string{
			"registry login": "needs ghcr.io",
			"push":           "the mirror wires no registry (mlattest push is tested against one in cmd/mlattest)",
		}}
	if err := m.runWorkflow(wf); err != nil {
		t.Fatal(err)
	}
	t.Logf("skipped: %s", strings.Join(m.skipped, "; "))
	for _, want := range []string{"data/scan-data", "train/train", "train/scan-model", "evaluate/package", "release/verify", "release/push"} {
		if !slices.Contains(m.reached, want) {
			t.Errorf("step %s never reached: %v", want, m.reached)
		}
	}
	if svc.Served() < 7 {
		t.Errorf("the token service handed out %d tokens, want one per signed stage (7) at least", svc.Served())
	}
	vsa := filepath.Join(m.dir, "release/ws/attestations/model.vsa.sigstore.json")
	if _, err := os.Stat(vsa); err != nil {
		t.Errorf("the release job wrote no VSA: %v", err)
	}

	// A model file changed between the evaluate and release jobs.
	m.reached = nil
	tampered := filepath.Join(m.artifacts, "stage-evaluate/work/release/model.safetensors")
	writeTestFile(t, tampered, "not the trained weights")
	err = m.runWorkflow(wf, "release")
	if err == nil || !strings.Contains(err.Error(), "release/verify") {
		t.Fatalf("a tampered release artifact: err = %v, want the verify step to fail", err)
	}
	if slices.Contains(m.reached, "release/push") {
		t.Error("the push step was reached after verify failed")
	}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
