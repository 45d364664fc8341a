package gate

import (
	"strings"
	"testing"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/predicates"
)

// TestEvaluateIsolation: a layout that demands an enforced network policy
// of its train step (CEL over the link's "mlattest.dev/isolation"
// byproduct, as mlattest run --network records it) passes a run recorded
// under one and fails, naming the expression, a run without one or with a
// policy only asserted.
func TestEvaluateIsolation(t *testing.T) {
	const run = "https://github.com/acme/train/actions/runs/77/attempts/2"
	const runID = "acme/train/77-2"
	const expr = `"mlattest.dev/isolation" in predicate.byproducts && predicate.byproducts["mlattest.dev/isolation"].enforced && predicate.byproducts["mlattest.dev/isolation"].network in ["none", "allow"]`
	l := parseLayout(t, strings.Replace(unitLayout, `expressions: ['predicate.command[0] == "train"']`, "expressions: ['"+expr+"']", 1))
	for _, tc := range []struct {
		name string
		iso  *predicates.Isolation
		pass bool
	}{
		{"none, enforced", &predicates.Isolation{Network: "none", Enforced: true, Mechanism: "netns",
			Refused: []predicates.Connection{{Proto: "udp", To: "10.0.0.53:53", Count: 2}}}, true},
		{"allow-list, enforced", &predicates.Isolation{Network: "allow", Enforced: true, Mechanism: "userns+netns", Allow: []string{"10.0.0.7:443"}}, true},
		{"no isolation recorded", nil, false},
		{"asserted, not enforced", &predicates.Isolation{Network: "none"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := predicates.NewLinkStatement(predicates.LinkInput{Step: "train", RunID: runID, Command: []string{"train"},
				Products: []digest.Artifact{modelArt}, Isolation: tc.iso})
			if err != nil {
				t.Fatal(err)
			}
			r := Evaluate(l, &Evidence{Statements: []*VerifiedStatement{vstmt(t, "l", ciSigner(run), st)}}, EvalOptions{Model: modelFiles()})
			if tc.pass {
				if !r.Passed {
					t.Fatalf("want pass:\n%s", failureList(r))
				}
				return
			}
			if r.Passed || !r.HasFailure(FailExpectation, "mlattest.dev/isolation") {
				t.Fatalf("want %s naming the isolation expression, got:\n%s", FailExpectation, failureList(r))
			}
		})
	}
}
