package main

// mlattest run on a terminal: the built binary started under a
// pseudo-terminal the test holds, as a user's shell would start it. Signed
// with a key, offline: no stack needed.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/mlattest/mlattest/predicates"
)

// ttyRun is mlattest running on a pseudo-terminal.
type ttyRun struct {
	cmd    *exec.Cmd
	master *os.File
	lines  chan string   // the terminal's lines, "\r" trimmed
	exited chan int      // the exit code, once
	all    *lockedBuffer // every line read, for failure messages
}

type lockedBuffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	tail string // the line being written
}

func (l *lockedBuffer) setTail(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tail = s
}

// waitTail waits for the line being written (a prompt) to contain want.
func (l *lockedBuffer) waitTail(t *testing.T, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		l.mu.Lock()
		ok := strings.Contains(l.tail, want)
		l.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no prompt %q within %v\n%s", want, within, l)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (l *lockedBuffer) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s + "\n")
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// keyStep prepares dir for an offline, key-signed step: a key pair and a
// material. It returns the run flags before "--".
func keyStep(t *testing.T, dir string) []string {
	t.Helper()
	if r := mlattest(t, dir, nil, "keygen", "--no-passphrase", "--output-key-prefix", "k"); r.code != 0 {
		t.Fatalf("keygen: %v", r)
	}
	writeFile(t, filepath.Join(dir, "in.txt"), "input\n")
	return []string{"run", "--step", "s", "--run-id", "tty-run", "--key", "k.key", "--offline",
		"--out", "att", "--materials", "in.txt"}
}

// startTTY starts mlattest in dir with its stdin, stdout and stderr on a
// new pseudo-terminal of the given size.
func startTTY(t *testing.T, dir string, size *pty.Winsize, args ...string) *ttyRun {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TERM=xterm"}
	master, err := pty.StartWithSize(cmd, size)
	if err != nil {
		t.Fatal(err)
	}
	r := &ttyRun{cmd: cmd, master: master, lines: make(chan string, 100), exited: make(chan int, 1), all: &lockedBuffer{}}
	go func() {
		defer close(r.lines)
		buf := make([]byte, 4096)
		var pending []byte
		for {
			n, err := master.Read(buf)
			pending = append(pending, buf[:n]...)
			for {
				i := bytes.IndexByte(pending, '\n')
				if i < 0 {
					break
				}
				line := strings.TrimRight(string(pending[:i]), "\r")
				pending = pending[i+1:]
				r.all.add(line)
				r.lines <- line
			}
			r.all.setTail(string(pending))
			if err != nil {
				return
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			code = -1
		}
		r.exited <- code
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		master.Close()
	})
	return r
}

// expect waits for a line containing want and returns it.
func (r *ttyRun) expect(t *testing.T, want string, within time.Duration) string {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case line, ok := <-r.lines:
			if !ok {
				t.Fatalf("terminal closed before a line with %q", want)
			}
			if strings.Contains(line, want) {
				return line
			}
		case code := <-r.exited:
			r.exited <- code
			// Lines already written may still be on their way.
			select {
			case line, ok := <-r.lines:
				if ok && strings.Contains(line, want) {
					return line
				}
			case <-time.After(500 * time.Millisecond):
			}
			t.Fatalf("mlattest exited %d before a line with %q appeared\n%s", code, want, r.all)
		case <-timeout:
			t.Fatalf("no line with %q within %v\n%s", want, within, r.all)
		}
	}
}

// wait returns mlattest's exit code.
func (r *ttyRun) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case code := <-r.exited:
		return code
	case <-time.After(within):
		t.Fatalf("mlattest still running after %v", within)
		return 0
	}
}

func python(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	return p
}

// waitForGo is Python that blocks until the test creates the file "go".
const waitForGo = "import os, time\nwhile not os.path.exists('go'): time.sleep(0.02)\n"

