package stacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// CI names a CI system whose OIDC tokens the stack's Fulcio understands.
type CI string

// The CI issuers of the stack, and the Fulcio issuer type each is mapped to
// (which decides the certificate's extensions).
const (
	GitHub CI = "github-workflow"
	GitLab CI = "gitlab-pipeline"
	// Kubernetes is a cluster's service-account token issuer: no CI
	// system, but minted and certified the same way (see ServiceAccount).
	Kubernetes CI = "kubernetes"
)

// CIIssuer returns the URL of the stack's issuer for ci, or skips (fails
// under CI=true) when the stack predates it: the variable is missing, or
// the running Fulcio does not map the issuer to ci's type.
func (s *Stack) CIIssuer(t testing.TB, ci CI) string {
	t.Helper()
	iss, env := s.IssuerGitHub, envIssuerGitHub
	switch ci {
	case GitLab:
		iss, env = s.IssuerGitLab, envIssuerGitLab
	case Kubernetes:
		iss, env = s.IssuerKubernetes, envIssuerK8s
	}
	const again = "scripts/stack.sh start (it restarts a Fulcio whose issuer config changed)"
	if iss == "" {
		unavailableWith(t, again, "%s is not set: the stack was started by an older scripts/stack.sh", env)
	}
	typ, err := fulcioIssuerType(s.FulcioURL, iss)
	if err != nil {
		unavailableWith(t, again, "Fulcio's configuration: %v", err)
	}
	if typ != string(ci) {
		unavailableWith(t, again, "the running Fulcio maps %s as %q, want %q", iss, typ, ci)
	}
	return iss
}

