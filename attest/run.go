package attest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/handoff"
	"github.com/mlattest/mlattest/internal/version"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/sandbox"
)

// Statement kinds.
const (
	KindLink       = "link"
	KindProvenance = "provenance"
)

// Statement is one unsigned statement of a step.
type Statement struct {
	Kind          string // KindLink or KindProvenance
	PredicateType string
	Statement     *intoto.Statement
	JSON          []byte // predicates.Marshal output: the bytes to sign
}

// Record is what a step did and the statements that say so.
type Record struct {
	Step  string
	RunID string // resolved run id (see ResolveRunID)
	// ExitCode is the command's exit status: its exit code, or 128+N when
	// it was killed by signal N; -1 when the command ran but its status could
	// not be read (then Run also returns an ErrRecord error).
	ExitCode   int
	StartedOn  time.Time // UTC; zero for Attest without WithTimes
	FinishedOn time.Time
	Materials  []digest.Artifact
	Products   []digest.Artifact
	// Stdout and Stderr are "sha256:HEX" of the command's output (Run
	// only). When stdout and stderr were one terminal, the command had one
	// pseudo-terminal for both: Stdout covers the merged output and Stderr
	// is empty.
	Stdout string
	Stderr string
	// Git is the working directory's repository state before the command
	// ran; nil outside a git work tree.
	Git         *predicates.GitSource
	Environment map[string]string
	// Isolation is the network policy the command ran under (Step.Network)
	// with the connections forwarded and refused; nil without one.
	Isolation *predicates.Isolation
	// Warnings are facts the caller should report: a dirty git tree,
	// products missing after a failed command, ...
	Warnings []string
	// PickleProducts are products whose loading runs a pickle stream;
	// they are listed in the product-scan statement.
	PickleProducts []string
	Statements     []Statement
	// Manifests are the directory manifests the statements refer to by
	// digest; store them as manifests/sha256-HEX.json beside the bundles.
	// Materials and Products above stay complete.
	Manifests []predicates.Manifest
}

// RunOption configures Run and Attest.
type RunOption func(*config)

type config struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	now            func() time.Time
	lookup         func(string) (string, bool)
	extraEnv       []string
	requireClean   bool
	gitBin         string
	started, ended time.Time
	signals        []os.Signal
	killGrace      time.Duration
	allowPickle    bool
	pins           []predicates.ModelPin
	waitDelay      time.Duration
	onExit         func(Exit)
	hostFacts      *sandbox.EnvOptions
	version        version.Info // recorded as the builder's version

	// Seams for tests of this package: they record the builders' inputs.
	newLink     func(predicates.LinkInput) (*intoto.Statement, error)
	newTraining func(predicates.TrainingInput) (*intoto.Statement, error)
}

// WithStdio sets the command's stdin, stdout and stderr (default: this
// process's). A nil value keeps the default. A stdout or stderr that is a
// terminal (an *os.File) is given to the command as a pseudo-terminal
// whose output Run copies there; see Record.Stdout for the digests then.
func WithStdio(stdin io.Reader, stdout, stderr io.Writer) RunOption {
	return func(c *config) {
		if stdin != nil {
			c.stdin = stdin
		}
		if stdout != nil {
			c.stdout = stdout
		}
		if stderr != nil {
			c.stderr = stderr
		}
	}
}

// WithClock sets the clock for startedOn/finishedOn (default time.Now).
func WithClock(now func() time.Time) RunOption { return func(c *config) { c.now = now } }

// WithLookupEnv sets how environment variables are read for the recorded
// environment, run id and builder id (default os.LookupEnv). The command
// itself always inherits this process's environment.
func WithLookupEnv(lookup func(string) (string, bool)) RunOption {
	return func(c *config) { c.lookup = lookup }
}

// WithExtraEnv records these environment variables too, beside
// EnvAllowList. A name that may hold a secret (containing TOKEN, SECRET, KEY,
// PASSWORD, ...) is refused with an ErrInput error.
func WithExtraEnv(names ...string) RunOption {
	return func(c *config) { c.extraEnv = append(c.extraEnv, names...) }
}

// RequireCleanGit refuses (ErrInput, before the command runs) a working
// directory that is not a git work tree at a commit, or whose tree has
// uncommitted or untracked changes. Without it a dirty tree is recorded
// (GitSource.Dirty) and reported in Record.Warnings.
func RequireCleanGit() RunOption { return func(c *config) { c.requireClean = true } }

