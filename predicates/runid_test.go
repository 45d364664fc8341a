package predicates_test

import (
	"testing"

	"github.com/mlattest/mlattest/attest"
	"github.com/mlattest/mlattest/predicates"
)

func TestRunIDFromInvocationURI(t *testing.T) {
	for _, tc := range []struct{ uri, want string }{
		{"https://github.com/acme/finetune/actions/runs/1234/attempts/1", "acme/finetune/1234-1"},
		{"https://ghe.example.com/org/repo/actions/runs/9/attempts/12", "org/repo/9-12"},
		// Anything else is its own run id.
		{"https://github.com/acme/finetune/actions/runs/1234", "https://github.com/acme/finetune/actions/runs/1234"},
		{"https://github.com/acme/finetune/actions/runs/12x/attempts/1", "https://github.com/acme/finetune/actions/runs/12x/attempts/1"},
		{"https://github.com/acme/finetune/actions/runs/1/attempts/1?x=1", "https://github.com/acme/finetune/actions/runs/1/attempts/1?x=1"},
		{"https://github.com/a/../actions/runs/1/attempts/1", "https://github.com/a/../actions/runs/1/attempts/1"},
		{"https://gitlab.example.com/group/project/-/jobs/42", "https://gitlab.example.com/group/project/-/jobs/42"},
		{"", ""},
	} {
		if got := predicates.RunIDFromInvocationURI(tc.uri); got != tc.want {
			t.Errorf("RunIDFromInvocationURI(%q) = %q, want %q", tc.uri, got, tc.want)
		}
	}
}

// The id derived from the certificate must be the one `mlattest run` records
// in GitHub Actions, or every CI-bound run would be rejected.
func TestRunIDFromInvocationURIMatchesResolveRunID(t *testing.T) {
	env := map[string]string{
		"GITHUB_ACTIONS":     "true",
		"GITHUB_RUN_ID":      "987654321",
		"GITHUB_RUN_ATTEMPT": "3",
		"GITHUB_REPOSITORY":  "acme/finetune",
		"GITHUB_SERVER_URL":  "https://github.com",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	id, err := attest.ResolveRunID("", lookup)
	if err != nil {
		t.Fatal(err)
	}
	uri := env["GITHUB_SERVER_URL"] + "/" + env["GITHUB_REPOSITORY"] + "/actions/runs/" + env["GITHUB_RUN_ID"] + "/attempts/" + env["GITHUB_RUN_ATTEMPT"]
	if got := predicates.RunIDFromInvocationURI(uri); got != id {
		t.Fatalf("RunIDFromInvocationURI(%q) = %q, attest.ResolveRunID = %q", uri, got, id)
	}
}
