package main

// CLI promises of issue 11, run as a user would: the built binary (see
// TestMain in e2e_test.go), temp directories, exit codes and one-line
// messages naming the user's input.

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlattest/mlattest/internal/stacktest"
)

// groupCommands lists every command of the tree that only groups others.
func groupCommands(c *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	if c.HasSubCommands() {
		out = append(out, c)
	}
	for _, s := range c.Commands() {
		out = append(out, groupCommands(s)...)
	}
	return out
}

// typo swaps the last two letters of a subcommand name ("model" -> "modle").
func typo(name string) string {
	b := []byte(name)
	n := len(b)
	b[n-2], b[n-1] = b[n-1], b[n-2]
	return string(b)
}

// TestGroupCommandsRefuseTypos: `mlattest scan modle evil.pkl && deploy`
// must not print help and exit 0; neither may a bare group.
func TestGroupCommandsRefuseTypos(t *testing.T) {
	groups := groupCommands(newRootCmd())
	if len(groups) < 3 { // at least mlattest, layout, scan
		t.Fatalf("found only %d group commands", len(groups))
	}
	for _, g := range groups {
		path := strings.Fields(g.CommandPath())[1:] // without "mlattest"
		var sub string
		for _, s := range g.Commands() {
			if s.IsAvailableCommand() && len(s.Name()) >= 3 && g.SuggestionsFor(typo(s.Name())) != nil {
				sub = s.Name()
				break
			}
		}
		if sub == "" {
			t.Fatalf("%s: no subcommand to misspell", g.CommandPath())
		}
		t.Run(strings.Join(append([]string{"mlattest"}, path...), "_")+"/typo", func(t *testing.T) {
			bad := typo(sub)
			r := mlattest(t, t.TempDir(), nil, append(path, bad, "evil.pkl")...)
			want := `unknown command "` + bad + `" for "` + g.CommandPath() + `": did you mean "` + sub + `"?`
			if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, want) {
				t.Errorf("want exit 2, nothing on stdout, %q on stderr; got %v", want, r)
			}
			if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n != 0 {
				t.Errorf("want a one-line message, got %d lines: %q", n+1, r.stderr)
			}
		})
		t.Run(strings.Join(append([]string{"mlattest"}, path...), "_")+"/bare", func(t *testing.T) {
			r := mlattest(t, t.TempDir(), nil, path...)
			if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, "Usage:") ||
				!strings.Contains(r.stderr, `"`+g.CommandPath()+`" needs a subcommand: `) {
				t.Errorf("want exit 2 with the usage on stderr; got %v", r)
			}
		})
	}
}

// `mlattest help TOPIC` for a topic that does not exist is a usage error
// (cobra prints "Unknown help topic" and exits 0); a stray operand of a
// command that takes none says so instead of "unknown command".
func TestHelpAndOperandsAreStrict(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"help", "scan", "modle"}, exitUsage, `unknown command "modle" for "mlattest scan": did you mean "model"?`},
		{[]string{"help", "veryfy"}, exitUsage, `unknown command "veryfy" for "mlattest": did you mean "verify"?`},
		{[]string{"help", "version", "x"}, exitUsage, `"mlattest version" has no subcommand "x"`},
		{[]string{"verify-bundle", "b.sigstore.json"}, exitUsage, `mlattest verify-bundle takes no arguments (got "b.sigstore.json")`},
		{[]string{"help", "scan", "model"}, 0, ""},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			r := mlattest(t, t.TempDir(), nil, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("want exit %d and %q on stderr; got %v", tc.code, tc.want, r)
			}
			if tc.code == 0 && !strings.Contains(r.stdout, "mlattest scan model") {
				t.Errorf("help for a known topic shows it; got %v", r)
			}
		})
	}
}

// offlineKey makes an unencrypted signing key for key-only, offline runs.
func offlineKey(t *testing.T) string {
	t.Helper()
	return offlineKeyIn(t, t.TempDir())
}

