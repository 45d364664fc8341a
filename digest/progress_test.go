package digest

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProgress(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "f"), make([]byte, 3*bufSize), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(w io.Writer, terminal bool, min int64) {
		t.Helper()
		o := buildOptions([]Option{WithProgress(w)})
		o.isTerminal = func(io.Writer) bool { return terminal }
		o.progressMin = min
		jobs := []job{{name: "f", path: filepath.Join(root, "f"), size: 3 * bufSize}}
		if _, err := hashAll(context.Background(), jobs, o); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	run(&b, true, 0)
	if !strings.Contains(b.String(), "hashing") {
		t.Errorf("no bar drawn on a terminal: %q", b.String())
	}
	b.Reset()
	run(&b, false, 0)
	if b.Len() != 0 {
		t.Errorf("bar drawn on a non-terminal: %q", b.String())
	}
	b.Reset()
	run(&b, true, ProgressThreshold)
	if b.Len() != 0 {
		t.Errorf("bar drawn for small work: %q", b.String())
	}

	// The real terminal check: a pipe is not a terminal.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if isTerminal(w) || isTerminal(&b) {
		t.Error("pipe or buffer taken for a terminal")
	}
	w.Close()
}
