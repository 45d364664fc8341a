package probe

import (
	"errors"
	"strings"
	"testing"
)

func TestGeneralSuite(t *testing.T) {
	s := General()
	k, err := s.checks()
	if err != nil || len(k) < 10 || len(s.Triggers) != 0 || len(s.Digest()) != 64 {
		t.Fatalf("general suite: %d probes, %v, triggers %v, digest %q", len(k), err, s.Triggers, s.Digest())
	}
}

func TestParseSuiteErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"empty", ``, "empty document"},
		{"unknown field", "name: x\ncolour: red\ncategories: [{name: a, probes: [{id: p, prompt: hi}]}]", "colour"},
		{"no probes", "name: x\ncategories: []", "no probes"},
		{"no category name", "categories: [{probes: [{id: p, prompt: hi}]}]", "no name"},
		{"no id", "categories: [{name: a, probes: [{prompt: hi}]}]", "no id"},
		{"duplicate", "categories: [{name: a, probes: [{id: p, prompt: hi}, {id: p, prompt: ho}]}]", "twice"},
		{"empty prompt", "categories: [{name: a, probes: [{id: p, prompt: ' '}]}]", "empty"},
		{"bad regexp", "categories: [{name: a, probes: [{id: p, prompt: hi, expect: {mustMatch: ['(']}}]}]", "mustMatch"},
		{"empty mustNotContain", "categories: [{name: a, probes: [{id: p, prompt: hi, expect: {mustNotContain: ['']}}]}]", "mustNotContain"},
		{"position", "position: middle\ncategories: [{name: a, probes: [{id: p, prompt: hi}]}]", "middle"},
		{"empty trigger", "triggers: ['']\ncategories: [{name: a, probes: [{id: p, prompt: hi}]}]", "trigger 0"},
		{"two documents", "categories: [{name: a, probes: [{id: p, prompt: hi}]}]\n---\nname: b\n", "more than one"},
		{"not a map", "- a\n- b\n", "cannot unmarshal"},
		{"too large", "name: " + strings.Repeat("x", maxSuiteBytes), "bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSuite([]byte(tc.yaml))
			if !errors.Is(err, ErrSuite) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrSuite saying %q", err, tc.want)
			}
		})
	}
}

func TestParseSuiteMergesExpectations(t *testing.T) {
	s, err := ParseSuite([]byte(`
name: m
categories:
  - name: a
    expect: {mustNotContain: [Evil], differential: false}
    probes:
      - {id: p, prompt: hi, expect: {mustMatch: ["^ok"], differential: true}}
      - {id: q, prompt: ho}
`))
	if err != nil {
		t.Fatal(err)
	}
	k, _ := s.checks()
	if !k[0].differential || k[1].differential {
		t.Errorf("differential not merged: %v %v", k[0].differential, k[1].differential)
	}
	if v := k[0].violation("ok, EVIL"); !strings.Contains(v, "evil") {
		t.Errorf("case-insensitive mustNotContain: %q", v)
	}
	if v := k[0].violation("not ok"); !strings.Contains(v, "^ok") {
		t.Errorf("mustMatch: %q", v)
	}
	if v := k[1].violation("fine"); v != "" {
		t.Errorf("violation %q", v)
	}
}
