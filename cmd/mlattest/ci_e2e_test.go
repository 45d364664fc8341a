package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/stacktest"
)

// ciRun is one `release` step recorded in dir: raw.jsonl in, release/ out.
func ciRun(t *testing.T, dir, out string, env []string) cliResult {
	t.Helper()
	writeFile(t, filepath.Join(dir, "raw.jsonl"), "{\"instruction\":\"a\",\"output\":\"b\"}\n")
	return mlattest(t, dir, env, "run", "--step", "release", "--out", out,
		"--materials", "raw.jsonl", "--products", "release", "--",
		"sh", "-c", "mkdir -p release && cp raw.jsonl release/data.jsonl")
}

// ciLayout is a one-step layout whose functionary "ci" is the keyless
// identity given (YAML lines under keyless:), signed by the stack's owner.
func ciLayout(t *testing.T, s *stacktest.Stack, dir, keyless string) string {
	t.Helper()
	path := filepath.Join(dir, "layout.yaml")
	writeFile(t, path, `serial: 1
expires: "2099-01-01T00:00:00Z"
functionaries:
  ci:
    keyless:
`+keyless+`
steps:
  - name: release
    functionaries: [ci]
    expectedMaterials: [ALLOW raw.jsonl, DISALLOW *]
    expectedProducts: [CREATE release/data.jsonl, DISALLOW *]
subject:
  step: release
  patterns: ["release/*"]
`)
	if r := mlattest(t, dir, stackEnv(s, s.Token(t, 1, "model-owner@example.com")), "layout", "sign", path); r.code != 0 {
		t.Fatalf("layout sign: %v", r)
	}
	return path
}

type verifyReport struct {
	Passed   bool `json:"passed"`
	Failures []struct {
		Code   string `json:"code"`
		Step   string `json:"step"`
		Reason string `json:"reason"`
	} `json:"failures"`
}

func ciVerify(t *testing.T, s *stacktest.Stack, dir, layout, att string) (cliResult, verifyReport) {
	t.Helper()
	r := mlattest(t, dir, []string{"MLATTEST_TRUSTED_ROOT=" + s.TrustedRoot}, "verify", "--layout", layout,
		"--layout-identity", "model-owner@example.com", "--layout-oidc-issuer", s.Issuer1,
		"--attestations", att, "--model", filepath.Join(dir, "release"), "--json")
	var rep verifyReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("verify --json: %v\n%v", err, r)
	}
	return r, rep
}

// TestE2EGitHubActionsAmbientToken: in a GitHub Actions job (its
// environment and the runtime's token endpoint, here the fake one handing
// out the stack's GitHub-type tokens), `mlattest run` signs with the job's
// identity with no token given; the certificate carries GitHub's workflow
// extensions, and a layout functionary naming the repository, the workflow
// ref and the git ref admits it, while one naming another workflow, ref or
// repository does not.
func TestE2EGitHubActionsAmbientToken(t *testing.T) {
	s := stacktest.Get(t)
	run := stacktest.GitHubRun{Repository: "acme/models", Workflow: ".github/workflows/finetune.yml", Ref: "refs/heads/main",
		SHA: strings.Repeat("c0", 20), RunID: "4242", RunAttempt: "1", Event: "push"}
	svc := stacktest.NewActionsTokenService(t, s.GitHubTokens(t, run))
	iss := s.CIIssuer(t, stacktest.GitHub)
	dir := t.TempDir()
	att := filepath.Join(dir, "att")
	env := append(append([]string{"MLATTEST_SIGNING_CONFIG=" + s.SigningConfig, "MLATTEST_TRUSTED_ROOT=" + s.TrustedRoot},
		run.Env()...), svc.Env()...)
	if r := ciRun(t, dir, att, env); r.code != 0 {
		t.Fatalf("run with the ambient token: %v", r)
	}
	if svc.Served() == 0 {
		t.Fatal("the token endpoint handed out no token: the job's identity was not used")
	}
	bundle := filepath.Join(att, "release.link.sigstore.json")
	r := mlattest(t, dir, nil, "verify-bundle", "--bundle", bundle, "--artifact", filepath.Join(dir, "release", "data.jsonl"),
		"--certificate-identity", run.SignerURI(), "--certificate-oidc-issuer", iss, "--trusted-root", s.TrustedRoot)
	if r.code != 0 {
		t.Fatalf("verify-bundle as %s: %v", run.SignerURI(), r)
	}
	for _, want := range []string{"https://github.com/acme/models/actions/runs/4242/attempts/1", "refs/heads/main", "https://github.com/acme/models"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("verify-bundle does not show the certificate's %s:\n%s", want, r.stdout)
		}
	}

	identity := func(subject, repo, ref, config string) string {
		return fmt.Sprintf("      issuer: %s\n      subject: %s\n      extensions:\n        sourceRepositoryURI: %s\n        sourceRepositoryRef: %s\n        buildConfigURI: %s\n",
			iss, subject, repo, ref, config)
	}
	good := [4]string{run.SignerURI(), "https://github.com/acme/models", "refs/heads/main", "https://github.com/" + run.WorkflowRef()}
	tests := []struct {
		name  string
		edit  func(id *[4]string)
		wants bool
	}{
		{"repository, workflow ref and ref", func(*[4]string) {}, true},
		{"another workflow of the repository", func(id *[4]string) {
			id[0] = "https://github.com/acme/models/.github/workflows/release.yml@refs/heads/main"
			id[3] = id[0]
		}, false},
		{"the workflow at another ref", func(id *[4]string) { id[2] = "refs/heads/dev" }, false},
		{"another repository", func(id *[4]string) { id[1] = "https://github.com/acme/other" }, false},
		{"workflow ref extension only wrong", func(id *[4]string) {
			id[3] = "https://github.com/acme/models/.github/workflows/evil.yml@refs/heads/main"
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := good
			tc.edit(&id)
			layout := ciLayout(t, s, t.TempDir(), identity(id[0], id[1], id[2], id[3]))
			r, rep := ciVerify(t, s, dir, layout, att)
			if tc.wants {
				if r.code != 0 || !rep.Passed {
					t.Fatalf("the job's own identity is refused: %v", r)
				}
				return
			}
			if r.code != 1 || rep.Passed {
				t.Fatalf("a layout naming another identity admitted the job: %v", r)
			}
			// The job's statements do not count for the step: it is missing.
			for _, f := range rep.Failures {
				if f.Step == "release" && f.Code == "step-missing" {
					return
				}
			}
			t.Fatalf("no step-missing failure for the release step: %s", r.stdout)
		})
	}
}

