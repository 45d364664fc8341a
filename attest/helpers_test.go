package attest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"

	"github.com/mlattest/mlattest/internal/version"
	"github.com/mlattest/mlattest/predicates"
)

// TestHelperProcess is the command run by the tests: the test binary itself,
// started as `os.Args[0] -test.run=^TestHelperProcess$ -- MODE ARGS...` with
// MLATTEST_HELPER=1 in its environment.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("MLATTEST_HELPER") != "1" {
		return
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(helperMain(args))
}

func helperMain(args []string) int {
	if len(args) == 0 {
		return 99
	}
	switch args[0] {
	case "exit": // exit N
		n, _ := strconv.Atoi(args[1])
		return n
	case "echo": // echo TEXT: write TEXT to stdout, "err:"+TEXT to stderr
		fmt.Fprint(os.Stdout, args[1])
		fmt.Fprint(os.Stderr, "err:"+args[1])
		return 0
	case "cat": // copy stdin to stdout
		if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
			return 98
		}
		return 0
	case "touch": // touch FILE [EXIT]: create FILE, then exit EXIT
		if err := os.WriteFile(args[1], []byte("made by helper\n"), 0o644); err != nil {
			return 97
		}
		if len(args) > 2 {
			n, _ := strconv.Atoi(args[2])
			return n
		}
		return 0
	case "linger": // leave a process holding stdout open, exit 0
		c := exec.Command("sleep", "3")
		c.Stdout = os.Stdout
		if err := c.Start(); err != nil {
			return 93
		}
		return 0
	case "handoff": // handoff NAME FILE: hand FILE over as statement NAME
		b, err := os.ReadFile(args[2])
		if err != nil {
			return 92
		}
		if err := os.WriteFile(filepath.Join(os.Getenv("MLATTEST_STATEMENT_DIR"), args[1]), b, 0o600); err != nil {
			return 91
		}
		return 0
	case "env": // print the step and run id the parent handed over
		fmt.Fprintf(os.Stdout, "%s %s", os.Getenv("MLATTEST_STEP"), os.Getenv("MLATTEST_RUN_ID"))
		return 0
	case "kill-self": // die by SIGKILL
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(10 * time.Second)
		return 96
	case "wait-signal": // wait-signal READYFILE: on SIGTERM exit 42
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		if err := os.WriteFile(args[1], nil, 0o644); err != nil {
			return 95
		}
		select {
		case <-ch:
			return 42
		case <-time.After(20 * time.Second):
			return 94
		}
	}
	return 99
}

// helperCmd is the command line that runs helperMain(args).
func helperCmd(t *testing.T, args ...string) []string {
	t.Helper()
	t.Setenv("MLATTEST_HELPER", "1")
	// A race-enabled helper otherwise sleeps a second before exiting 0.
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	return append([]string{os.Args[0], "-test.run=^TestHelperProcess$", "--"}, args...)
}

// captured holds what Run passed to the statement builders.
type captured struct {
	link     *predicates.LinkInput
	training *predicates.TrainingInput
}

// testOpts records the statement builders' inputs. Stdio defaults to empty
// stdin and discarded output; a fixed clock and an empty environment keep
// results deterministic.
func testOpts(t *testing.T, cap *captured, extra ...RunOption) []RunOption {
	t.Helper()
	env := map[string]string{}
	clock := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	opts := []RunOption{
		WithStdio(strings.NewReader(""), io.Discard, io.Discard),
		WithLookupEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }),
		WithClock(func() time.Time { clock = clock.Add(time.Second); return clock }),
		func(c *config) {
			// The tool's version differs between builds.
			c.version = version.Info{Version: "v0.0.0-test", GoVersion: "go1.x", Commit: "c0ffee"}
			c.killGrace = 2 * time.Second
			c.waitDelay = 300 * time.Millisecond
			link, training := c.newLink, c.newTraining
			c.newLink = func(in predicates.LinkInput) (*intoto.Statement, error) {
				if cap != nil {
					cap.link = &in
				}
				return link(in)
			}
			c.newTraining = func(in predicates.TrainingInput) (*intoto.Statement, error) {
				if cap != nil {
					cap.training = &in
				}
				return training(in)
			}
		},
	}
	return append(opts, extra...)
}

// byproduct reads predicate.byproducts[key] of a link statement.
func byproduct(t *testing.T, st *intoto.Statement, key string) any {
	t.Helper()
	bp := st.GetPredicate().GetFields()["byproducts"].GetStructValue()
	if bp == nil {
		t.Fatalf("link predicate has no byproducts: %v", st.GetPredicate())
	}
	v, ok := bp.GetFields()[key]
	if !ok {
		return nil
	}
	return v.AsInterface()
}

// writeFile creates dir/name (and its parents) holding content.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// checkStatements parses every rendered statement strictly (schema included)
// and checks its binding.
func checkStatements(t *testing.T, rec *Record) {
	t.Helper()
	for _, s := range rec.Statements {
		st, err := predicates.ParseStatement(s.JSON)
		if err != nil {
			t.Errorf("%s statement does not parse: %v\n%s", s.Kind, err, s.JSON)
			continue
		}
		if st.GetPredicateType() != s.PredicateType {
			t.Errorf("%s predicate type %q, want %q", s.Kind, st.GetPredicateType(), s.PredicateType)
		}
		b, err := predicates.BindingOf(st)
		if err != nil || b.Step != rec.Step || b.RunID != rec.RunID {
			t.Errorf("%s binding = %+v, %v; want %s/%s", s.Kind, b, err, rec.Step, rec.RunID)
		}
	}
}
