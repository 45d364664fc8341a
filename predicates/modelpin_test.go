package predicates

import (
	"strings"
	"testing"
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
