package main

import (
	"strings"
	"testing"
	"time"

	"github.com/mlattest/mlattest/attest"
)

// The attest line repeats run's flags that attest shares, one value per
// flag, quoted for a shell; it never carries an --identity-token value.
func TestAttestCommand(t *testing.T) {
	run := newRunCmd()
	if err := run.ParseFlags([]string{"--step", "train", "--out", "my att", "--materials", "a.jsonl,b.jsonl",
		"--dataset", "file://d.jsonl=d.jsonl,collected=2026-11-01,source=curated", "--follow-symlinks",
		"--identity-token", "eyJ.secret.token", "--layout", "layout.yaml", "--run-id", "ignored"}); err != nil {
		t.Fatal(err)
	}
	step := &attest.Step{Name: "train", RunID: "run-1", Command: []string{"python", "train.py", "--msg", "it's"}}
	start := time.Date(2026, 12, 3, 8, 0, 0, 500, time.UTC)
	got := attestCommand(run, step, attest.Exit{Code: 137, Started: start, Finished: start.Add(time.Hour)})
	want := "mlattest attest --step train --out 'my att' --materials a.jsonl --materials b.jsonl " +
		"--dataset file://d.jsonl=d.jsonl,collected=2026-11-01,source=curated --follow-symlinks " +
		"--run-id run-1 --started 2026-12-03T08:00:00.0000005Z --finished 2026-12-03T09:00:00.0000005Z --exit-code 137 " +
		`-- python train.py --msg 'it'\''s'`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if strings.Contains(got, "secret") || strings.Contains(got, "--layout") {
		t.Fatalf("the line carries the token or a run-only flag: %s", got)
	}
}
