package gate

// Issue 10, classes 3 and 4, against the attack suite's pipeline: a
// functionary signs statements of types the layout does not evaluate
// (look-alikes of link v0.3 and provenance v1, another statement version,
// a scan or pin no step reads), and training provenances whose data turns
// a CEL error into a "missing field" that allowMissing used to forgive.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/mlattest/mlattest/predicates"
)

// fixtureStatement decodes the statement a fixture bundle signs.
func (f *attackFixture) fixtureStatement(t *testing.T, name string) (*intoto.Statement, []byte) {
	t.Helper()
	var b struct {
		DSSE struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(f.bundles[name], &b); err != nil {
		t.Fatal(err)
	}
	payload, err := base64.StdEncoding.DecodeString(b.DSSE.Payload)
	if err != nil {
		t.Fatal(err)
	}
	st, err := predicates.ParseStatement(payload)
	if err != nil {
		t.Fatal(err)
	}
	return st, payload
}

// withHyperparameters is a training provenance with the given
// hyperparameters (attacker-chosen data a trainer signs).
func withHyperparameters(t *testing.T, prov *intoto.Statement, hp map[string]any) *intoto.Statement {
	t.Helper()
	v, err := structpb.NewStruct(hp)
	if err != nil {
		t.Fatal(err)
	}
	c := retyped(prov, prov.GetPredicateType())
	bd := c.GetPredicate().GetFields()["buildDefinition"].GetStructValue()
	bd.GetFields()["externalParameters"].GetStructValue().GetFields()["hyperparameters"] = structpb.NewStructValue(v)
	return c
}

func TestAttacksStrict(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local Sigstore stack")
	}
	f := buildFixture(t)

	trainLink, _ := f.fixtureStatement(t, "train.link.t1")
	prov, _ := f.fixtureStatement(t, "train.prov.t1")
	_, pkgPayload := f.fixtureStatement(t, "package.link")
	scan, err := predicates.NewModelScanStatement(predicates.ModelScanInput{Step: "train", RunID: runID,
		Scanner: predicates.ModelScanScanner{Name: "mlattest", Policy: "default"},
		Files: []predicates.ModelScanFile{{Path: "model/model.safetensors", SHA256: hexSum(weights), Format: "pickle", Verdict: "malicious", Pickle: true,
			Findings: []predicates.ModelScanFinding{{Rule: "pickle-global", Severity: "malicious", Offset: 2, Message: "os.system"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	pin, err := predicates.NewModelPinStatement(predicates.ModelPin{Repository: "hf://acme/base", Revision: strings.Repeat("a", 40),
		Files: []predicates.ModelPinFile{{Path: "base.bin", SHA256: hexSum(baseModel)}}})
	if err != nil {
		t.Fatal(err)
	}
	// Another _type, with the payload otherwise as signed.
	restated := func(typ string) []byte {
		out := bytes.Replace(pkgPayload, []byte(`"_type":"`+predicates.StatementTypeV1+`"`), []byte(`"_type":"`+typ+`"`), 1)
		if bytes.Equal(out, pkgPayload) {
			t.Fatal("no _type to replace")
		}
		return out
	}
	const linkAlias = "https://in-toto.io/Link/v1"
	jobs := []signJob{
		{name: "train.link-alias.t1", signer: trainer1, stmt: retyped(trainLink, linkAlias)},
		{name: "train.link-slash.t2", signer: trainer2, stmt: retyped(trainLink, predicates.LinkV03+"/")},
		{name: "train.link-v0.3-alias.t1", signer: trainer1, stmt: retyped(trainLink, "https://in-toto.io/attestation/link/v0.3/")},
		{name: "train.prov-case.t1", signer: trainer1, stmt: retyped(prov, "HTTPS://SLSA.dev/provenance/v1")},
		{name: "train.model-scan.t1", signer: trainer1, stmt: scan},
		{name: "pin.alice", signer: alice, stmt: pin},
		{name: "package.link.statement-v0.1", signer: packager, raw: restated("https://in-toto.io/Statement/v0.1")},
		{name: "package.link.statement-v1-slash", signer: packager, raw: restated(predicates.StatementTypeV1 + "/")},
		// CEL: data that makes an allowMissing expression fail for a reason
		// other than an absent key.
		{name: "train.prov.until-text", signer: trainer1, stmt: withHyperparameters(t, prov, map[string]any{"until": "no such key"})},
		{name: "train.prov.optimizer-string", signer: trainer1, stmt: withHyperparameters(t, prov, map[string]any{"optimizer": "adam"})},
		{name: "train.prov.pattern", signer: trainer1, stmt: withHyperparameters(t, prov, map[string]any{"builder": "(no such key"})},
		{name: "train.prov.schedule-null", signer: trainer1, stmt: withHyperparameters(t, prov, map[string]any{"schedule": nil})},
		{name: "train.prov.honest-hp", signer: trainer1, stmt: withHyperparameters(t, prov, map[string]any{"optimizer": map[string]any{"lr": 0.001}})},
	}
	const hp = "predicate.buildDefinition.externalParameters.hyperparameters"
	for variant, expr := range map[string]string{
		"cel-timestamp": `timestamp(` + hp + `.until) < timestamp("2030-01-01T00:00:00Z")`,
		"cel-lr":        hp + `.optimizer.lr <= 0.01`,
		"cel-pattern":   `predicate.runDetails.builder.id.matches(` + hp + `.builder)`,
		"cel-schedule":  hp + `.schedule.warmup <= 100`,
	} {
		jobs = append(jobs, f.layoutJob(variant, "{expr: '"+expr+"', allowMissing: true}"))
	}
	extra := f.layoutJob("extra", "'true'")
	extra.blob = append(extra.blob, "allowedExtraPredicates: [\""+linkAlias+"\"]\n"...)
	f.layouts["extra"] = extra.blob
	jobs = append(jobs, extra)
	f.signAll(t, jobs)

	prov1 := []string{"train.prov.t1"}
	cases := []attackCase{
		// Class 3: no signed statement is silently ignored.
		{name: "link look-alike Link/v1 by a train functionary", add: []string{"train.link-alias.t1"},
			code: FailUnexpected, substr: `bundle train.link-alias.t1.sigstore.json: signed statement of predicate type "https://in-toto.io/Link/v1": the layout evaluates no statement of this type`},
		{name: "link v0.3 with a trailing slash", add: []string{"train.link-slash.t2"},
			code: FailUnexpected, substr: "it resembles https://in-toto.io/attestation/link/v0.3, but predicate types are compared exactly"},
		{name: "provenance v1 in another case", add: []string{"train.prov-case.t1"},
			code: FailUnexpected, substr: `"HTTPS://SLSA.dev/provenance/v1": the layout evaluates no statement of this type (a layout lists the types it accepts unevaluated in allowedExtraPredicates); it resembles https://slsa.dev/provenance/v1`},
		{name: "a malicious model scan no step evaluates", add: []string{"train.model-scan.t1"},
			code: FailUnexpected, substr: "bundle train.model-scan.t1.sigstore.json: signed statement of predicate type \"" + predicates.ModelScanV1 + "\""},
		{name: "a model pin without a baseModels section", add: []string{"pin.alice"},
			code: FailUnexpected, substr: "bundle pin.alice.sigstore.json: signed statement of predicate type \"" + predicates.ModelPinV1 + "\""},
		{name: "Statement v0.1 by the package functionary", add: []string{"package.link.statement-v0.1"},
			code: FailUnexpected, substr: `bundle package.link.statement-v0.1.sigstore.json: signed by a functionary, but predicates: not an in-toto Statement v1: _type "https://in-toto.io/Statement/v0.1"`},
		{name: "Statement v1 with a trailing slash", add: []string{"package.link.statement-v1-slash"},
			code: FailUnexpected, substr: `bundle package.link.statement-v1-slash.sigstore.json: signed by a functionary, but statement: statement _type "https://in-toto.io/Statement/v1/" is not an in-toto Statement (v1 or v0.1): the layout evaluates in-toto Statement v1 only`},
		{name: "allowedExtraPredicates is exact: the slash variant still fails", layout: "extra", add: []string{"train.link-v0.3-alias.t1"},
			code: FailUnexpected, substr: `"https://in-toto.io/attestation/link/v0.3/"`},

		// Class 4: allowMissing forgives only an absent key.
		{name: "allowMissing: timestamp of signed text reading no such key", layout: "cel-timestamp", drop: prov1, add: []string{"train.prov.until-text"},
			code: FailExpectation, substr: `invalid RFC 3339 timestamp "no such key"`},
		{name: "allowMissing: a field of a string is a type error", layout: "cel-lr", drop: prov1, add: []string{"train.prov.optimizer-string"},
			code: FailExpectation, substr: "cannot select field lr of a string"},
		{name: "allowMissing: a signed regexp whose error reads no such key", layout: "cel-pattern", drop: prov1, add: []string{"train.prov.pattern"},
			code: FailExpectation, substr: "error parsing regexp"},
		{name: "allowMissing: a field of null is a type error", layout: "cel-schedule", drop: prov1, add: []string{"train.prov.schedule-null"},
			code: FailExpectation, substr: "cannot select field warmup of a null_type"},
		// ... and still forgives the absent key, and checks a present one.
		{name: "allowMissing: absent hyperparameters pass", layout: "cel-lr", pass: true},
		{name: "allowMissing: present and within bounds passes", layout: "cel-lr", drop: prov1, add: []string{"train.prov.honest-hp"}, pass: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f.check(t, tc)
		})
	}

	t.Run("an allowed extra type is reported ignored and left out of the VSA inputs", func(t *testing.T) {
		t.Parallel()
		rep := f.check(t, attackCase{layout: "extra", add: []string{"train.link-alias.t1"}, pass: true})
		var ignored []string
		for _, b := range rep.Bundles {
			if b.Ignored != "" {
				ignored = append(ignored, b.File+": "+b.Ignored)
			}
		}
		want := "train.link-alias.t1.sigstore.json: predicate type " + linkAlias + ": the layout evaluates no statement of this type, and allowedExtraPredicates lists it"
		if !slices.Equal(ignored, []string{want}) {
			t.Errorf("ignored bundles %q, want [%q]", ignored, want)
		}
		var inputs []string
		for _, in := range rep.EvaluatedAttestations() {
			inputs = append(inputs, in.URI)
		}
		var wantInputs []string
		for _, n := range baseline {
			wantInputs = append(wantInputs, n+".sigstore.json")
		}
		slices.Sort(wantInputs)
		if !slices.Equal(inputs, wantInputs) {
			t.Errorf("VSA inputs %q, want exactly the evaluated baseline %q", inputs, wantInputs)
		}
	})
}