// offlineKeyIn makes the key in dir, readable by all (so that a test can
// run the binary as another user).
func offlineKeyIn(t *testing.T, dir string) string {
	t.Helper()
	if r := mlattest(t, dir, nil, "keygen", "--no-passphrase", "--output-key-prefix", "step"); r.code != 0 {
		t.Fatalf("keygen: %v", r)
	}
	key := filepath.Join(dir, "step.key")
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	return key
}

// linkRunID is the run id a link bundle is bound to.
func linkRunID(t *testing.T, bundle string) string {
	t.Helper()
	by, _ := payload(t, bundle)["predicate"].(map[string]any)["byproducts"].(map[string]any)
	id, _ := by["mlattest.dev/run-id"].(string)
	return id
}

// A local pipeline run as the README shows needs one run id for all its
// steps: run prints the one it makes up, and run-id makes one to export.
func TestRunIDIsPrintedAndShareable(t *testing.T) {
	key := offlineKey(t)
	newID := regexp.MustCompile(`(?m)^mlattest: new run id ([0-9a-f]{32}) for step "clean"; give the pipeline's other steps the same one: export MLATTEST_RUN_ID=([0-9a-f]{32})$`)
	step := func(t *testing.T, env []string) (cliResult, string) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "raw.jsonl"), "{}\n")
		out := filepath.Join(dir, "att")
		r := mlattest(t, dir, env, "run", "--step", "clean", "--out", out, "--key", key, "--offline",
			"--materials", "raw.jsonl", "--", "true")
		if r.code != 0 {
			t.Fatalf("run: %v", r)
		}
		return r, linkRunID(t, filepath.Join(out, "clean.link.sigstore.json"))
	}
	t.Run("generated id is printed", func(t *testing.T) {
		r, recorded := step(t, nil)
		m := newID.FindStringSubmatch(r.stderr)
		if m == nil || m[1] != m[2] || m[1] != recorded {
			t.Fatalf("want the line naming the recorded run id %q, got %v", recorded, r)
		}
	})
	t.Run("exported id is used and not announced", func(t *testing.T) {
		r := mlattest(t, t.TempDir(), nil, "run-id")
		id := strings.TrimSpace(r.stdout)
		if r.code != 0 || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) || r.stderr != "" {
			t.Fatalf("run-id: want one 32-hex line on stdout, got %v", r)
		}
		if again := mlattest(t, t.TempDir(), nil, "run-id"); strings.TrimSpace(again.stdout) == id {
			t.Fatalf("run-id printed %s twice", id)
		}
		for range 2 { // two steps of one pipeline run
			r, recorded := step(t, []string{"MLATTEST_RUN_ID=" + id})
			if recorded != id || strings.Contains(r.stderr, "new run id") {
				t.Fatalf("want run id %s recorded and no new one announced; recorded %q, %v", id, recorded, r)
			}
		}
	})
	t.Run("run-id takes no arguments", func(t *testing.T) {
		r := mlattest(t, t.TempDir(), nil, "run-id", "extra")
		if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, `"extra"`) {
			t.Fatalf("want exit 2 naming the argument, got %v", r)
		}
	})
}

// entries lists what is in dir (nothing when it does not exist).
func entries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// sharedTempDir is a temporary directory another user can work in.
func sharedTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mlattest-promise-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fakeJWT is an unsigned token with the given expiry: enough for the
// start-up checks, which do not verify it.
func fakeJWT(exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	claims := fmt.Sprintf(`{"iss":"https://issuer.example","sub":"ci@example.com","exp":%d}`, exp.Unix())
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(claims)) + ".c2ln"
}

