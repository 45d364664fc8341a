package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// bigDataset writes a JSONL dataset that takes scan data a few seconds.
func bigDataset(t *testing.T, path string, records int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	r := rand.New(rand.NewPCG(1, 2))
	words := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "w%d", r.IntN(5000))
		}
		return b.String()
	}
	for range records {
		fmt.Fprintf(w, "{\"instruction\": %q, \"output\": %q}\n", words(20), words(30))
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		t.Fatal(err)
	}
}

// opensUnder reports whether process pid holds a file under dir open.
func opensUnder(pid int, dir string) bool {
	fds := "/proc/" + strconv.Itoa(pid) + "/fd"
	ents, _ := os.ReadDir(fds)
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join(fds, e.Name())); err == nil && strings.HasPrefix(target, dir+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// An interrupted command leaves nothing in the temporary directory and
// exits 128+N: scan data interrupted with its spill file (the temporary
// file of a multi-pass scan) open and growing.
func TestInterruptLeavesNoTempFiles(t *testing.T) {
	data := t.TempDir()
	bigDataset(t, filepath.Join(data, "big.jsonl"), 60000)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			tmp := t.TempDir()
			cmd := exec.Command(binPath, "scan", "data", "big.jsonl")
			cmd.Dir = data
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + tmp}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			deadline := time.After(20 * time.Second)
		wait:
			for !opensUnder(cmd.Process.Pid, tmp) {
				select {
				case err := <-done:
					t.Fatalf("scan data ended (%v) before it opened a temporary file; stderr:\n%s", err, stderr.String())
				case <-deadline:
					break wait
				case <-time.After(5 * time.Millisecond):
				}
			}
			time.Sleep(300 * time.Millisecond) // mid-scan, the spill file growing
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("scan data did not stop after the signal")
			}
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode() // -1 when killed by the signal
			}
			if want := 128 + int(sig); code != want {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, want, stderr.String())
			}
			if want := "mlattest: interrupted (SIG"; !strings.HasPrefix(stderr.String(), want) {
				t.Errorf("stderr %q, want it to start with %q", stderr.String(), want)
			}
			ents, _ := os.ReadDir(tmp)
			for _, e := range ents {
				t.Errorf("left behind in the temporary directory: %s", e.Name())
			}
		})
	}
}

// Ctrl-C ends a command waiting where it does not watch for it (a
// passphrase prompt): exit 130 shortly after, nothing written.
func TestInterruptEndsPrompt(t *testing.T) {
	dir := t.TempDir()
	r := startTTY(t, dir, &pty.Winsize{Rows: 30, Cols: 100}, "keygen", "--output-key-prefix", "k")
	r.all.waitTail(t, "Passphrase for the new key", 20*time.Second)
	if _, err := r.master.Write([]byte{3}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	if code := r.wait(t, 10*time.Second); code != 130 {
		t.Errorf("exit %d, want 130\n%s", code, r.all)
	}
	if ents, _ := os.ReadDir(dir); len(ents) > 0 {
		t.Errorf("%d files written by an interrupted keygen", len(ents))
	}
}
