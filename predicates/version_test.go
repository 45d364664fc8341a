package predicates

import (
	"encoding/json"
	"maps"
	"testing"
)

// The recording tool's version goes in each statement's own place for it:
// link byproducts, provenance runDetails.builder.version, VSA
// verifier.version; each is optional.
func TestToolVersionRecorded(t *testing.T) {
	ver := map[string]string{"mlattest": "v1.2.3", "go": "go1.26.8", "commit": "abc123"}
	field := func(t *testing.T, st any, path ...string) any {
		t.Helper()
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		for _, p := range path {
			m, _ := v.(map[string]any)
			v = m[p]
		}
		return v
	}
	t.Run("link", func(t *testing.T) {
		in := linkInput()
		in.Version = "v1.2.3"
		st, err := NewLinkStatement(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := field(t, st.GetPredicate().AsMap(), "byproducts", ByproductVersion); got != "v1.2.3" {
			t.Fatalf("byproducts[%s] = %v", ByproductVersion, got)
		}
		in.Version = ""
		if st, _ = NewLinkStatement(in); field(t, st.GetPredicate().AsMap(), "byproducts", ByproductVersion) != nil {
			t.Fatal("an empty version is recorded")
		}
	})
	t.Run("training provenance", func(t *testing.T) {
		in := trainingInput()
		in.BuilderVersion = ver
		st, err := NewTrainingStatement(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := field(t, st.GetPredicate().AsMap(), "runDetails", "builder", "version", "mlattest"); got != "v1.2.3" {
			t.Fatalf("runDetails.builder.version.mlattest = %v", got)
		}
		back, err := TrainingOf(st)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(back.BuilderVersion, ver) {
			t.Fatalf("TrainingOf read builder version %v, want %v", back.BuilderVersion, ver)
		}
	})
	t.Run("VSA", func(t *testing.T) {
		in := vsaInput()
		in.VerifierVersion = ver
		st, err := NewVSAStatement(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := field(t, st.GetPredicate().AsMap(), "verifier", "version", "commit"); got != "abc123" {
			t.Fatalf("verifier.version.commit = %v", got)
		}
	})
}
