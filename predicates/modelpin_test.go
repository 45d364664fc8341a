package predicates

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
)

func TestModelPin(t *testing.T) {
	rev := strings.Repeat("ab", 20)
	p := ModelPin{Repository: "hf://org/base", Revision: rev, Files: []ModelPinFile{
		{Path: "model.safetensors", SHA256: strings.Repeat("1", 64)}, {Path: "config.json", SHA256: strings.Repeat("2", 64)}}}
	st, err := NewModelPinStatement(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	st2, err := ParseStatement(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ModelPinOf(st2)
	if err != nil || got.URI() != "hf://org/base@"+rev || got.Files[0].Path != "config.json" {
		t.Fatalf("%+v %v", got, err)
	}
	if st2.GetSubject()[1].GetName() != "hf://org/base@"+rev+"/model.safetensors" {
		t.Fatalf("subjects %v", st2.GetSubject())
	}
	// A subject that disagrees with the predicate is refused.
	st2.Subject[0].Digest["sha256"] = strings.Repeat("3", 64)
	if _, err := ModelPinOf(st2); err == nil {
		t.Fatal("mismatched subject accepted")
	}
	for name, mut := range map[string]func(*ModelPin){
		"branch":       func(p *ModelPin) { p.Revision = "main" },
		"short commit": func(p *ModelPin) { p.Revision = rev[:12] },
		"not hf":       func(p *ModelPin) { p.Repository = "https://x/y" },
		"no files":     func(p *ModelPin) { p.Files = nil },
		"dotdot":       func(p *ModelPin) { p.Files[0].Path = "../x" },
		"absolute":     func(p *ModelPin) { p.Files[0].Path = "/x" },
		"duplicate":    func(p *ModelPin) { p.Files[1].Path = p.Files[0].Path },
		"bad digest":   func(p *ModelPin) { p.Files[0].SHA256 = "zz" },
	} {
		q := p
		q.Files = append([]ModelPinFile(nil), p.Files...)
		mut(&q)
		if _, err := NewModelPinStatement(q); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, _, err := ParseHFURI("hf://org/base@main"); err == nil {
		t.Error("branch revision accepted")
	}
}

// TestValidateModelPin: the pin type is in the one type table, so Validate
// checks its schema (it called ModelPinV1 unknown before) and
// ParseStatement checks pin statements too.
func TestValidateModelPin(t *testing.T) {
	if !slices.Contains(KnownPredicateTypes(), ModelPinV1) {
		t.Fatalf("KnownPredicateTypes = %v lacks %s", KnownPredicateTypes(), ModelPinV1)
	}
	st, err := NewModelPinStatement(ModelPin{Repository: "hf://org/base", Revision: strings.Repeat("ab", 20),
		Files: []ModelPinFile{{Path: "model.safetensors", SHA256: strings.Repeat("1", 64)}}})
	if err != nil {
		t.Fatal(err)
	}
	good, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(ModelPinV1, good); err != nil {
		t.Fatalf("Validate(ModelPinV1, a pin) = %v", err)
	}
	bad := []byte(strings.Replace(string(good), `"files"`, `"filez"`, 1))
	err = Validate(ModelPinV1, bad)
	if err == nil || errors.Is(err, ErrUnknownPredicateType) || !strings.Contains(err.Error(), "does not match its schema") {
		t.Fatalf("Validate(ModelPinV1, %s) = %v, want a schema error", bad, err)
	}
	stmt, err := Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	badStmt := strings.Replace(string(stmt), `"files"`, `"filez"`, 1)
	if _, err := ParseStatement([]byte(badStmt)); err == nil || !strings.Contains(err.Error(), "does not match its schema") {
		t.Fatalf("ParseStatement(pin without files) = %v, want a schema error", err)
	}
}
