package gate

// An OMS model signature as a layout step: the sign-model step expects the
// predicate type https://model_signing/signature/v1.0, its functionary signs
// the released model with the model signing format, and the gate requires
// the signed manifest to list exactly the released model's files and
// digests.

import (
	"context"
	"crypto"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/repotest"
	"github.com/mlattest/mlattest/modelsig"
	"github.com/mlattest/mlattest/sign"
)

// omsRun is prep -> train (mlattest links by ci) plus sign-model (an OMS
// signature by the release key).
func newOMSRun(t *testing.T, predicateType string) (*keyRun, func(t *testing.T, k crypto.Signer, s modelsig.Serialization, dir string)) {
	t.Helper()
	r := newKeyRun(t, "", false)
	release := newKey(t)
	y, err := os.ReadFile(r.layout)
	if err != nil {
		t.Fatal(err)
	}
	// The release key becomes a functionary and sign-model a step.
	head, steps, _ := cut(t, string(y), "steps:\n")
	steps, subject, _ := cut(t, steps, "subject:\n")
	layout := head + "  release:\n    key: |\n" + pemIndented(t, release.Public()) + "\nsteps:\n" + steps + `  - name: sign-model
    functionaries: [release]
    expectedPredicates:
      - type: ` + predicateType + `
subject:
` + subject
	r.setLayout(t, layout)
	signModel := func(t *testing.T, k crypto.Signer, s modelsig.Serialization, dir string) {
		t.Helper()
		if k == nil {
			k = release
		}
		if dir == "" {
			dir = r.model
		}
		m, err := modelsig.Hash(context.Background(), dir, s)
		if err != nil {
			t.Fatal(err)
		}
		m.ModelName = "model"
		payload, err := m.Statement()
		if err != nil {
			t.Fatal(err)
		}
		sg, err := sign.New(sign.WithKey(k), sign.WithOffline())
		if err != nil {
			t.Fatal(err)
		}
		pb, err := sg.SignStatement(context.Background(), payload)
		if err != nil {
			t.Fatal(err)
		}
		if err := sign.WriteBundle(filepath.Join(r.att, "model.sig.sigstore.json"), pb); err != nil {
			t.Fatal(err)
		}
	}
	return r, signModel
}

func cut(t *testing.T, s, sep string) (string, string, bool) {
	t.Helper()
	before, after, ok := strings.Cut(s, sep)
	if !ok {
		t.Fatalf("no %q in %q", sep, s)
	}
	return before, after, ok
}

