package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// scan data on content it cannot identify, or on an empty file, is a usage
// error naming the file, whatever the extension; nothing is written.
func TestScanDataUndetectableFormat(t *testing.T) {
	for _, tc := range []struct {
		name, file, content string
		flags               []string
		code                int
		msg                 string // the whole stderr line
	}{
		{name: "binary", file: "data.bin", content: "\x00\x01\x02\xffPK\x03\x04", code: 2,
			msg: "mlattest: scan data: data.bin: cannot detect the format (use --format)"},
		{name: "prose without extension", file: "notes", content: "hello world\nthis is not a dataset\n", code: 2,
			msg: "mlattest: scan data: notes: cannot detect the format (use --format)"},
		{name: "prose .txt", file: "notes.txt", content: "hello world\n", code: 2,
			msg: "mlattest: scan data: notes.txt: cannot detect the format (use --format)"},
		{name: "empty .jsonl", file: "e.jsonl", code: 2, msg: "mlattest: scan data: e.jsonl: file is empty: cannot detect the format"},
		{name: "empty .json", file: "e.json", code: 2, msg: "mlattest: scan data: e.json: file is empty: cannot detect the format"},
		{name: "empty .csv", file: "e.csv", code: 2, msg: "mlattest: scan data: e.csv: file is empty: cannot detect the format"},
		{name: "empty .parquet", file: "e.parquet", code: 2, msg: "mlattest: scan data: e.parquet: file is empty: cannot detect the format"},
		{name: "empty, no extension", file: "e", code: 2, msg: "mlattest: scan data: e: file is empty: cannot detect the format"},
		{name: "empty with --format", file: "e.txt", flags: []string{"--format", "jsonl"}, code: 2,
			msg: "mlattest: scan data: e.txt: file is empty: cannot detect the format"},
		{name: "missing file", file: "", flags: []string{"nope.jsonl"}, code: 2,
			msg: "mlattest: scan data: nope.jsonl: no such file or directory"},
		// Guard: a CSV header is recognised without the extension.
		{name: "csv .txt", file: "d.txt", content: "instruction,output\nhi,hello\n", code: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"scan", "data", "--out", "scan.json"}, tc.flags...)
			if tc.file != "" { // else the file named in flags does not exist
				writeFile(t, filepath.Join(dir, tc.file), tc.content)
				args = append(args, tc.file)
			}
			r := mlattest(t, dir, nil, args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%v", r.code, tc.code, r)
			}
			if tc.code == 0 {
				return
			}
			if got := strings.TrimSuffix(r.stderr, "\n"); got != tc.msg {
				t.Errorf("stderr %q, want %q", got, tc.msg)
			}
			if _, err := os.Stat(filepath.Join(dir, "scan.json")); err == nil {
				t.Error("--out was written although the scan failed")
			}
		})
	}
}