// fulcioIssuerType asks Fulcio how it maps an issuer ("" when it does not).
func fulcioIssuerType(fulcioURL, issuer string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(fulcioURL, "/")+"/api/v2/configuration", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var cfg struct {
		Issuers []struct {
			IssuerURL  string `json:"issuerUrl"`
			IssuerType string `json:"issuerType"`
		} `json:"issuers"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&cfg); err != nil {
		return "", fmt.Errorf("%s: %w", req.URL, err)
	}
	for _, i := range cfg.Issuers {
		if i.IssuerURL == issuer {
			return i.IssuerType, nil
		}
	}
	return "", nil
}

// CIToken mints a token from the stack's issuer for ci with the given
// subject and CI claims (see GitHubRun.Claims, GitLabJob.Claims).
func (s *Stack) CIToken(t testing.TB, ci CI, subject string, claims map[string]any) string {
	t.Helper()
	tok, err := MintCIToken(context.Background(), s.CIIssuer(t, ci), subject, claims)
	if err != nil {
		t.Fatalf("stacktest: minting a %s token for %s: %v", ci, subject, err)
	}
	return tok
}

// MintCIToken calls the oidcserver's POST /mint with the claims as its body.
func MintCIToken(ctx context.Context, issuerURL, subject string, claims map[string]any) (string, error) {
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return mintToken(ctx, issuerURL, subject, nil, body)
}

// GitHubRun is one GitHub Actions job: what its OIDC token says and what
// its environment says, kept consistent with each other.
type GitHubRun struct {
	Repository string // OWNER/REPO
	Workflow   string // path of the workflow file, .github/workflows/x.yml
	Ref        string // refs/heads/main
	SHA        string // the commit built (40 hex)
	RunID      string
	RunAttempt string
	Event      string // push, workflow_dispatch, ...
	// JobWorkflow is the workflow file whose job runs, when it is a reusable
	// workflow of another file (its ref is then JobWorkflowRef); empty: Workflow.
	JobWorkflow, JobWorkflowRef string
}

func (g GitHubRun) owner() string { o, _, _ := strings.Cut(g.Repository, "/"); return o }

// WorkflowRef is GitHub's workflow_ref: OWNER/REPO/PATH@REF.
func (g GitHubRun) WorkflowRef() string { return g.Repository + "/" + g.Workflow + "@" + g.Ref }

// jobWorkflowRef is the job_workflow_ref claim (the certificate's SAN).
func (g GitHubRun) jobWorkflowRef() string {
	if g.JobWorkflow == "" {
		return g.WorkflowRef()
	}
	ref := g.JobWorkflowRef
	if ref == "" {
		ref = g.Ref
	}
	return g.Repository + "/" + g.JobWorkflow + "@" + ref
}

// SignerURI is the certificate subject Fulcio gives this job:
// https://github.com/ + job_workflow_ref.
func (g GitHubRun) SignerURI() string { return "https://github.com/" + g.jobWorkflowRef() }

// Subject is the token's sub claim.
func (g GitHubRun) Subject() string { return "repo:" + g.Repository + ":ref:" + g.Ref }

// Claims are the token's GitHub claims, every one Fulcio's github-workflow
// issuer type requires.
func (g GitHubRun) Claims() map[string]any {
	return map[string]any{
		"repository": g.Repository, "repository_id": "1000001", "repository_owner": g.owner(),
		"repository_owner_id": "2000002", "repository_visibility": "private",
		"ref": g.Ref, "ref_type": "branch", "sha": g.SHA, "event_name": g.Event,
		"workflow": g.Workflow, "workflow_ref": g.WorkflowRef(), "workflow_sha": g.SHA,
		"job_workflow_ref": g.jobWorkflowRef(), "job_workflow_sha": g.SHA,
		"run_id": g.RunID, "run_number": "1", "run_attempt": g.RunAttempt,
		"runner_environment": "github-hosted", "actor": "octocat", "actor_id": "3000003",
	}
}

// Env is the job's GitHub Actions environment (the GITHUB_* variables
// mlattest reads for the run id and records).
func (g GitHubRun) Env() []string {
	return []string{
		"GITHUB_ACTIONS=true", "GITHUB_SERVER_URL=https://github.com", "GITHUB_REPOSITORY=" + g.Repository,
		"GITHUB_RUN_ID=" + g.RunID, "GITHUB_RUN_ATTEMPT=" + g.RunAttempt, "GITHUB_WORKFLOW_REF=" + g.WorkflowRef(),
		"GITHUB_SHA=" + g.SHA, "GITHUB_REF=" + g.Ref, "GITHUB_EVENT_NAME=" + g.Event,
	}
}

// GitLabJob is one GitLab CI job's id_token claims.
type GitLabJob struct {
	Project string // group/project
	Ref     string // branch name
	SHA     string
	JobID   string
}

// Subject is the token's sub claim.
func (g GitLabJob) Subject() string {
	return "project_path:" + g.Project + ":ref_type:branch:ref:" + g.Ref
}

// SignerURI is the certificate subject Fulcio gives this job: the CI
// config's URI.
func (g GitLabJob) SignerURI() string {
	return "https://gitlab.com/" + g.Project + "//.gitlab-ci.yml@refs/heads/" + g.Ref
}

// JobURL is the job's URL (CI_JOB_URL), which Fulcio certifies as the run
// invocation URI.
func (g GitLabJob) JobURL() string { return "https://gitlab.com/" + g.Project + "/-/jobs/" + g.JobID }

// Claims are the token's GitLab claims, every one Fulcio's gitlab-pipeline
// issuer type requires.
func (g GitLabJob) Claims() map[string]any {
	ns, _, _ := strings.Cut(g.Project, "/")
	return map[string]any{
		"project_path": g.Project, "project_id": "42", "namespace_path": ns, "namespace_id": "7",
		"pipeline_source": "push", "pipeline_id": "9001", "job_id": g.JobID,
		"ci_config_ref_uri": "gitlab.com/" + g.Project + "//.gitlab-ci.yml@refs/heads/" + g.Ref,
		"ci_config_sha":     g.SHA, "ref": g.Ref, "ref_type": "branch", "sha": g.SHA,
		"runner_environment": "gitlab-hosted", "runner_id": 12345, "project_visibility": "private",
	}
}

// ServiceAccount is a Kubernetes service account whose pods' projected
// tokens (audience sigstore) sign.
type ServiceAccount struct {
	Namespace, Name string
}

// Subject is the token's sub claim.
func (a ServiceAccount) Subject() string {
	return "system:serviceaccount:" + a.Namespace + ":" + a.Name
}

// SignerURI is the certificate's SAN URI Fulcio's kubernetes issuer type
// derives from the kubernetes.io claim.
func (a ServiceAccount) SignerURI() string {
	return "https://kubernetes.io/namespaces/" + a.Namespace + "/serviceaccounts/" + a.Name
}

// Claims are a projected token's kubernetes.io claim for a pod of the
// account (fixed uids: no cluster hands them out here).
func (a ServiceAccount) Claims(pod string) map[string]any {
	return map[string]any{"kubernetes.io": map[string]any{
		"namespace":      a.Namespace,
		"pod":            map[string]any{"name": pod, "uid": "49ad3572-b3dd-43a6-8d77-5858d3660275"},
		"serviceaccount": map[string]any{"name": a.Name, "uid": "f5720c1d-e152-4356-a897-11b07aff165d"},
	}}
}

// ActionsTokenService behaves like the GitHub Actions runtime's OIDC token
// endpoint (ACTIONS_ID_TOKEN_REQUEST_URL): a GET with the job's request
// token as bearer and an audience parameter, answered with {"value": JWT}.
// It refuses a wrong bearer (401) or audience (400), and fails or stalls
// requests on demand.
type ActionsTokenService struct {
	URL          string // with a query of its own, as GitHub's is
	RequestToken string
	Audience     string // the audience it accepts

	mint     func(ctx context.Context, audience string) (string, error)
	mu       sync.Mutex
	failures []int // statuses for the next requests
	delay    time.Duration
	served   int
}

// NewActionsTokenService starts the endpoint for the test; mint makes the
// token it hands out.
func NewActionsTokenService(t testing.TB, mint func(ctx context.Context, audience string) (string, error)) *ActionsTokenService {
	t.Helper()
	a := &ActionsTokenService{RequestToken: "ghs_requesttoken-" + fmt.Sprint(time.Now().UnixNano()), Audience: "sigstore", mint: mint}
	srv := httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(srv.Close)
	a.URL = srv.URL + "/_apis/distributedtask/idtoken?api-version=2.0"
	return a
}

// GitHubTokens is a mint function handing out the stack's GitHub-type
// tokens for run.
func (s *Stack) GitHubTokens(t testing.TB, run GitHubRun) func(context.Context, string) (string, error) {
	t.Helper()
	iss := s.CIIssuer(t, GitHub)
	return func(ctx context.Context, _ string) (string, error) {
		return MintCIToken(ctx, iss, run.Subject(), run.Claims())
	}
}

// Env is the job environment pointing at the service.
func (a *ActionsTokenService) Env() []string {
	return []string{"ACTIONS_ID_TOKEN_REQUEST_URL=" + a.URL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + a.RequestToken}
}

// FailNext makes the next n requests fail with status.
func (a *ActionsTokenService) FailNext(status, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for range n {
		a.failures = append(a.failures, status)
	}
}

// Delay makes every request wait d before it is answered.
func (a *ActionsTokenService) Delay(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.delay = d
}

// Served is the number of tokens handed out.
func (a *ActionsTokenService) Served() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.served
}

func (a *ActionsTokenService) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	delay, status := a.delay, 0
	if len(a.failures) > 0 {
		status, a.failures = a.failures[0], a.failures[1:]
	}
	a.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch {
	case status != 0:
		http.Error(w, `{"message":"injected failure"}`, status)
	case r.Method != http.MethodGet:
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
	case !strings.EqualFold(scheme, "bearer") || tok != a.RequestToken:
		http.Error(w, `{"message":"bad bearer token"}`, http.StatusUnauthorized)
	case r.URL.Query().Get("api-version") != "2.0":
		http.Error(w, `{"message":"api-version dropped"}`, http.StatusBadRequest)
	case r.URL.Query().Get("audience") != a.Audience:
		http.Error(w, `{"message":"unexpected audience"}`, http.StatusBadRequest)
	default:
		jwt, err := a.mint(r.Context(), r.URL.Query().Get("audience"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		a.mu.Lock()
		a.served++
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"count": len(jwt), "value": jwt})
	}
}