func TestVerifyLayoutModelSignatureStep(t *testing.T) {
	files := modelsig.Serialization{Method: modelsig.MethodFiles, HashType: modelsig.HashSHA256}
	for _, tc := range []struct {
		name   string
		ptype  string // the type sign-model expects; default the OMS v1.0 type
		sign   func(t *testing.T, r *keyRun, signModel func(*testing.T, crypto.Signer, modelsig.Serialization, string))
		codes  []FailureCode // nil = passes
		substr string
	}{
		{name: "signed by the step's functionary over the released model"},
		{name: "ignore paths recorded in the signature are honoured", sign: func(t *testing.T, r *keyRun, sm func(*testing.T, crypto.Signer, modelsig.Serialization, string)) {
			// Signed with an ignored file present; the released model has
			// only the signed files.
			dir := t.TempDir()
			writeFile(t, dir, "m.bin", koModel)
			writeFile(t, dir, "notes.txt", []byte("scratch"))
			s := files
			s.IgnorePaths = []string{"notes.txt"}
			sm(t, nil, s, dir)
		}},
		{name: "signed by a key the layout does not name", sign: func(t *testing.T, r *keyRun, sm func(*testing.T, crypto.Signer, modelsig.Serialization, string)) {
			sm(t, r.other, files, "")
		}, codes: []FailureCode{FailBundle, FailStepMissing}, substr: "model.sig.sigstore.json: does not verify"},
		{name: "signed by a functionary of another step", sign: func(t *testing.T, r *keyRun, sm func(*testing.T, crypto.Signer, modelsig.Serialization, string)) {
			sm(t, r.ci, files, "")
		}, codes: []FailureCode{FailUnauthorized}, substr: "not a functionary of this step (release)"},
		{name: "signed over a different model (one file changed)", sign: func(t *testing.T, r *keyRun, sm func(*testing.T, crypto.Signer, modelsig.Serialization, string)) {
			dir := t.TempDir()
			writeFile(t, dir, "m.bin", []byte("other weights\n"))
			sm(t, nil, files, dir)
		}, codes: []FailureCode{FailModelSignature}, substr: "the signed manifest is not the released model "},
		{name: "signed over a model with one more file", sign: func(t *testing.T, r *keyRun, sm func(*testing.T, crypto.Signer, modelsig.Serialization, string)) {
			dir := t.TempDir()
			writeFile(t, dir, "m.bin", koModel)
			writeFile(t, dir, "extra.bin", []byte("x"))
			sm(t, nil, files, dir)
		}, codes: []FailureCode{FailModelSignature}, substr: "signed files missing: extra.bin"},
		{name: "sharded manifest", sign: func(t *testing.T, r *keyRun, sm func(*testing.T, crypto.Signer, modelsig.Serialization, string)) {
			sm(t, nil, modelsig.Serialization{Method: modelsig.MethodShards, HashType: modelsig.HashSHA256, ShardSize: 4}, "")
		}, codes: []FailureCode{FailModelSignature}, substr: `"shards" manifest`},
		{name: "missing", sign: func(*testing.T, *keyRun, func(*testing.T, crypto.Signer, modelsig.Serialization, string)) {},
			codes: []FailureCode{FailStepMissing}, substr: "step sign-model: no signed statement for this step"},
		{name: "the layout expects the legacy type", ptype: modelsig.PredicateTypeV02,
			codes: []FailureCode{FailUnexpected, FailStepMissing}, substr: `predicate type "` + modelsig.PredicateType + `"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt := tc.ptype
			if pt == "" {
				pt = modelsig.PredicateType
			}
			r, signModel := newOMSRun(t, pt)
			if tc.sign != nil {
				tc.sign(t, r, signModel)
			} else {
				signModel(t, nil, files, "")
			}
			rep, err := VerifyLayout(context.Background(), r.opts(nil))
			if err != nil {
				t.Fatal(err)
			}
			if tc.codes == nil {
				if !rep.Passed {
					t.Fatalf("want pass:\n%s", failureList(rep))
				}
				st := rep.Steps[2]
				if st.Name != "sign-model" || len(st.Signers) != 1 || !hasCheck(st, "model signature over the released model") {
					t.Errorf("sign-model step = %+v", st)
				}
				return
			}
			if got := rep.FailureCodes(); rep.Passed || !sameCodes(got, tc.codes) || !rep.HasFailure(tc.codes[0], tc.substr) {
				t.Fatalf("want %v with %q, got %v:\n%s", tc.codes, tc.substr, got, failureList(rep))
			}
		})
	}
}

func hasCheck(st StepReport, rule string) bool {
	for _, c := range st.Checks {
		if c.Rule == rule && c.Passed {
			return true
		}
	}
	return false
}

// TestVerifyLayoutModelSignatureConformance: model.sig files the OpenSSF
// model_signing tool wrote (../shared/conformance) perform a sign-model step
// whose functionary is their signer: an elliptic key (v1.0.1's pre-1.1 key
// material included) or a keyless identity on the public-good instance; the
// same signature over a released model with one file changed fails the step.
func TestVerifyLayoutModelSignatureConformance(t *testing.T) {
	conf := repotest.Conformance(t, "model-signing")
	pub, err := os.ReadFile(filepath.Join(conf, "keys", "signing-key-pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	keyFunctionary := "key: |\n      " + strings.ReplaceAll(strings.TrimSpace(string(pub)), "\n", "\n      ")
	// The keyless cases' signer, as the conformance README names it.
	const keyless = `keyless: {issuer: "https://sigstore.verify.ibm.com/oauth2", subject: stefanb@us.ibm.com}`
	const otherIdentity = `keyless: {issuer: "https://sigstore.verify.ibm.com/oauth2", subject: someone-else@us.ibm.com}`
	for _, cs := range []struct{ dir, publisher string }{
		{"v1.0.1-elliptic-key", keyFunctionary}, {"v1.1.0-elliptic-key", keyFunctionary},
		{"v1.1.0-sigstore", keyless}, {"v1.1.0-sigstore", otherIdentity},
	} {
		c, publisher, tm := cs.dir, cs.publisher, root.TrustedMaterial(nil)
		if strings.HasSuffix(c, "-sigstore") {
			tm = publicGoodRoot(t)
		}
		for _, changed := range []bool{false, true} {
			if publisher == otherIdentity && changed {
				continue
			}
			t.Run(fmt.Sprintf("%s changed=%v other-identity=%v", c, changed, publisher == otherIdentity), func(t *testing.T) {
				dir := filepath.Join(conf, c)
				files := map[string][]byte{}
				for _, n := range []string{"signme-1", "signme-2"} {
					if files[n], err = os.ReadFile(filepath.Join(dir, n)); err != nil {
						t.Fatal(err)
					}
				}
				if changed {
					files["signme-2"] = append(files["signme-2"], '!')
				}
				r := &keyRun{dir: t.TempDir(), owner: newKey(t), ci: newKey(t)}
				y := "serial: 1\nexpires: \"2099-01-01T00:00:00Z\"\nfunctionaries:\n  ci:\n    key: |\n" + pemIndented(t, r.ci.Public()) +
					"\n  publisher:\n    " + publisher + `
steps:
  - name: train
    functionaries: [ci]
    expectedProducts: [CREATE model/*, DISALLOW *]
  - name: sign-model
    functionaries: [publisher]
    expectedPredicates:
      - type: ` + modelsig.PredicateType + `
subject:
  step: train
  patterns: ["model/*"]
`
				r.setLayout(t, y)
				r.makeDirs(t)
				var prods []digest.Artifact
				for n, c := range files {
					writeFile(t, r.model, n, c)
					prods = append(prods, art("model/"+n, c))
				}
				r.put(t, "train.link", r.ci, linkStmt(t, "train", "c1", []string{"train"}, nil, prods, 0))
				sig, err := os.ReadFile(filepath.Join(dir, "model.sig"))
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, r.att, "model.sig.sigstore.json", sig)
				rep, err := VerifyLayout(context.Background(), r.opts(tm))
				if err != nil {
					t.Fatal(err)
				}
				if publisher == otherIdentity {
					if got := rep.FailureCodes(); rep.Passed || !sameCodes(got, []FailureCode{FailBundle, FailStepMissing}) || !rep.HasFailure(FailBundle, "identity") {
						t.Fatalf("want the signature refused for its identity and sign-model missing, got %v:\n%s", got, failureList(rep))
					}
					return
				}
				if !changed {
					if !rep.Passed {
						t.Fatalf("want pass:\n%s", failureList(rep))
					}
					return
				}
				if got := rep.FailureCodes(); rep.Passed || !sameCodes(got, []FailureCode{FailModelSignature}) || !rep.HasFailure(FailModelSignature, "changed: signme-2") {
					t.Fatalf("want model-signature naming signme-2, got %v:\n%s", got, failureList(rep))
				}
			})
		}
	}
}
