package attest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"runtime"
	"strings"
)

// EnvAllowList is the fixed list of environment variables recorded in the
// link's environment when set. They describe where the step ran; none of
// them is a secret.
var EnvAllowList = []string{
	"CI",
	"GITHUB_ACTIONS",
	"GITHUB_WORKFLOW",
	"GITHUB_WORKFLOW_REF",
	"GITHUB_RUN_ID",
	"GITHUB_RUN_ATTEMPT",
	"GITHUB_RUN_NUMBER",
	"GITHUB_REPOSITORY",
	"GITHUB_SHA",
	"GITHUB_REF",
	"GITHUB_EVENT_NAME",
	"GITHUB_SERVER_URL",
	"RUNNER_OS",
	"RUNNER_ARCH",
	"RUNNER_ENVIRONMENT",
}

// Keys of the runtime facts recorded beside the environment.
const (
	EnvKeyOS   = "mlattest.dev/os"
	EnvKeyArch = "mlattest.dev/arch"
)

// secretMarkers are substrings of variable names that are never recorded,
// not even when asked for with WithExtraEnv: statements are published in a
// transparency log.
var secretMarkers = []string{"TOKEN", "SECRET", "KEY", "PASSWORD", "PASSWD", "CREDENTIAL", "PRIVATE", "AUTH", "COOKIE", "SESSION"}

// looksSecret reports whether an environment variable name may hold a secret.
func looksSecret(name string) bool {
	u := strings.ToUpper(name)
	for _, m := range secretMarkers {
		if strings.Contains(u, m) {
			return true
		}
	}
	return false
}

// environment returns the recorded allow-list plus the Go runtime's OS and
// architecture.
func environment(lookup func(string) (string, bool), extra []string) map[string]string {
	env := map[string]string{EnvKeyOS: runtime.GOOS, EnvKeyArch: runtime.GOARCH}
	for _, names := range [][]string{EnvAllowList, extra} {
		for _, n := range names {
			if looksSecret(n) {
				continue // belt and braces: WithExtraEnv already refuses these
			}
			if v, ok := lookup(n); ok {
				env[n] = v
			}
		}
	}
	return env
}

// ResolveRunID returns the run id a step is bound to, in this order:
//  1. explicit, when non-empty;
//  2. $MLATTEST_RUN_ID, so a pipeline can export one id for all its steps;
//  3. in GitHub Actions ($GITHUB_ACTIONS=true with $GITHUB_RUN_ID set):
//     "<GITHUB_REPOSITORY>/<GITHUB_RUN_ID>-<GITHUB_RUN_ATTEMPT>", shared by
//     every job of one workflow run attempt (a re-run of failed jobs is a new
//     attempt, so it gets a new id);
//  4. otherwise 128 random bits as 32 hex digits — unique to this step, so
//     the caller must pass it on to the pipeline's other steps.
//
// The result is validated like Step.RunID.
func ResolveRunID(explicit string, lookup func(string) (string, bool)) (string, error) {
	id := explicit
	if id == "" {
		id = AmbientRunID(lookup)
	}
	if id == "" {
		var err error
		if id, err = NewRunID(); err != nil {
			return "", err
		}
	}
	if !runIDRE.MatchString(id) {
		return "", inputErr("run id %q: want letters, digits and ._:/@+- (at most 255)", id)
	}
	return id, nil
}

// AmbientRunID is the run id the environment names ($MLATTEST_RUN_ID, else
// the GitHub Actions run, as ResolveRunID orders them), or "" when it names
// none and ResolveRunID would generate a new one. It is not validated.
func AmbientRunID(lookup func(string) (string, bool)) string {
	if id, _ := lookup("MLATTEST_RUN_ID"); id != "" {
		return id
	}
	if gh, ok := github(lookup); ok {
		return gh.repo + "/" + gh.runID + "-" + gh.attempt
	}
	return ""
}

// NewRunID returns a new random run id: 128 bits as 32 hex digits.
func NewRunID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating run id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

type githubRun struct {
	server, repo, runID, attempt, workflowRef string
}

// github reads the GitHub Actions run facts, when running there.
func github(lookup func(string) (string, bool)) (githubRun, bool) {
	get := func(k string) string { v, _ := lookup(k); return v }
	if get("GITHUB_ACTIONS") != "true" || get("GITHUB_RUN_ID") == "" || get("GITHUB_REPOSITORY") == "" {
		return githubRun{}, false
	}
	g := githubRun{
		server:      strings.TrimSuffix(get("GITHUB_SERVER_URL"), "/"),
		repo:        get("GITHUB_REPOSITORY"),
		runID:       get("GITHUB_RUN_ID"),
		attempt:     get("GITHUB_RUN_ATTEMPT"),
		workflowRef: get("GITHUB_WORKFLOW_REF"),
	}
	if g.server == "" {
		g.server = "https://github.com"
	}
	if g.attempt == "" {
		g.attempt = "1"
	}
	return g, true
}

// LocalBuilderID is the builder id outside CI. It deliberately does not
// name the host: statements are public.
const LocalBuilderID = "mlattest://local"

// builder returns the provenance builder id and invocation URI.
// In GitHub Actions the builder is the workflow file at its ref
// (https://github.com/org/repo/.github/workflows/x.yml@refs/heads/main) and
// the invocation is the run attempt's URL.
func builder(lookup func(string) (string, bool)) (id, invocation string) {
	g, ok := github(lookup)
	if !ok {
		return LocalBuilderID, ""
	}
	id = g.server + "/" + g.repo
	if g.workflowRef != "" {
		id = g.server + "/" + g.workflowRef
	}
	invocation = fmt.Sprintf("%s/%s/actions/runs/%s/attempts/%s", g.server, g.repo, g.runID, g.attempt)
	return id, invocation
}