// WithGit sets the git binary (default "git" from PATH).
func WithGit(path string) RunOption { return func(c *config) { c.gitBin = path } }

// WithTimes sets when a step recorded by Attest started and finished (Run
// measures them itself). Attest requires them when it builds a training
// provenance.
func WithTimes(started, finished time.Time) RunOption {
	return func(c *config) { c.started, c.ended = started, finished }
}

// WithHostFacts has Run record the facts of the host the command runs on
// in the link's environment (sandbox.Environment: kernel, CPU, GPUs, and the
// interpreter, pip freeze and lock files o names), and the names (never the
// values) of the set environment variables that may hold a secret. Attest
// records none: its step ran elsewhere.
func WithHostFacts(o sandbox.EnvOptions) RunOption {
	return func(c *config) { c.hostFacts = &o }
}

// Exit is how and when a command run by Run ended.
type Exit struct {
	Code              int       // as Record.ExitCode
	Started, Finished time.Time // UTC
}

// WithOnExit calls f as soon as the command has exited with a known status,
// before the products are digested and the statements built. From then on
// signals are no longer forwarded to the command, so a caller that wants to
// catch an interruption of the recording subscribes to them in f.
func WithOnExit(f func(Exit)) RunOption { return func(c *config) { c.onExit = f } }

// forwardedSignals are relayed to the command's process group. The command
// runs in a session of its own (on Unix), so a terminal's Ctrl-C reaches it
// only this way, once. A second SIGINT kills the group.
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

func newConfig(opts []RunOption) (*config, error) {
	c := &config{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		now:         time.Now,
		lookup:      os.LookupEnv,
		gitBin:      "git",
		signals:     forwardedSignals,
		killGrace:   10 * time.Second,
		waitDelay:   5 * time.Second,
		newLink:     predicates.NewLinkStatement,
		newTraining: predicates.NewTrainingStatement,
		version:     version.Get(),
	}
	for _, o := range opts {
		o(c)
	}
	for _, n := range c.extraEnv {
		if looksSecret(n) {
			return nil, inputErr("environment variable %s may hold a secret and is never recorded", n)
		}
	}
	return c, nil
}

// Run validates the step, digests its materials and training inputs, runs
// its command, digests its products and builds its statements.
//
// Errors before the command started wrap ErrInput and the command has not
// run. The command failing is not an error: Record.ExitCode is non-zero and
// the statements record it; products missing after a failed command are
// left out (Record.Warnings says which). After a successful command every
// product must be digestible, or the error wraps ErrRecord; the returned
// Record then carries the exit code but no statements.
//
// On Unix the command runs in a session of its own: SIGINT, SIGTERM, SIGHUP
// and SIGQUIT sent to this process are relayed to its process group, a
// second SIGINT kills that group, and cancelling ctx sends it SIGTERM, then
// SIGKILL. On Linux the command is killed when this process dies.
func Run(ctx context.Context, s *Step, opts ...RunOption) (*Record, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	st, err := c.prepare(ctx, s, true)
	if err != nil {
		return nil, err
	}
	if err := c.refusePickleInputs(ctx, st); err != nil {
		return nil, err
	}
	if c.hostFacts != nil {
		o := *c.hostFacts
		o.LooksSecret = looksSecret
		facts, err := sandbox.Environment(ctx, st.dir, o)
		if err != nil {
			return nil, inputErr("step %q: recording the environment: %w", s.Name, err)
		}
		for k, v := range facts {
			st.rec.Environment[k] = v
		}
	}
	if st.network != nil {
		// Checked before the command runs: it never runs unisolated.
		if st.sandbox, err = sandbox.New(*st.network); err != nil {
			return nil, inputErr("step %q: network %s: %w", s.Name, st.network, err)
		}
	}
	if err := c.execute(ctx, st); err != nil {
		if errors.Is(err, ErrRecord) {
			return st.rec, err // the command ran: its exit status is still known
		}
		return nil, err
	}
	return c.finish(ctx, st)
}