// TestRunChecksBeforeTheCommand: what run could find out before a command
// that may take hours is found out then: exit 125, one line naming the
// flag or input, the command not run, nothing left in --out.
func TestRunChecksBeforeTheCommand(t *testing.T) {
	key := offlineKeyIn(t, sharedTempDir(t))
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	tests := []struct {
		name  string
		as    *syscall.Credential // nil: the test's own user
		stack bool                // keyless: needs the private Sigstore stack's configuration
		setup func(t *testing.T, dir string) (args []string, want string)
	}{
		{
			name: "read-only --out",
			as:   nobody,
			setup: func(t *testing.T, dir string) ([]string, string) {
				ro := filepath.Join(dir, "att")
				if err := os.Mkdir(ro, 0o555); err != nil {
					t.Fatal(err)
				}
				return []string{"--out", ro, "--key", key, "--offline"}, "--out " + ro + ": cannot write in the directory: permission denied"
			},
		},
		{
			name: "uncreatable --out",
			as:   nobody,
			setup: func(t *testing.T, dir string) ([]string, string) {
				locked := filepath.Join(dir, "locked")
				if err := os.Mkdir(locked, 0o555); err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(locked, "att")
				return []string{"--out", out, "--key", key, "--offline"}, "--out " + out + ": cannot create the directory: permission denied"
			},
		},
		{
			name: "materials with no file and no products",
			setup: func(t *testing.T, dir string) ([]string, string) {
				writeFile(t, filepath.Join(dir, "empty", ".git", "HEAD"), "ignored")
				return []string{"--out", filepath.Join(dir, "att"), "--key", key, "--offline", "--materials", "empty"},
					`its materials (empty) hold no file to digest and it names no products`
			},
		},
		{
			name:  "missing token file",
			stack: true,
			setup: func(t *testing.T, dir string) ([]string, string) {
				tok := filepath.Join(dir, "no-token")
				return []string{"--out", filepath.Join(dir, "att"), "--identity-token-file", tok}, "--identity-token-file " + tok + ": no such file or directory"
			},
		},
		{
			name:  "token file holds no JWT",
			stack: true,
			setup: func(t *testing.T, dir string) ([]string, string) {
				tok := filepath.Join(dir, "token")
				writeFile(t, tok, "not-a-jwt\n")
				return []string{"--out", filepath.Join(dir, "att"), "--identity-token-file", tok}, "--identity-token-file " + tok + ": identity token is not a JWT"
			},
		},
		{
			name:  "token file already expired",
			stack: true,
			setup: func(t *testing.T, dir string) ([]string, string) {
				tok := filepath.Join(dir, "token")
				writeFile(t, tok, fakeJWT(time.Now().Add(-time.Minute)))
				return []string{"--out", filepath.Join(dir, "att"), "--identity-token-file", tok}, "--identity-token-file " + tok + ": identity token has expired"
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := sharedTempDir(t)
			writeFile(t, filepath.Join(dir, "raw.jsonl"), "{}\n")
			if err := os.Chmod(filepath.Join(dir, "raw.jsonl"), 0o644); err != nil {
				t.Fatal(err)
			}
			cred := tc.as
			if os.Geteuid() != 0 {
				cred = nil // not root: permissions apply already
			}
			flags, want := tc.setup(t, dir)
			if !slices.Contains(flags, "--materials") {
				flags = append(flags, "--materials", "raw.jsonl")
			}
			args := append([]string{"run", "--step", "clean"}, flags...)
			args = append(args, "--", "touch", "ran")
			before := entries(t, dir)
			tmp := sharedTempDir(t) // run's own temporary files go here
			env := []string{"TMPDIR=" + tmp}
			if tc.stack {
				s := stacktest.Get(t)
				env = append(env, "MLATTEST_SIGNING_CONFIG="+s.SigningConfig, "MLATTEST_TRUSTED_ROOT="+s.TrustedRoot)
			}
			r := mlattestAs(t, cred, dir, env, args...)
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if r.code != exitRunError || len(lines) != 1 || !strings.Contains(lines[0], want) {
				t.Fatalf("want exit 125 and one line containing %q, got %v\nworking directory: %q", want, r, entries(t, dir))
			}
			if after := entries(t, dir); !slices.Equal(before, after) {
				t.Fatalf("the working directory changed from %q to %q: the command ran or something was left behind", before, after)
			}
			for _, d := range []string{filepath.Join(dir, "att"), filepath.Join(dir, "locked"), tmp} {
				if e := entries(t, d); len(e) != 0 {
					t.Fatalf("%s holds %q after a refused run", d, e)
				}
			}
		})
	}
}