// TestE2EGitHubActionsTokenFailures: when the token endpoint fails, `mlattest
// run` exits 125 naming the failure (never the request token) and keeps the
// statements, which `mlattest sign` finishes once the endpoint answers.
func TestE2EGitHubActionsTokenFailures(t *testing.T) {
	s := stacktest.Get(t)
	run := stacktest.GitHubRun{Repository: "acme/models", Workflow: ".github/workflows/finetune.yml", Ref: "refs/heads/main",
		SHA: strings.Repeat("d1", 20), RunID: "77", RunAttempt: "2", Event: "push"}
	svc := stacktest.NewActionsTokenService(t, s.GitHubTokens(t, run))
	base := append([]string{"MLATTEST_SIGNING_CONFIG=" + s.SigningConfig, "MLATTEST_TRUSTED_ROOT=" + s.TrustedRoot}, run.Env()...)
	tests := []struct {
		name    string
		env     []string
		fail    int
		wantErr string
	}{
		{"service error", svc.Env(), http.StatusInternalServerError, "HTTP 500"},
		{"wrong request token", []string{"ACTIONS_ID_TOKEN_REQUEST_URL=" + svc.URL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN=ghs_stolen"}, 0, "HTTP 401"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			att := filepath.Join(dir, "att")
			if tc.fail != 0 {
				svc.FailNext(tc.fail, 1)
			}
			r := ciRun(t, dir, att, append(append([]string{}, base...), tc.env...))
			if r.code != 125 || !strings.Contains(r.stderr, tc.wantErr) {
				t.Fatalf("want exit 125 saying %q, got %v", tc.wantErr, r)
			}
			if strings.Contains(r.stderr+r.stdout, svc.RequestToken) || strings.Contains(r.stderr+r.stdout, "ghs_stolen") {
				t.Fatal("the output shows the request token")
			}
			if kept, _ := filepath.Glob(filepath.Join(att, "*.UNSIGNED.intoto.json")); len(kept) != 1 {
				t.Fatalf("want the link kept unsigned, got %v", kept)
			}
			if r := mlattest(t, dir, append(append([]string{}, base...), svc.Env()...), "sign", att); r.code != 0 {
				t.Fatalf("mlattest sign with the endpoint back: %v", r)
			}
			if _, err := os.Stat(filepath.Join(att, "release.link.sigstore.json")); err != nil {
				t.Fatalf("no bundle after mlattest sign: %v", err)
			}
		})
	}
}

// TestE2EGitLabIDToken: a GitLab CI job's id_token in SIGSTORE_ID_TOKEN
// signs with the job's identity; the certificate carries GitLab's
// extensions (project, ref, job URL as the run), which a layout names.
func TestE2EGitLabIDToken(t *testing.T) {
	s := stacktest.Get(t)
	job := stacktest.GitLabJob{Project: "acme/models", Ref: "main", SHA: strings.Repeat("e2", 20), JobID: "31337"}
	iss := s.CIIssuer(t, stacktest.GitLab)
	dir := t.TempDir()
	att := filepath.Join(dir, "att")
	// GitLab certifies the job (its URL), so the job's URL is the run id.
	env := append(stackEnv(s, s.CIToken(t, stacktest.GitLab, job.Subject(), job.Claims())), "MLATTEST_RUN_ID="+job.JobURL())
	if r := ciRun(t, dir, att, env); r.code != 0 {
		t.Fatalf("run with the GitLab id_token: %v", r)
	}
	r := mlattest(t, dir, nil, "verify-bundle", "--bundle", filepath.Join(att, "release.link.sigstore.json"),
		"--artifact", filepath.Join(dir, "release", "data.jsonl"), "--certificate-identity-regexp", ".*",
		"--certificate-oidc-issuer", iss, "--trusted-root", s.TrustedRoot)
	if r.code != 0 || !strings.Contains(r.stdout, job.JobURL()) {
		t.Fatalf("verify-bundle: want the job URL %s shown: %v", job.JobURL(), r)
	}
	for _, tc := range []struct {
		ref   string
		wants bool
	}{{"refs/heads/main", true}, {"refs/heads/dev", false}} {
		t.Run(tc.ref, func(t *testing.T) {
			layout := ciLayout(t, s, t.TempDir(), fmt.Sprintf("      issuer: %s\n      subject: %s\n      extensions:\n        sourceRepositoryURI: https://gitlab.com/acme/models\n        sourceRepositoryRef: %s\n",
				iss, job.SignerURI(), tc.ref))
			r, rep := ciVerify(t, s, dir, layout, att)
			if got := r.code == 0 && rep.Passed; got != tc.wants {
				t.Fatalf("passed = %v, want %v: %v", got, tc.wants, r)
			}
		})
	}
}
