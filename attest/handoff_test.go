package attest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/predicates"
)

func TestRunTellsTheCommandItsStep(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.txt", "x")
	var out bytes.Buffer
	s := &Step{Name: "scan-model", RunID: "run-7", Dir: dir, Materials: []string{"in.txt"}, Command: helperCmd(t, "env")}
	if _, err := Run(context.Background(), s, testOpts(t, nil, WithStdio(strings.NewReader(""), &out, &bytes.Buffer{}))...); err != nil {
		t.Fatal(err)
	}
	if out.String() != "scan-model run-7" {
		t.Fatalf("the command saw step and run %q, want %q", out.String(), "scan-model run-7")
	}
}

// A command may hand over statements only of its own step and run, never a
// link or provenance (those are mlattest run's own), and nothing unparseable.
func TestRunRefusesBadHandedOverStatements(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.txt", "x")
	link := func(step, run string) string {
		st, err := predicates.NewLinkStatement(predicates.LinkInput{Step: step, RunID: run,
			Subjects: []digest.Artifact{{Name: "in.txt", SHA256: strings.Repeat("a", 64)}}})
		if err != nil {
			t.Fatal(err)
		}
		b, err := predicates.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name, file, content, want string
	}{
		{"a link for this step", "x.intoto.json", link("s", "r"), "only mlattest run records those"},
		{"not a statement", "x.intoto.json", `{"hello": 1}`, `statement "x"`},
		{"a stray file", "notes.txt", "hi", "not a *.intoto.json file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			writeFile(t, dir, "payload", tc.content)
			s := &Step{Name: "s", RunID: "r", Dir: dir, Materials: []string{"in.txt"}, Command: helperCmd(t, "handoff", tc.file, "payload")}
			rec, err := Run(context.Background(), s, testOpts(t, nil)...)
			if !errors.Is(err, ErrRecord) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrRecord mentioning %q", err, tc.want)
			}
			if rec == nil || rec.ExitCode != 0 || len(rec.Statements) != 0 {
				t.Fatalf("record = %+v; want the exit code and no statements", rec)
			}
		})
	}
}