// Attest records a step that ran elsewhere (`mlattest attest`): like Run
// without running a command. Step.Command, when given, is recorded as the
// command that was run; exitCode is its recorded exit status.
func Attest(ctx context.Context, s *Step, exitCode int, opts ...RunOption) (*Record, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if s.training() && (c.started.IsZero() || c.ended.IsZero()) {
		// Inventing times would put a false fact in the provenance.
		return nil, inputErr("step %q: training provenance needs the times the step started and finished", s.Name)
	}
	if s.training() && len(s.Command) == 0 {
		return nil, inputErr("step %q: training provenance needs the command that was run (its entry point)", s.Name)
	}
	if !c.started.IsZero() && !c.ended.IsZero() && c.ended.Before(c.started) {
		return nil, inputErr("step %q: finish time %s is before start time %s", s.Name, c.ended.Format(time.RFC3339), c.started.Format(time.RFC3339))
	}
	st, err := c.prepare(ctx, s, false)
	if err != nil {
		return nil, err
	}
	st.rec.ExitCode = exitCode
	st.rec.StartedOn, st.rec.FinishedOn = utc(c.started), utc(c.ended)
	if st.network != nil {
		st.rec.Isolation = st.network.Asserted()
	}
	return c.finish(ctx, st)
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// training says whether the step gets a training provenance.
func (s *Step) training() bool {
	return len(s.BaseModels) > 0 || len(s.Datasets) > 0 || s.Config != "" || s.Image != ""
}

// state is one step in progress.
type state struct {
	*resolved
	rec        *Record
	config     *predicates.Resource
	baseModel  []predicates.Resource
	datasets   []predicates.Dataset
	isTraining bool
	handedOver []handoff.Item   // statements the command wrote for this step
	sandbox    *sandbox.Sandbox // runs the command under Step.Network
}

// prepare does everything that must succeed before the command runs.
func (c *config) prepare(ctx context.Context, s *Step, needCommand bool) (*state, error) {
	r, err := s.resolve(needCommand)
	if err != nil {
		return nil, err
	}
	runID, err := ResolveRunID(s.RunID, c.lookup)
	if err != nil {
		return nil, err
	}
	st := &state{resolved: r, rec: &Record{Step: s.Name, RunID: runID}}
	st.isTraining = s.training()

	// Git facts describe the tree before the command changes it.
	g, err := gitFacts(ctx, c.gitBin, r.dir)
	switch {
	case err == nil:
		st.rec.Git = g
		if g.Dirty {
			if c.requireClean {
				return nil, inputErr("git work tree %s has uncommitted changes (a clean tree is required)", r.dir)
			}
			st.rec.Warnings = append(st.rec.Warnings, fmt.Sprintf("git work tree %s has uncommitted changes; recorded as dirty", r.dir))
		}
	case c.requireClean:
		return nil, inputErr("a clean git tree is required: %s: %w", r.dir, err)
	case errors.Is(err, errNotGit):
		if st.isTraining {
			st.rec.Warnings = append(st.rec.Warnings, fmt.Sprintf("%s is not in a git work tree; the training script is not recorded", r.dir))
		}
	default:
		st.rec.Warnings = append(st.rec.Warnings, fmt.Sprintf("git facts not recorded: %v", err))
	}

	if len(s.Materials) > 0 {
		st.rec.Materials, err = digestArtifacts(ctx, r.dir, s.Materials, s.DigestOptions)
		if err != nil {
			return nil, inputErr("digesting materials: %w", err)
		}
		if len(st.rec.Materials) == 0 && len(s.Products) == 0 {
			// The statements' subject would be empty: refuse now rather
			// than after a command that may run for hours.
			return nil, inputErr("step %q: its materials (%s) hold no file to digest and it names no products: a statement needs a subject", s.Name, strings.Join(s.Materials, ", "))
		}
	}
	for _, b := range s.BaseModels {
		res, err := c.digestInput(ctx, r.abs(b.Path), b.URI, s.DigestOptions)
		if err != nil {
			return nil, inputErr("base model %s: %w", b.URI, err)
		}
		st.baseModel = append(st.baseModel, res...)
	}
	for _, d := range s.Datasets {
		res, err := c.digestInput(ctx, r.abs(d.Path), d.URI, s.DigestOptions)
		if err != nil {
			return nil, inputErr("dataset %s: %w", d.URI, err)
		}
		for _, x := range res {
			st.datasets = append(st.datasets, predicates.Dataset{Resource: x, CollectedAt: d.CollectedAt, SourceClass: d.SourceClass})
		}
	}
	if s.Config != "" {
		p := r.abs(s.Config)
		a, err := digest.File(ctx, p)
		if err != nil {
			return nil, inputErr("config %s: %w", s.Config, err)
		}
		st.config = &predicates.Resource{URI: r.name(p), SHA256: a.SHA256}
	}
	st.rec.Environment = environment(c.lookup, c.extraEnv)
	return st, nil
}

// name is p relative to the working directory as a slash path when inside
// it, else p's absolute slash path.
func (r *resolved) name(p string) string {
	if rel, err := filepath.Rel(r.dir, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(p)
}

// digestInput digests a training input: a file is one resource named uri; a
// directory is one resource per file, named uri + "/" + its relative name.
func (c *config) digestInput(ctx context.Context, path, uri string, opts []digest.Option) ([]predicates.Resource, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		a, err := digest.File(ctx, path)
		if err != nil {
			return nil, err
		}
		return []predicates.Resource{{URI: uri, SHA256: a.SHA256}}, nil
	}
	arts, err := digest.Paths(ctx, path, []string{"."}, opts...)
	if err != nil {
		return nil, err
	}
	if len(arts) == 0 {
		return nil, fmt.Errorf("directory %s holds no files", path)
	}
	base := strings.TrimSuffix(uri, "/")
	out := make([]predicates.Resource, 0, len(arts))
	for _, a := range arts {
		out = append(out, predicates.Resource{URI: base + "/" + a.Name, SHA256: a.SHA256})
	}
	return out, nil
}

// execute runs the command with stdio passed through and digested, signals
// forwarded, and records its exit status and times.
func (c *config) execute(ctx context.Context, st *state) error {
	cmd := exec.Command(st.Command[0], st.Command[1:]...)
	cmd.Dir = st.dir
	cmd.Stdin = c.stdin
	outHash, errHash := sha256.New(), sha256.New()
	out, err := c.connect(cmd, outHash, errHash)
	if err != nil {
		return inputErr("%w", err)
	}
	defer out.close()
	isolate(cmd)

	// A background process left behind by the command may hold our pipes
	// open; stop digesting its output this long after the command exits.
	cmd.WaitDelay = c.waitDelay

	// Subscribe before starting, so that no signal is lost in between,
	// and before creating the handoff directory, so that a signal cannot
	// leave it behind: a signal that comes first goes to the command.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, c.signals...)
	if out.active() {
		signal.Notify(sigs, resizeSignals...)
	}
	defer signal.Stop(sigs)

	// A tool run by the command (e.g. mlattest scan) may hand statements
	// for this step back through a private directory.
	hdir, err := os.MkdirTemp("", "mlattest-handoff-")
	if err != nil {
		return inputErr("creating the statement handoff directory: %w", err)
	}
	defer os.RemoveAll(hdir)
	cmd.Env = append(os.Environ(), handoff.Handoff{Step: st.Name, RunID: st.rec.RunID, Dir: hdir}.Env()...)

	st.rec.StartedOn = c.now().UTC()
	done, err := start(cmd, st.sandbox)
	if err != nil {
		return inputErr("starting command %q: %w", st.Command[0], err)
	}
	out.started()

	var waitErr error
	var killTimer *time.Timer
	interrupted := false
	ctxDone := ctx.Done()
loop:
	for {
		select {
		case sig := <-sigs:
			switch {
			case isResize(sig):
				out.resize()
				_ = signalGroup(cmd.Process, sig)
			case sig == os.Interrupt && interrupted:
				// A second Ctrl-C: the user has given the command its
				// chance to stop cleanly.
				_ = signalGroup(cmd.Process, os.Kill)
				st.rec.Warnings = append(st.rec.Warnings, "interrupted twice: the command and its process group were killed (SIGKILL)")
			default:
				interrupted = interrupted || sig == os.Interrupt
				_ = signalGroup(cmd.Process, sig) // the child may already have exited
			}
		case <-ctxDone:
			// Ask politely, then insist: a training job may need a moment
			// to write a checkpoint. Kill after exit is harmless.
			_ = signalGroup(cmd.Process, syscall.SIGTERM)
			ctxDone = nil
			killTimer = time.AfterFunc(c.killGrace, func() { _ = signalGroup(cmd.Process, os.Kill) })
		case waitErr = <-done:
			break loop
		}
	}
	if killTimer != nil {
		killTimer.Stop()
	}
	st.rec.FinishedOn = c.now().UTC()
	if st.sandbox != nil {
		st.rec.Isolation = st.sandbox.Stop()
	}
	lingered, copyErr := out.wait(c.waitDelay)
	if errors.Is(waitErr, exec.ErrWaitDelay) {
		lingered, waitErr = true, nil
	}
	if lingered {
		st.rec.Warnings = append(st.rec.Warnings, fmt.Sprintf("a process left running by the command kept its output open; stdout/stderr digests cover the output until %s after it exited", c.waitDelay))
	}
	code, err := exitCode(cmd, waitErr)
	if err == nil {
		err = copyErr
	}
	if err != nil {
		// The command ran; its status could not be read (e.g. stdout copy
		// failed). Nothing trustworthy can be recorded.
		st.rec.ExitCode = -1
		return fmt.Errorf("%w: command %q: %w", ErrRecord, st.Command[0], err)
	}
	st.rec.ExitCode = code
	if c.onExit != nil {
		c.onExit(Exit{Code: code, Started: st.rec.StartedOn, Finished: st.rec.FinishedOn})
	}
	st.rec.Stdout = sumOf(outHash)
	if !out.merged {
		st.rec.Stderr = sumOf(errHash)
	}
	if st.handedOver, err = handoff.Collect(hdir); err != nil {
		return fmt.Errorf("%w: step %q: %w", ErrRecord, st.Name, err)
	}
	return nil
}

// start starts cmd (in sb when not nil) and waits for it on a goroutine
// locked to the thread that forked it: the kernel kills a child when that
// thread exits if it asked for a parent-death signal (dieWithParent), so the
// thread must live until the child is reaped. The channel receives Wait's
// result.
func start(cmd *exec.Cmd, sb *sandbox.Sandbox) (<-chan error, error) {
	started, done := make(chan error, 1), make(chan error, 1)
	startCmd := cmd.Start
	if sb != nil {
		startCmd = func() error { return sb.Start(cmd) }
	}
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := startCmd(); err != nil {
			started <- err
			return
		}
		started <- nil
		done <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return done, nil
}

func sumOf(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

// exitCode maps Wait's result to a shell-style status: the exit code, or
// 128+N for a child killed by signal N.
func exitCode(cmd *exec.Cmd, err error) (int, error) {
	ps := cmd.ProcessState
	if ps == nil {
		return 0, err
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return 0, err
	}
	return ps.ExitCode(), nil
}

// finish digests the products and builds the statements.
func (c *config) finish(ctx context.Context, st *state) (*Record, error) {
	rec := st.rec
	if err := c.digestProducts(ctx, st); err != nil {
		return rec, err
	}
	subjects := rec.Products
	if len(subjects) == 0 {
		// A step without products names what it acted on.
		subjects = rec.Materials
	}
	if len(subjects) == 0 {
		return rec, fmt.Errorf("%w: step %q: no product or material file to name as the statement subject", ErrRecord, st.Name)
	}
	linkMats, linkProds, subjects, err := collapseTrees(rec, subjects, st.ManifestThreshold)
	if err != nil {
		return rec, fmt.Errorf("%w: step %q: %w", ErrRecord, st.Name, err)
	}
	link, err := c.newLink(predicates.LinkInput{
		Step:        st.Name,
		RunID:       rec.RunID,
		Command:     st.Command,
		Materials:   linkMats,
		Products:    linkProds,
		ExitCode:    rec.ExitCode,
		Stdout:      rec.Stdout,
		Stderr:      rec.Stderr,
		Environment: rec.Environment,
		Isolation:   rec.Isolation,
		Version:     c.version.Version,
		Subjects:    subjects,
	})
	if err != nil {
		return rec, fmt.Errorf("%w: step %q: building link statement: %w", ErrRecord, st.Name, err)
	}
	stmts := []Statement{{Kind: KindLink, PredicateType: predicates.LinkV03, Statement: link}}
	if st.isTraining {
		builderID, invocation := builder(c.lookup)
		in := predicates.TrainingInput{
			Step:            st.Name,
			RunID:           rec.RunID,
			EntryPoint:      st.Command,
			Config:          st.config,
			Hyperparameters: st.Hyperparameters,
			BaseModel:       st.baseModel,
			Datasets:        st.datasets,
			Script:          rec.Git,
			BuilderID:       builderID,
			BuilderVersion:  c.version.Map(),
			InvocationURI:   invocation,
			StartedOn:       rec.StartedOn,
			FinishedOn:      rec.FinishedOn,
			Isolation:       rec.Isolation,
			ExitCode:        rec.ExitCode,
			Subjects:        subjects,
		}
		if st.image != nil {
			in.Image = &predicates.Resource{URI: st.image.URI(), SHA256: st.image.SHA256}
		}
		prov, err := c.newTraining(in)
		if err != nil {
			return rec, fmt.Errorf("%w: step %q: building training provenance: %w", ErrRecord, st.Name, err)
		}
		stmts = append(stmts, Statement{Kind: KindProvenance, PredicateType: predicates.ProvenanceV1, Statement: prov})
	}
	handed, err := c.handedOver(st)
	if err != nil {
		return rec, err
	}
	stmts = append(stmts, handed...)
	ps, err := c.productScan(ctx, st)
	if err != nil {
		return rec, err
	}
	if ps != nil {
		stmts = append(stmts, *ps)
	}
	for i := range stmts {
		if stmts[i].JSON != nil {
			continue
		}
		b, err := predicates.Marshal(stmts[i].Statement)
		if err != nil {
			return rec, fmt.Errorf("%w: step %q: rendering %s statement: %w", ErrRecord, st.Name, stmts[i].Kind, err)
		}
		stmts[i].JSON = b
	}
	rec.Statements = stmts
	return rec, nil
}

// handedOver checks the statements the command handed over: each must parse,
// and be bound (by its own signed fields) to exactly this step and run, or
// the step cannot be recorded: signing a statement for another step would
// let a command speak for steps it is not.
func (c *config) handedOver(st *state) ([]Statement, error) {
	var out []Statement
	kinds := map[string]bool{KindLink: true, KindProvenance: true, KindProductScan: true}
	for _, it := range st.handedOver {
		stmt, err := predicates.ParseStatement(it.JSON)
		if err != nil {
			return nil, fmt.Errorf("%w: step %q: statement %q handed over by the command: %w", ErrRecord, st.Name, it.Name, err)
		}
		if t := stmt.GetPredicateType(); t == predicates.LinkV03 || t == predicates.ProvenanceV1 {
			return nil, fmt.Errorf("%w: step %q: statement %q handed over by the command is a %s: only mlattest run records those", ErrRecord, st.Name, it.Name, t)
		}
		b, err := predicates.BindingOf(stmt)
		if err != nil {
			return nil, fmt.Errorf("%w: step %q: statement %q handed over by the command: %w", ErrRecord, st.Name, it.Name, err)
		}
		if b.Step != st.Name || b.RunID != st.rec.RunID {
			return nil, fmt.Errorf("%w: step %q: statement %q handed over by the command is bound to step %q of run %q, not this step of run %q",
				ErrRecord, st.Name, it.Name, b.Step, b.RunID, st.rec.RunID)
		}
		kind := it.Name
		if kinds[kind] {
			return nil, fmt.Errorf("%w: step %q: a handed-over statement may not be named %q", ErrRecord, st.Name, kind)
		}
		kinds[kind] = true
		out = append(out, Statement{Kind: kind, PredicateType: stmt.GetPredicateType(), Statement: stmt, JSON: it.JSON})
	}
	return out, nil
}

// digestProducts digests the products. After a success every product must
// be there; after a failure the ones that cannot be digested are left out
// and reported, since a failed command often writes nothing.
func (c *config) digestProducts(ctx context.Context, st *state) error {
	if len(st.Products) == 0 {
		return nil
	}
	rec := st.rec
	if rec.ExitCode == 0 {
		arts, err := digestArtifacts(ctx, st.dir, st.Products, st.DigestOptions)
		if err != nil {
			return fmt.Errorf("%w: step %q: digesting products: %w", ErrRecord, st.Name, err)
		}
		rec.Products = arts
		return nil
	}
	seen := map[string]bool{}
	for _, p := range st.Products {
		arts, err := digestArtifacts(ctx, st.dir, []string{p}, st.DigestOptions)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				rec.Warnings = append(rec.Warnings, fmt.Sprintf("product %s does not exist after the command failed (exit %d)", p, rec.ExitCode))
			} else {
				rec.Warnings = append(rec.Warnings, fmt.Sprintf("product %s not recorded after the command failed (exit %d): %v", p, rec.ExitCode, err))
			}
			continue
		}
		for _, a := range arts {
			if !seen[a.Name] {
				seen[a.Name] = true
				rec.Products = append(rec.Products, a)
			}
		}
	}
	sort.Slice(rec.Products, func(i, j int) bool { return rec.Products[i].Name < rec.Products[j].Name })
	return nil
}