// hangingFulcio is a signing config whose Fulcio accepts connections and
// never answers; each accepted connection is sent on the channel.
func hangingFulcio(t *testing.T, s *stacktest.Stack) (string, <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			conns <- c
		}
	}()
	t.Cleanup(func() { ln.Close() })
	var sc map[string]any
	data, err := os.ReadFile(s.SigningConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &sc); err != nil {
		t.Fatal(err)
	}
	for _, ca := range sc["caUrls"].([]any) {
		ca.(map[string]any)["url"] = "http://" + ln.Addr().String()
	}
	path := filepath.Join(t.TempDir(), "signing_config.json")
	data, _ = json.Marshal(sc)
	writeFile(t, path, string(data))
	return path, conns
}

// TestRunInterruptedAfterTheCommand: SIGINT or SIGTERM while run records a
// finished command leaves nothing half-written in --out and prints the one
// `mlattest attest` command that records the step, with the times and exit
// status already known; that command then records it. Run is caught while
// signing: by a Fulcio that never answers (the request is cancelled), or
// waiting for an identity token, from a FIFO, that never comes (a read
// that cannot be cancelled: run stops waiting for it).
func TestRunInterruptedAfterTheCommand(t *testing.T) {
	s := stacktest.Get(t)
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		fifo bool // token from a FIFO, else a Fulcio that never answers
	}{
		{"fulcio/SIGINT", syscall.SIGINT, false},
		{"fulcio/SIGTERM", syscall.SIGTERM, false},
		{"token-fifo/SIGINT", syscall.SIGINT, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "raw.jsonl"), "{}\n")
			out := filepath.Join(dir, "att")
			token := s.Token(t, 1, "ci@example.com")
			tmp := t.TempDir() // run's own temporary files go here
			env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + tmp, "MLATTEST_TRUSTED_ROOT=" + s.TrustedRoot}
			args := []string{"run", "--step", "clean", "--run-id", "run-7", "--out", out}
			var tokenFlag []string // as the attest line must give it
			var conns <-chan net.Conn
			fifo := filepath.Join(t.TempDir(), "token")
			if tc.fifo {
				if err := syscall.Mkfifo(fifo, 0o600); err != nil {
					t.Skip(err)
				}
				env = append(env, "MLATTEST_SIGNING_CONFIG="+s.SigningConfig)
				tokenFlag = []string{"--identity-token-file", fifo}
			} else {
				var sc string
				sc, conns = hangingFulcio(t, s)
				env = append(env, "MLATTEST_SIGNING_CONFIG="+sc, "SIGSTORE_ID_TOKEN="+token)
			}
			args = append(append(args, tokenFlag...), "--materials", "raw.jsonl", "--products", "clean.jsonl",
				"--", "sh", "-c", "cp raw.jsonl clean.jsonl && echo 'command done'; exit 3")
			cmd := exec.Command(binPath, args...)
			cmd.Dir, cmd.Env = dir, env
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()

			if tc.fifo { // the start-up check reads a valid token once
				w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.WriteString(token); err != nil {
					t.Fatal(err)
				}
				w.Close()
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || line != "command done\n" {
				t.Fatalf("command output %q, %v; stderr:\n%s", line, err, stderr.String())
			}
			deadline := time.After(20 * time.Second)
			if tc.fifo {
				// Signing opens the FIFO again: a non-blocking open for
				// writing succeeds once it has a reader. Holding it open
				// keeps that read blocked.
				for {
					f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
					if err == nil {
						defer f.Close()
						break
					}
					select {
					case <-deadline:
						t.Fatalf("run never read the token again: %v\n%s", err, stderr.String())
					case <-time.After(10 * time.Millisecond):
					}
				}
			} else {
				select {
				case <-conns: // signing is waiting for Fulcio
				case <-deadline:
					t.Fatalf("run never asked Fulcio for a certificate\n%s", stderr.String())
				}
			}
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 128+int(tc.sig) {
				t.Fatalf("run: %v, want exit %d\nstderr:\n%s", err, 128+int(tc.sig), stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			prefix := fmt.Sprintf("mlattest: interrupted (%s) after the command finished: step \"clean\" was not recorded; record it with: ", map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[tc.sig])
			if len(lines) != 1 || !strings.HasPrefix(lines[0], prefix) {
				t.Fatalf("want one line starting %q, got:\n%s", prefix, stderr.String())
			}
			attestLine := strings.TrimPrefix(lines[0], prefix)
			tokenRE := ""
			if tc.fifo {
				tokenRE = ` --identity-token-file ` + regexp.QuoteMeta(fifo)
			}
			want := regexp.MustCompile(`^mlattest attest --step clean --out ` + regexp.QuoteMeta(out) + tokenRE +
				` --materials raw.jsonl --products clean.jsonl --run-id run-7` +
				` --started (\S+) --finished (\S+) --exit-code 3 -- sh -c 'cp raw.jsonl clean.jsonl && echo '\\''command done'\\''; exit 3'$`)
			m := want.FindStringSubmatch(attestLine)
			if m == nil {
				t.Fatalf("attest command line\n%s\ndoes not match\n%s", attestLine, want)
			}
			for _, ts := range m[1:] {
				if at, err := time.Parse(time.RFC3339Nano, ts); err != nil || time.Since(at) > time.Minute {
					t.Fatalf("time %q is not the command's: %v", ts, err)
				}
			}
			for _, d := range []string{out, tmp} {
				if e := entries(t, d); len(e) != 0 {
					t.Fatalf("%s holds %q after the interruption", d, e)
				}
			}

			// The printed command records the step, against a working
			// stack (and with a token file in place of the FIFO).
			tok := filepath.Join(t.TempDir(), "token")
			writeFile(t, tok, s.Token(t, 1, "ci@example.com"))
			sh := exec.Command("sh", "-c", strings.Replace(attestLine, fifo, tok, 1))
			sh.Dir = dir
			sh.Env = append([]string{"PATH=" + filepath.Dir(binPath) + ":" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, stackEnv(s, token)...)
			if b, err := sh.CombinedOutput(); err != nil {
				t.Fatalf("the printed attest command failed: %v\n%s", err, b)
			}
			pred := payload(t, filepath.Join(out, "clean.link.sigstore.json"))["predicate"].(map[string]any)
			by := pred["byproducts"].(map[string]any)
			if by["return-value"] != float64(3) || by["mlattest.dev/run-id"] != "run-7" {
				t.Fatalf("recorded byproducts %v, want exit 3 of run run-7", by)
			}
		})
	}
}

