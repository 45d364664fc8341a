package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// Long reads draw a progress bar on stderr when it is a terminal, and
// nothing when it is not: scan data's passes, scan model's and verify's
// hashing.
func TestProgressOnTerminal(t *testing.T) {
	data := t.TempDir()
	bigDataset(t, filepath.Join(data, "big.jsonl"), 60000) // about 20 MB
	// A sparse file: large to hash, nothing on disk.
	f, err := os.Create(filepath.Join(data, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(300 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// verify hashes the model before it reads the layout.
	writeFile(t, filepath.Join(data, "layout.yaml"), "not: a layout\n")
	if err := os.Mkdir(filepath.Join(data, "att"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		bar  string
	}{
		{"scan data", []string{"scan", "data", "big.jsonl"}, "scanning big.jsonl (pass 1)"},
		{"scan model", []string{"scan", "model", "big.bin"}, "hashing big.bin"},
		{"verify --model", []string{"verify", "--layout", "layout.yaml", "--insecure-unsigned-layout", "--attestations", "att", "--model", "big.bin"}, "/ 314.6 MB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startTTY(t, data, &pty.Winsize{Rows: 30, Cols: 150}, tc.args...)
			r.expect(t, tc.bar, 60*time.Second)
			r.wait(t, 60*time.Second)

			off := mlattest(t, data, nil, tc.args...)
			if strings.Contains(off.stderr, tc.bar) {
				t.Errorf("a bar on a non-terminal stderr: %q", off.stderr)
			}
		})
	}
}