// The command's lines reach the terminal while it runs, buffered by Python
// as on a terminal (with or without -u), and the link still records the
// digest of exactly what the command wrote.
func TestRunOnTerminalShowsLinesAsPrinted(t *testing.T) {
	py := python(t)
	script := "import sys\n" +
		"print('first isatty=%s,%s' % (sys.stdout.isatty(), sys.stderr.isatty()))\n" +
		"print('to stderr', file=sys.stderr)\n" +
		waitForGo +
		"print('second')\n"
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"unbuffered", []string{py, "-u", "-c", script}},
		{"buffered script", []string{py, "script.py"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "script.py"), script)
			r := startTTY(t, dir, &pty.Winsize{Rows: 30, Cols: 100}, append(append(keyStep(t, dir), "--"), tc.args...)...)
			first := r.expect(t, "first", 20*time.Second)
			if !strings.Contains(first, "isatty=True,True") {
				t.Errorf("the command's stdout/stderr are not terminals: %q", first)
			}
			r.expect(t, "to stderr", 5*time.Second) // after "first": one terminal keeps the order
			// The command is still waiting for "go": the lines came as printed.
			writeFile(t, filepath.Join(dir, "go"), "")
			r.expect(t, "second", 20*time.Second)
			if code := r.wait(t, 30*time.Second); code != 0 {
				t.Fatalf("mlattest exited %d\n%s", code, r.all)
			}
			by := payload(t, filepath.Join(dir, "att", "s.link.sigstore.json"))["predicate"].(map[string]any)["byproducts"].(map[string]any)
			// One pseudo-terminal for both streams: the stdout digest covers
			// the merged output, as the command wrote it ("\n", not "\r\n").
			merged := "first isatty=True,True\nto stderr\nsecond\n"
			sum := sha256.Sum256([]byte(merged))
			if got := by[predicates.ByproductStdout]; got != "sha256:"+hex.EncodeToString(sum[:]) {
				t.Errorf("link byproduct stdout = %v, want the digest of %q", got, merged)
			}
			if got, ok := by[predicates.ByproductStderr]; ok {
				t.Errorf("link byproduct stderr = %v, want none (merged into stdout)", got)
			}
		})
	}
}

// Off a terminal the descriptors are passed as they are.
func TestRunOffTerminalPassesPipes(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	r := mlattest(t, dir, nil, append(append(keyStep(t, dir), "--"), py, "-c",
		"import sys; print('isatty=%s,%s' % (sys.stdout.isatty(), sys.stderr.isatty()))")...)
	if r.code != 0 || r.stdout != "isatty=False,False\n" {
		t.Fatalf("want the command's own line on a pipe: %v", r)
	}
}

// A window-size change reaches the command's terminal and the command.
func TestRunOnTerminalPassesWindowSize(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	script := "import os, signal, sys\n" +
		"signal.signal(signal.SIGWINCH, lambda *a: os.write(1, b'resized %d\\n' % os.get_terminal_size(1).columns))\n" +
		"print('size %d' % os.get_terminal_size(2).columns, flush=True)\n" +
		waitForGo
	r := startTTY(t, dir, &pty.Winsize{Rows: 30, Cols: 111}, append(append(keyStep(t, dir), "--"), py, "-c", script)...)
	if line := r.expect(t, "size", 20*time.Second); line != "size 111" {
		t.Errorf("got %q, want the terminal's 111 columns", line)
	}
	if err := pty.Setsize(r.master, &pty.Winsize{Rows: 40, Cols: 77}); err != nil {
		t.Fatal(err)
	}
	if line := r.expect(t, "resized", 10*time.Second); line != "resized 77" {
		t.Errorf("got %q after resizing to 77 columns", line)
	}
	writeFile(t, filepath.Join(dir, "go"), "")
	if code := r.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("mlattest exited %d\n%s", code, r.all)
	}
}

// A first Ctrl-C is the command's to handle; a second one kills it.
func TestRunSecondInterruptKillsCommand(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	script := "import os, signal, time\n" +
		"signal.signal(signal.SIGINT, lambda *a: os.write(1, b'got SIGINT\\n'))\n" +
		"open('pid', 'w').write(str(os.getpid()))\n" +
		"print('ready', flush=True)\n" +
		"time.sleep(60)\n"
	r := startTTY(t, dir, &pty.Winsize{Rows: 30, Cols: 100}, append(append(keyStep(t, dir), "--"), py, "-c", script)...)
	r.expect(t, "ready", 20*time.Second)
	pid := readPid(t, filepath.Join(dir, "pid"))
	if _, err := r.master.Write([]byte{3}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	r.expect(t, "got SIGINT", 10*time.Second)
	select {
	case code := <-r.exited:
		t.Fatalf("mlattest exited %d after the first Ctrl-C\n%s", code, r.all)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := r.master.Write([]byte{3}); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(t, 10*time.Second); code != 128+int(syscall.SIGKILL) {
		t.Errorf("mlattest exited %d, want the killed command's %d\n%s", code, 128+int(syscall.SIGKILL), r.all)
	}
	assertGone(t, pid)
}

// Killing mlattest kills the command.
func TestRunKilledTakesCommandAlong(t *testing.T) {
	dir := t.TempDir()
	args := append(append(keyStep(t, dir), "--"), "sh", "-c", "echo $$ > pid.tmp && mv pid.tmp pid && exec sleep 60")
	cmd := exec.Command(binPath, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for !exists(filepath.Join(dir, "pid")) {
		if time.Now().After(deadline) {
			t.Fatal("the command never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pid := readPid(t, filepath.Join(dir, "pid"))
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	assertGone(t, pid)
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file %q: %v", b, err)
	}
	return pid
}

// assertGone waits for pid to be gone or a zombie (nobody may reap an
// orphan in a container).
func assertGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return
		}
		// "PID (COMM) STATE ...": COMM may hold spaces.
		if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(f) > 0 && f[0] == "Z" {
			return
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the command (pid %d) survived", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