// TestVersion: `mlattest version`, `--version` and `version --json` say which
// build runs, every statement of a step records it, and the GitHub Actions
// example installs a pinned release.
func TestVersion(t *testing.T) {
	dir := t.TempDir()
	text := mlattest(t, dir, nil, "version")
	line := regexp.MustCompile(`^mlattest (\S+) \((commit [0-9a-f]+(, modified)?, )?` + regexp.QuoteMeta(runtime.Version()) + `\)\n$`)
	m := line.FindStringSubmatch(text.stdout)
	if text.code != 0 || m == nil || text.stderr != "" {
		t.Fatalf("version: want one line matching %s, got %v", line, text)
	}
	if flag := mlattest(t, dir, nil, "--version"); flag.code != 0 || flag.stdout != text.stdout {
		t.Fatalf("--version: want %q, got %v", text.stdout, flag)
	}
	js := mlattest(t, dir, nil, "version", "--json")
	var info struct {
		Version   string `json:"version"`
		GoVersion string `json:"goVersion"`
	}
	if err := json.Unmarshal([]byte(js.stdout), &info); js.code != 0 || err != nil || info.Version != m[1] || info.GoVersion != runtime.Version() {
		t.Fatalf("version --json: want version %q and goVersion %q, got %v", m[1], runtime.Version(), js)
	}
	if r := mlattest(t, dir, nil, "version", "extra"); r.code != exitUsage || !strings.Contains(r.stderr, `"extra"`) {
		t.Fatalf("version extra: want exit 2 naming the argument, got %v", r)
	}

	// A training step's link and provenance record the version.
	writeFile(t, filepath.Join(dir, "raw.jsonl"), "{}\n")
	writeFile(t, filepath.Join(dir, "train.json"), "{}")
	out := filepath.Join(dir, "att")
	if r := mlattest(t, dir, []string{"MLATTEST_RUN_ID=v-1"}, "run", "--step", "train", "--out", out, "--key", offlineKey(t), "--offline",
		"--materials", "raw.jsonl", "--config", "train.json", "--", "true"); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	link := payload(t, filepath.Join(out, "train.link.sigstore.json"))["predicate"].(map[string]any)
	if got := link["byproducts"].(map[string]any)["mlattest.dev/version"]; got != info.Version {
		t.Errorf("link byproducts mlattest.dev/version = %v, want %q", got, info.Version)
	}
	prov := payload(t, filepath.Join(out, "train.provenance.sigstore.json"))["predicate"].(map[string]any)
	bv, _ := prov["runDetails"].(map[string]any)["builder"].(map[string]any)["version"].(map[string]any)
	if bv["mlattest"] != info.Version || bv["go"] != runtime.Version() {
		t.Errorf("provenance runDetails.builder.version = %v, want mlattest %q and go %q", bv, info.Version, runtime.Version())
	}

	// The CI examples install a pinned release, never @latest (the action
	// references themselves are checked by internal/cicheck's TestUsesPinned).
	for _, f := range []string{
		"../../examples/github-actions/finetune.yml", "../../examples/github-actions/deploy-verify.yml",
		"../../examples/github-actions/audit-monitor.yml", "../../examples/gitlab-ci/.gitlab-ci.yml",
	} {
		wf, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(wf), "@latest") {
			t.Errorf("%s installs mlattest @latest", f)
		}
	}
}

