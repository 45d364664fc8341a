package predicates

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// conformanceDir holds statements signed by other projects (see its README).
const conformanceDir = "../../shared/conformance"

// TestConformanceStatements parses every in-toto statement carried by the
// conformance bundles. None of them was written by mlattest, so none may
// yield a binding; the well-formed ones must parse (unknown predicate types
// and other builders' SLSA provenance are the policy's business).
func TestConformanceStatements(t *testing.T) {
	if _, err := os.Stat(conformanceDir); err != nil {
		t.Skipf("conformance data not available: %v", err)
	}
	var n int
	err := filepath.WalkDir(conformanceDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || (d.Name() != "model.sig" && d.Name() != "bundle.sigstore.json") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var bundle struct {
			DSSE *struct {
				Payload     string `json:"payload"`
				PayloadType string `json:"payloadType"`
			} `json:"dsseEnvelope"`
		}
		if err := json.Unmarshal(b, &bundle); err != nil || bundle.DSSE == nil || bundle.DSSE.PayloadType != PayloadType {
			return nil
		}
		payload, err := base64.StdEncoding.DecodeString(bundle.DSSE.Payload)
		if err != nil {
			t.Errorf("%s: payload: %v", path, err)
			return nil
		}
		n++
		st, err := ParseStatement(payload)
		if err != nil {
			t.Errorf("%s: ParseStatement rejected a well-formed statement: %v", path, err)
			return nil
		}
		bd, err := BindingOf(st)
		if err == nil || !errors.Is(err, ErrNoBinding) {
			t.Errorf("%s: BindingOf = %+v, %v; want ErrNoBinding", path, bd, err)
		}
		switch pt := st.GetPredicateType(); {
		case pt == ProvenanceV1:
			if !strings.Contains(err.Error(), "buildType") {
				t.Errorf("%s: provenance rejected for the wrong reason: %v", path, err)
			}
			if _, err := TrainingOf(st); err == nil {
				t.Errorf("%s: TrainingOf accepted another builder's provenance", path)
			}
		case strings.HasPrefix(pt, "https://model_signing/"):
			if _, err := ExitCodeOf(st); err == nil {
				t.Errorf("%s: ExitCodeOf accepted a model-signing statement", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no in-toto statements found in the conformance data")
	}
	t.Logf("%d conformance statements checked", n)
}
