package attest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/mlattest/mlattest/digest"
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

// implemented says whether calling f does not panic (the sibling packages
// may still be stubs panicking "not implemented").
func implemented(f func()) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	f()
	return true
}

func realDigest(t *testing.T) bool {
	f := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	return implemented(func() { _, _ = digest.File(context.Background(), f) })
}

func realPredicates() bool {
	return implemented(func() {
		_, _ = predicates.NewLinkStatement(predicates.LinkInput{
			Step: "probe", RunID: "probe",
			Products: []digest.Artifact{{Name: "a", SHA256: strings.Repeat("0", 64), Size: 1}},
		})
	})
}

// captured holds what Run passed to the statement builders.
type captured struct {
	link     *predicates.LinkInput
	training *predicates.TrainingInput
}

// testOpts wires the real digest and predicates packages when they are
// implemented, fakes otherwise, and records the builders' inputs. Stdio
// defaults to empty stdin and discarded output; a fixed clock and an empty
// environment keep results deterministic.
func testOpts(t *testing.T, cap *captured, extra ...RunOption) []RunOption {
	t.Helper()
	useDigest, usePred := realDigest(t), realPredicates()
	env := map[string]string{}
	clock := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	opts := []RunOption{
		WithStdio(strings.NewReader(""), io.Discard, io.Discard),
		WithLookupEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }),
		WithClock(func() time.Time { clock = clock.Add(time.Second); return clock }),
		func(c *config) {
			c.killGrace = 2 * time.Second
			c.waitDelay = 300 * time.Millisecond
			if !useDigest {
				c.digestPaths, c.digestFile = fakeDigestPaths, fakeDigestFile
			}
			link, training := c.newLink, c.newTraining
			if !usePred {
				link, training, c.marshal = fakeLink, fakeTraining, fakeMarshal
			}
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

// fakeDigestPaths is a simple stand-in for digest.Paths: regular files
// only, symbolic links refused, names relative to root.
func fakeDigestPaths(ctx context.Context, root string, paths []string, _ ...digest.Option) ([]digest.Artifact, error) {
	seen := map[string]digest.Artifact{}
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type()&fs.ModeSymlink != 0 {
				return fmt.Errorf("%s: symbolic link not allowed", path)
			}
			if d.IsDir() {
				if d.Name() == ".git" {
					return filepath.SkipDir
				}
				return nil
			}
			a, err := fakeDigestFile(ctx, path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			a.Name = filepath.ToSlash(rel)
			seen[a.Name] = a
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]digest.Artifact, 0, len(seen))
	for _, a := range seen {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func fakeDigestFile(_ context.Context, path string) (digest.Artifact, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return digest.Artifact{}, err
	}
	sum := sha256.Sum256(b)
	return digest.Artifact{Name: filepath.Base(path), SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b))}, nil
}

// fakeLink builds the link v0.3 shape the tests read: name, command,
// materials, byproducts, environment.
func fakeLink(in predicates.LinkInput) (*intoto.Statement, error) {
	subjects := in.Subjects
	if subjects == nil {
		subjects = in.Products
	}
	if len(subjects) == 0 {
		return nil, errors.New("no subject")
	}
	st := &intoto.Statement{Type: predicates.StatementTypeV1, PredicateType: predicates.LinkV03}
	for _, a := range subjects {
		st.Subject = append(st.Subject, &intoto.ResourceDescriptor{Name: a.Name, Digest: map[string]string{"sha256": a.SHA256}})
	}
	var cmd, mats []any
	for _, c := range in.Command {
		cmd = append(cmd, c)
	}
	for _, m := range in.Materials {
		mats = append(mats, map[string]any{"name": m.Name, "digest": map[string]any{"sha256": m.SHA256}})
	}
	env := map[string]any{}
	for k, v := range in.Environment {
		env[k] = v
	}
	bp := map[string]any{predicates.ByproductRunID: in.RunID, predicates.ByproductExitCode: float64(in.ExitCode)}
	if in.Stdout != "" {
		bp[predicates.ByproductStdout] = in.Stdout
	}
	if in.Stderr != "" {
		bp[predicates.ByproductStderr] = in.Stderr
	}
	p, err := structpb.NewStruct(map[string]any{"name": in.Step, "command": cmd, "materials": mats, "byproducts": bp, "environment": env})
	if err != nil {
		return nil, err
	}
	st.Predicate = p
	return st, nil
}

func fakeTraining(in predicates.TrainingInput) (*intoto.Statement, error) {
	if len(in.Subjects) == 0 {
		return nil, errors.New("no subject")
	}
	st := &intoto.Statement{Type: predicates.StatementTypeV1, PredicateType: predicates.ProvenanceV1}
	for _, a := range in.Subjects {
		st.Subject = append(st.Subject, &intoto.ResourceDescriptor{Name: a.Name, Digest: map[string]string{"sha256": a.SHA256}})
	}
	p, err := structpb.NewStruct(map[string]any{"buildDefinition": map[string]any{"buildType": predicates.TrainingBuildTypeV1}})
	if err != nil {
		return nil, err
	}
	st.Predicate = p
	return st, nil
}

func fakeMarshal(st *intoto.Statement) ([]byte, error) { return protojson.Marshal(st) }

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
// and checks its binding, when the predicates package is implemented.
func checkStatements(t *testing.T, rec *Record) {
	t.Helper()
	if !realPredicates() {
		return
	}
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