// TestLocalPipelineSharesOneRunID: a local two-step pipeline run as the
// README shows, key-only and offline. Without a shared run id each step
// makes up its own and verify lists the runs it saw (text and JSON); with
// `export MLATTEST_RUN_ID=$(mlattest run-id)` it passes.
func TestLocalPipelineSharesOneRunID(t *testing.T) {
	dir := t.TempDir()
	must := func(t *testing.T, env []string, args ...string) cliResult {
		t.Helper()
		r := mlattest(t, dir, append(env, noNetwork...), args...)
		if r.code != 0 {
			t.Fatalf("%s: %v", strings.Join(args, " "), r)
		}
		return r
	}
	for _, k := range []string{"owner", "ci"} {
		must(t, nil, "keygen", "--output-key-prefix", k, "--no-passphrase")
	}
	head := keyLayoutHead(t, dir)
	writeFile(t, filepath.Join(dir, "layout.yaml"), head+`steps:
  - name: prep
    functionaries: [ci]
    expectedMaterials: [DISALLOW *]
    expectedProducts: [CREATE data.txt, DISALLOW *]
  - name: train
    functionaries: [ci]
    expectedMaterials: [MATCH data.txt WITH PRODUCTS FROM prep, DISALLOW *]
    expectedProducts: [CREATE model/m.bin, DISALLOW *]
subject:
  step: train
  patterns: ["model/*"]
`)
	must(t, nil, "layout", "sign", "layout.yaml", "--key", "owner.key", "--offline")
	pipeline := func(t *testing.T, out string, env []string) {
		t.Helper()
		must(t, env, "run", "--step", "prep", "--key", "ci.key", "--offline", "--out", out,
			"--products", "data.txt", "--", "sh", "-c", "echo data > data.txt")
		must(t, env, "run", "--step", "train", "--key", "ci.key", "--offline", "--out", out,
			"--materials", "data.txt", "--products", "model", "--", "sh", "-c", "mkdir -p model && cp data.txt model/m.bin")
	}
	verifyArgs := func(out string, extra ...string) []string {
		return append([]string{"verify", "--layout", "layout.yaml", "--layout-key", "owner.pub", "--attestations", out, "--model", "model"}, extra...)
	}

	t.Run("no shared id: verify lists the runs", func(t *testing.T) {
		pipeline(t, "att-apart", nil)
		r := mlattest(t, dir, noNetwork, verifyArgs("att-apart", "--json")...)
		var rep struct {
			RunIDs   []string `json:"runIds"`
			Failures []struct {
				Code, Reason string
			} `json:"failures"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); r.code != exitRejected || err != nil || len(rep.RunIDs) != 2 {
			t.Fatalf("want exit 1 and runIds listing 2 runs, got %v", r)
		}
		want := fmt.Sprintf("statements from 2 runs: %s, %s; name the one to verify (LayoutOptions.RunID", rep.RunIDs[0], rep.RunIDs[1])
		if !slices.ContainsFunc(rep.Failures, func(f struct{ Code, Reason string }) bool {
			return f.Code == "run-id-ambiguous" && strings.HasPrefix(f.Reason, want)
		}) {
			t.Fatalf("want a run-id-ambiguous failure %q, got %+v", want, rep.Failures)
		}
		r = mlattest(t, dir, noNetwork, verifyArgs("att-apart")...)
		if line := fmt.Sprintf("Statements from 2 runs: %s, %s\n", rep.RunIDs[0], rep.RunIDs[1]); r.code != exitRejected || !strings.Contains(r.stdout, line) {
			t.Fatalf("want the line %q, got %v", line, r)
		}
	})
	t.Run("exported run id: verify passes", func(t *testing.T) {
		id := strings.TrimSpace(must(t, nil, "run-id").stdout)
		pipeline(t, "att-shared", []string{"MLATTEST_RUN_ID=" + id})
		r := must(t, nil, verifyArgs("att-shared")...)
		if !strings.Contains(r.stdout, "Run "+id+"\n") || !strings.Contains(r.stdout, "PASSED") || strings.Contains(r.stdout, "Statements from") {
			t.Fatalf("want PASSED for run %s, got %v", id, r)
		}
	})
}

// TestRunUnrecordableProductName: a product whose name no statement may carry
// (here NFD, not NFC) is found only once the command has made it. run says
// what is wrong with the name in one line and prints the `mlattest attest`
// command that records the step once the file is renamed, and that command
// works: the command's hours are not lost. (On 69abfac the message was a
// chain of package prefixes with no way to record the step.)
func TestRunUnrecordableProductName(t *testing.T) {
	dir := t.TempDir()
	key := offlineKeyIn(t, dir)
	writeFile(t, filepath.Join(dir, "in.txt"), "x\n")
	nfd, nfc := "out/e\u0301.txt", "out/\u00e9.txt"
	r := mlattest(t, dir, nil, "run", "--step", "s", "--key", key, "--offline", "--out", "att",
		"--materials", "in.txt", "--products", "out", "--run-id", "run-9",
		"--", "sh", "-c", `mkdir -p out && echo y > "$0"`, nfd)
	prefix := `mlattest: step "s" was not recorded: bad artifact name: "` + nfd + `" is not NFC-normalised; rename the file, then record the step with: `
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.code != exitRunError || len(lines) != 1 || !strings.HasPrefix(lines[0], prefix) {
		t.Fatalf("want exit 125 and one line starting %q; got %v", prefix, r)
	}
	if e := entries(t, filepath.Join(dir, "att")); len(e) != 0 {
		t.Fatalf("--out holds %q although nothing was recorded", e)
	}
	if err := os.Rename(filepath.Join(dir, nfd), filepath.Join(dir, nfc)); err != nil {
		t.Fatal(err)
	}
	sh := exec.Command("sh", "-c", strings.TrimPrefix(lines[0], prefix))
	sh.Dir = dir
	sh.Env = []string{"PATH=" + filepath.Dir(binPath) + ":" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if b, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("the printed attest command failed: %v\n%s", err, b)
	}
	st := payload(t, filepath.Join(dir, "att", "s.link.sigstore.json"))
	if by := st["predicate"].(map[string]any)["byproducts"].(map[string]any); by["mlattest.dev/run-id"] != "run-9" {
		t.Fatalf("recorded run id %v, want run-9", by["mlattest.dev/run-id"])
	}
	if subj := fmt.Sprint(st["subject"]); !strings.Contains(subj, nfc) {
		t.Fatalf("subjects %s do not name the renamed product %q", subj, nfc)
	}
}
