package gate

import (
	"strings"
	"testing"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/layouts"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/verify"
)

// TestEvaluateBaseModels: with a baseModels section, every training
// provenance's base model must be exactly a pin the layout accepts: its own
// allow-list, or a model-pin statement by one of its pinSigners.
func TestEvaluateBaseModels(t *testing.T) {
	const run = "r-1"
	commit := strings.Repeat("c0ffee12", 5)
	model := "hf://acme/base@" + commit
	cfg, weights := hexSum([]byte("cfg")), hexSum([]byte("weights"))
	pin := predicates.ModelPin{Repository: "hf://acme/base", Revision: commit, Files: []predicates.ModelPinFile{
		{Path: "config.json", SHA256: cfg}, {Path: "model.safetensors", SHA256: weights}}}
	owner := verify.Signer{Issuer: ghIssuer, Subject: "owner@acme.example"}
	owner.Extensions.Issuer = ghIssuer

	const owners = `
  owner:
    keyless: {issuer: https://token.actions.githubusercontent.com, subject: owner@acme.example}
`
	base := strings.Replace(unitLayout, "\nsteps:", owners+"steps:", 1)
	bySigner := parseLayout(t, base+"baseModels:\n  pinSigners: [owner]\n")
	inline := parseLayout(t, base+"baseModels:\n  pins:\n    - model: "+model+"\n      files: {config.json: "+cfg+", model.safetensors: "+weights+"}\n")
	noPolicy := parseLayout(t, base)

	pinStmt := func(p predicates.ModelPin) *intoto.Statement {
		st, err := predicates.NewModelPinStatement(p)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	training := func(res ...predicates.Resource) *intoto.Statement {
		now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		st, err := predicates.NewTrainingStatement(predicates.TrainingInput{
			Step: "train", RunID: run, EntryPoint: []string{"train"}, BuilderID: "local", BaseModel: res,
			StartedOn: now, FinishedOn: now.Add(time.Hour), Subjects: []digest.Artifact{modelArt}})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	exact := []predicates.Resource{{URI: model + "/config.json", SHA256: cfg}, {URI: model + "/model.safetensors", SHA256: weights}}
	ci := ciSigner("")
	evidence := func(pinBy *verify.Signer, p predicates.ModelPin, res ...predicates.Resource) []*VerifiedStatement {
		out := []*VerifiedStatement{
			vstmt(t, "train.link", ci, linkStmt(t, "train", run, []string{"train"}, nil, []digest.Artifact{modelArt}, 0)),
			vstmt(t, "train.provenance", ci, training(res...)),
		}
		if pinBy != nil {
			out = append(out, vstmt(t, "pin", *pinBy, pinStmt(p)))
		}
		return out
	}
	otherPin := pin
	otherPin.Files = []predicates.ModelPinFile{{Path: "config.json", SHA256: cfg}, {Path: "model.safetensors", SHA256: hexSum([]byte("other"))}}

	for _, tc := range []struct {
		name   string
		layout *layouts.Layout
		stmts  []*VerifiedStatement
		substr string // "" = pass
	}{
		{"pinned by the pin signer", bySigner, evidence(&owner, pin, exact...), ""},
		{"pinned by the layout", inline, evidence(nil, pin, exact...), ""},
		{"no policy: base models are not checked", noPolicy, evidence(nil, pin, predicates.Resource{URI: "hf://x/y@main/a", SHA256: cfg}), ""},
		{"pin missing", bySigner, evidence(nil, pin, exact...), "base model " + model + " has no pin the layout accepts"},
		{"pin signed by a step functionary, not a pin signer", bySigner, evidence(&ci, pin, exact...), "has no pin the layout accepts"},
		{"weights swapped", bySigner, evidence(&owner, pin, exact[0], predicates.Resource{URI: model + "/model.safetensors", SHA256: hexSum([]byte("evil"))}),
			"file model.safetensors has sha256"},
		{"pinned file missing", inline, evidence(nil, pin, exact[0]), "pinned file model.safetensors is missing"},
		{"extra file", inline, evidence(nil, pin, append(exact, predicates.Resource{URI: model + "/hook.py", SHA256: cfg})...), "extra file hook.py"},
		{"branch instead of commit", inline, evidence(nil, pin, predicates.Resource{URI: "hf://acme/base@main/config.json", SHA256: cfg}), "not a full 40-hex commit"},
		{"not a hub model", inline, evidence(nil, pin, predicates.Resource{URI: "file:///models/base", SHA256: cfg}), "is not named hf://"},
		{"layout and pin statement disagree", parseLayout(t, base+"baseModels:\n  pinSigners: [owner]\n  pins:\n    - model: "+model+"\n      files: {config.json: "+cfg+", model.safetensors: "+weights+"}\n"),
			evidence(&owner, otherPin, exact...), "pinned differently by layout and pin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Evaluate(tc.layout, &Evidence{Statements: tc.stmts}, EvalOptions{Model: modelFiles()})
			if tc.substr == "" {
				if !r.Passed {
					t.Fatalf("want pass:\n%s", failureList(r))
				}
				if tc.layout.BaseModels != nil && (len(r.BaseModels) != 1 || !r.BaseModels[0].Passed || r.BaseModels[0].Model != model || r.BaseModels[0].Step != "train") {
					t.Fatalf("base-model report = %+v", r.BaseModels)
				}
				return
			}
			if r.Passed || !r.HasFailure(FailBaseModel, tc.substr) {
				t.Fatalf("want %s %q, got:\n%s", FailBaseModel, tc.substr, failureList(r))
			}
		})
	}
}
