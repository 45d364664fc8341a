package main

// What keeps a long `mlattest run` from losing its work: --out is probed
// before the command starts, and an interruption after the command finished
// takes back what was half written and says how to record the step.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mlattest/mlattest/attest"
	"github.com/mlattest/mlattest/predicates"
)

// interruptGrace is how long an interrupted recording may take to stop
// (signing and digesting watch the context) before what it wrote is
// removed anyway.
const interruptGrace = 2 * time.Second

// outFiles records what a step wrote under --out, so that an interrupted
// recording can take it back: the step is then recorded whole by
// `mlattest attest`, not in part. A nil *outFiles records nothing.
type outFiles struct {
	mu    sync.Mutex
	paths []string // in creation order
}

func (o *outFiles) add(p string) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.paths = append(o.paths, p)
}

// removeAll removes what was recorded, newest first (directories only when
// empty: another step may share --out).
func (o *outFiles) removeAll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range slices.Backward(o.paths) {
		os.Remove(p)
	}
	o.paths = nil
}

// mkdirAll is os.MkdirAll recording each directory it creates.
func mkdirAll(dir string, o *outFiles) error {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	for _, d := range slices.Backward(missing) {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		o.add(d)
	}
	return nil
}

// probeOut checks, before the command runs, that --out can be created and
// written: it creates the directory, writes and removes a file in it, and
// removes what it created, so that nothing is left if the step goes no
// further.
func probeOut(out string) error {
	var made outFiles
	defer made.removeAll()
	if err := mkdirAll(out, &made); err != nil {
		return fmt.Errorf("--out %s: cannot create the directory: %w", out, pathCause(err))
	}
	f, err := os.CreateTemp(out, ".mlattest-probe-*")
	if err != nil {
		return fmt.Errorf("--out %s: cannot write in the directory: %w", out, pathCause(err))
	}
	made.add(f.Name())
	_, err = f.Write([]byte("probe\n"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("--out %s: cannot write in the directory: %w", out, pathCause(err))
	}
	return nil
}

// pathCause drops the operation and path a *PathError repeats.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// interruptGuard catches interruptSignals once the command has exited:
// until then they are the command's (attest.Run forwards them).
type interruptGuard struct {
	sigs chan os.Signal
	mu   sync.Mutex
	exit attest.Exit
}

func newInterruptGuard() *interruptGuard {
	return &interruptGuard{sigs: make(chan os.Signal, 1)}
}

// onExit is the attest.WithOnExit hook.
func (g *interruptGuard) onExit(e attest.Exit) {
	g.mu.Lock()
	g.exit = e
	g.mu.Unlock()
	signal.Notify(g.sigs, interruptSignals...)
}

func (g *interruptGuard) stop() { signal.Stop(g.sigs) }

func (g *interruptGuard) exited() attest.Exit {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.exit
}

// recordInterruptibly runs record (the command and its recording) and
// returns its result, unless SIGINT, SIGTERM or SIGHUP arrives after the command
// exited: then the recording is cancelled, what it wrote to --out is taken
// back, and one line names the `mlattest attest` command that records the
// step with the times and exit status already known. The exit code is
// then 128 + the signal number.
//
// record writes its messages to the io.Writer it is given, which goes
// silent once interrupted: what it would say then is taken back.
func recordInterruptibly(ctx context.Context, stderr io.Writer, record func(context.Context, *interruptGuard, *outFiles, io.Writer) (bool, error), attestLine func(attest.Exit) string, stepName string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g := newInterruptGuard()
	defer g.stop()
	written := &outFiles{}
	msgs := &mutableWriter{w: stderr}
	type result struct {
		recorded bool
		err      error
	}
	done := make(chan result, 1)
	go func() {
		recorded, err := record(ctx, g, written, msgs)
		done <- result{recorded, err}
	}()
	var sig os.Signal
	select {
	case r := <-done:
		if errors.Is(r.err, predicates.ErrArtifactName) {
			return unrecordableName(stderr, r.err, stepName, attestLine(g.exited()))
		}
		return r.err
	case sig = <-g.sigs:
	}
	msgs.mute()
	cancel()
	select {
	case r := <-done:
		if r.recorded {
			return r.err // finished before it saw the cancellation
		}
	case <-time.After(interruptGrace):
	}
	written.removeAll()
	ie := &interruptedError{sig}
	fmt.Fprintf(stderr, "mlattest: %v after the command finished: step %q was not recorded; record it with: %s\n", ie, stepName, attestLine(g.exited()))
	return withCode(ie.exitCode(), errors.New(""))
}

// unrecordableName reports a product or material whose name no statement may
// carry (found only once the command has made it): one line with the name's
// problem and the `mlattest attest` command that records the step once the
// file is renamed, so the hours the command took are not lost.
func unrecordableName(stderr io.Writer, err error, stepName, attestLine string) error {
	cause := innermost(err, predicates.ErrArtifactName)
	fmt.Fprintf(stderr, "mlattest: step %q was not recorded: %v; rename the file, then record the step with: %s\n", stepName, cause, attestLine)
	return withCode(exitRunError, errors.New(""))
}

// innermost is the deepest error in err's tree that wraps target (the one
// that says what is wrong, without the layers that say where it was found).
func innermost(err, target error) error {
	var kids []error
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		kids = []error{u.Unwrap()}
	case interface{ Unwrap() []error }:
		kids = u.Unwrap()
	}
	for _, k := range kids {
		if k != nil && k != target && errors.Is(k, target) {
			return innermost(k, target)
		}
	}
	return err
}

// mutableWriter passes writes through until muted.
type mutableWriter struct {
	mu    sync.Mutex
	w     io.Writer
	muted bool
}

func (m *mutableWriter) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.muted {
		return len(p), nil
	}
	return m.w.Write(p)
}

func (m *mutableWriter) mute() {
	m.mu.Lock()
	m.muted = true
	m.mu.Unlock()
}

// attestCommand is the `mlattest attest` command line that records what run
// was recording: run's flags that attest shares, as given (never an
// --identity-token value: it is secret and short-lived), the settled run id,
// the command's times and exit status, and the command.
func attestCommand(run *cobra.Command, step *attest.Step, e attest.Exit) string {
	shared := newAttestCmd().Flags()
	args := []string{"mlattest", "attest"}
	run.Flags().Visit(func(f *pflag.Flag) {
		switch f.Name {
		case "run-id", "identity-token":
			return
		}
		if shared.Lookup(f.Name) == nil {
			return
		}
		args = append(args, flagArgs(f)...)
	})
	args = append(args, "--run-id", step.RunID,
		"--started", e.Started.Format(time.RFC3339Nano),
		"--finished", e.Finished.Format(time.RFC3339Nano),
		"--exit-code", strconv.Itoa(e.Code), "--")
	args = append(args, step.Command...)
	for i, a := range args {
		args[i] = shellQuote(a)
	}
	return strings.Join(args, " ")
}

// flagArgs renders a flag as it could be given again.
func flagArgs(f *pflag.Flag) []string {
	if f.Value.Type() == "bool" {
		if f.Value.String() == "true" {
			return []string{"--" + f.Name}
		}
		return []string{"--" + f.Name + "=" + f.Value.String()}
	}
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		var out []string
		for _, v := range sv.GetSlice() {
			out = append(out, "--"+f.Name, v)
		}
		return out
	}
	return []string{"--" + f.Name, f.Value.String()}
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9@%+=:,./_-]+$`)

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
