package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mlattest/mlattest/audit"
	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/layouts"
	"github.com/mlattest/mlattest/registry"
	"github.com/mlattest/mlattest/verify"
)

const envRekorReadURL = "MLATTEST_REKOR_READ_URL"

func newAuditCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "audit",
		Short: "Read a transparency log: find entries, prove consistency, watch for unexpected signers",
		Long: `Audit reads a tile-based transparency log (Rekor v2, C2SP tlog-tiles) and checks
everything it reads against the log's signed checkpoint, with the log key from
the trusted root: entries and hash tiles must hash to the checkpoint's root, and
a checkpoint must be consistent with every one seen before. Search and entry
also read a Rekor v1 log through its REST API (see their --help, --log-api).

Exit codes: 0 done; 1 the log failed verification, or an alarm; 2 usage error,
unreadable input, or the log did not answer before the retry deadline.`,
	}
	c.AddCommand(newAuditSearchCmd(), newAuditMonitorCmd(), newAuditEntryCmd(), newAuditReportCmd())
	return c
}

// logFlags name the log to read and how.
type logFlags struct {
	url, trustedRoot string
	workers          int
	retryDeadline    time.Duration
	json             bool
	api              string // search and entry: auto, v1 or v2 (auditv1.go)
	tm               root.TrustedMaterial
}

// root loads the trusted root once.
func (f *logFlags) root() (root.TrustedMaterial, error) {
	if f.tm != nil {
		return f.tm, nil
	}
	if f.trustedRoot == "" {
		f.trustedRoot = os.Getenv(envTrustedRoot)
	}
	tr, err := loadTrustedRoot(f.trustedRoot)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	f.tm = tr
	return tr, nil
}

func (f *logFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.url, "log", "", "base URL the log's checkpoint and tiles are read from (default: $"+envRekorReadURL+")")
	fs.StringVar(&f.trustedRoot, "trusted-root", "", "Sigstore trusted_root.json holding the log's key (default: $"+envTrustedRoot+", else the public-good root via TUF)")
	fs.IntVar(&f.workers, "workers", 0, "concurrent fetches and entry parses (default: 4 per CPU, at least 8)")
	fs.DurationVar(&f.retryDeadline, "retry-deadline", time.Minute, "how long to retry a log that does not answer before giving up (exit 2)")
	fs.BoolVar(&f.json, "json", false, "print one JSON object")
}

// open checks the flags and returns the log reader.
func (f *logFlags) open() (*audit.Log, error) {
	tr, opts, err := f.resolve()
	if err != nil {
		return nil, err
	}
	l, err := audit.Open(f.url, tr, opts...)
	if err != nil {
		return nil, usage(err)
	}
	return l, nil
}

// resolve checks the flags and returns the trusted root and the options
// every log reader takes.
func (f *logFlags) resolve() (root.TrustedMaterial, []audit.Option, error) {
	if f.url == "" {
		f.url = os.Getenv(envRekorReadURL)
	}
	if f.url == "" {
		return nil, nil, usage(errors.New("--log URL is required (or $" + envRekorReadURL + ")"))
	}
	tr, err := f.root()
	if err != nil {
		return nil, nil, err
	}
	opts := []audit.Option{}
	if f.workers != 0 {
		opts = append(opts, audit.WithWorkers(f.workers))
	}
	if f.retryDeadline <= 0 {
		return nil, nil, usage(errors.New("--retry-deadline must be positive"))
	}
	opts = append(opts, audit.WithRetry(f.retryDeadline, min(200*time.Millisecond, f.retryDeadline), max(min(10*time.Second, f.retryDeadline/4), min(200*time.Millisecond, f.retryDeadline))))
	return tr, opts, nil
}

// auditExit maps a log error to its exit code: what the log served wrong is
// a verification failure (1); a log that did not answer is unreadable input
// (2), said in one line.
func auditExit(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, audit.ErrUnavailable):
		var ue *audit.UnavailableError
		if errors.As(err, &ue) {
			return withCode(exitUsage, fmt.Errorf("log unavailable: %s", oneLine(ue.Error())))
		}
		return withCode(exitUsage, errors.New(oneLine(err.Error())))
	case errors.Is(err, audit.ErrCheckpoint), errors.Is(err, audit.ErrTampered),
		errors.Is(err, audit.ErrInconsistent), errors.Is(err, audit.ErrNotInLog):
		return withCode(exitRejected, err)
	}
	return withCode(exitUsage, err)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// entryJSON is one log entry in --json output.
type entryJSON struct {
	Index      uint64         `json:"index"`
	Kind       string         `json:"kind"`
	Digest     string         `json:"digest"`
	Signers    []audit.Signer `json:"signers"`
	LeafHash   string         `json:"leafHash"`
	APIVersion string         `json:"apiVersion"`
	// Rekor v1 only.
	UUID           string     `json:"uuid,omitempty"`
	IntegratedTime *time.Time `json:"integratedTime,omitempty"`
}

func toEntryJSON(e *audit.Entry) entryJSON {
	return entryJSON{Index: e.Index, Kind: e.Kind, Digest: e.Digest.String(), Signers: e.Signers,
		LeafHash: fmt.Sprintf("%x", e.LeafHash), APIVersion: e.APIVersion, UUID: e.UUID, IntegratedTime: e.IntegratedTime}
}

// checkpointJSON is a verified checkpoint in --json output.
type checkpointJSON struct {
	Origin string `json:"origin"`
	Size   uint64 `json:"size"`
	Hash   []byte `json:"rootHash"`
}

func toCheckpointJSON(cp *audit.Checkpoint) checkpointJSON {
	return checkpointJSON{Origin: cp.Origin, Size: cp.Size, Hash: cp.Hash}
}

// signerText is one line's identity: "subject (issuer)" or the key id.
func signerText(s audit.Signer) string {
	if s.Subject != "" {
		return s.Subject + " (" + s.Issuer + ")"
	}
	return "key " + s.KeyID
}

func printEntries(w io.Writer, entries []*audit.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tSIGNED\tIDENTITY\tDIGEST")
	for _, e := range entries {
		for _, s := range e.Signers {
			when := "-"
			if s.NotBefore != nil {
				when = s.NotBefore.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", e.Index, when, signerText(s), e.Digest)
		}
	}
	return tw.Flush()
}

func newAuditSearchCmd() *cobra.Command {
	var lf logFlags
	var q audit.Query
	var sv searchV1Flags
	var from, to uint64
	c := &cobra.Command{
		Use:   "search --log URL (--identity S | --email E | --identity-regexp RE | --issuer I | --key-id ID | --digest D | --sha256 HEX)...",
		Short: "List the log entries signed by an identity or about a digest",
		Long: `Search reads entries [--from, --to) of the log (default: all), proves them
against the log's signed checkpoint, and lists those matching every given
selector: certificate subject (SAN), OIDC issuer, signing key id, or the signed
digest (for DSSE bundles logged as hashedrekord, the digest of the envelope's
PAE). Nothing is listed unless the whole range was proven.

` + searchAPIHelp,
		Example: `  mlattest audit search --log "$MLATTEST_REKOR_READ_URL" --identity trainer@example.com --issuer https://oidc.example
  mlattest audit search --digest sha256:0123… --from 1000 --json
  mlattest audit search --log https://rekor.sigstore.dev --email signer@example.com`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := sv.apply(&q); err != nil {
				return err
			}
			if r, err := lf.openV1(cmd.Context()); err != nil || r != nil {
				if err != nil {
					return err
				}
				return searchV1(cmd, r, &lf, q)
			}
			l, err := lf.open()
			if err != nil {
				return err
			}
			if q == (audit.Query{}) {
				return usage(errors.New("give at least one of --identity, --identity-regexp, --issuer, --issuer-regexp, --key-id, --digest"))
			}
			ctx := cmd.Context()
			cp, err := l.Checkpoint(ctx)
			if err != nil {
				return auditExit(err)
			}
			if to == 0 {
				to = cp.Size
			}
			if from > to || to > cp.Size {
				return usage(fmt.Errorf("--from %d --to %d: the log has %d entries", from, to, cp.Size))
			}
			res, err := l.Search(ctx, cp, from, to, q)
			if errors.Is(err, audit.ErrQuery) {
				return usage(err)
			}
			if err != nil {
				return auditExit(err)
			}
			return writeSearch(cmd, lf.json, searchJSON{Log: l.URL(), From: &res.From, To: &res.To}, res,
				fmt.Sprintf("log %s: checkpoint %s size %d verified; entries [%d, %d) proven; %d match",
					l.URL(), cp.Origin, cp.Size, res.From, res.To, len(res.Matches)))
		},
	}
	lf.register(c.Flags())
	fs := c.Flags()
	fs.StringVar(&q.Subject, "identity", "", "certificate subject (SAN), exact")
	fs.StringVar(&q.SubjectRegexp, "identity-regexp", "", "certificate subject, as a regexp matching the whole value")
	fs.StringVar(&q.Issuer, "issuer", "", "OIDC issuer, exact")
	fs.StringVar(&q.IssuerRegexp, "issuer-regexp", "", "OIDC issuer, as a regexp matching the whole value")
	fs.StringVar(&q.KeyID, "key-id", "", "signing key id, sha256:HEX of its DER public key")
	fs.StringVar(&q.Digest, "digest", "", "signed digest, sha256:HEX (or sha384:, sha512:)")
	fs.Uint64Var(&from, "from", 0, "first entry index to read")
	fs.Uint64Var(&to, "to", 0, "entry index to stop before (default: the checkpoint's size)")
	sv.register(fs)
	lf.registerAPI(fs)
	return c
}

// searchJSON is audit search's --json output, for tile logs (From, To) and
// Rekor v1 (API) alike.
type searchJSON struct {
	Log        string                  `json:"log"`
	API        string                  `json:"api,omitempty"`
	Checkpoint checkpointJSON          `json:"checkpoint"`
	From       *uint64                 `json:"from,omitempty"`
	To         *uint64                 `json:"to,omitempty"`
	Entries    []entryJSON             `json:"entries"`
	Unreadable []audit.UnreadableEntry `json:"unreadable"`
}

// writeSearch prints res: s completed as JSON, or summary and warnings on
// stderr and the matches as a table.
func writeSearch(cmd *cobra.Command, asJSON bool, s searchJSON, res *audit.Result, summary string) error {
	out := cmd.OutOrStdout()
	if asJSON {
		s.Checkpoint = toCheckpointJSON(res.Checkpoint)
		s.Entries = make([]entryJSON, len(res.Matches))
		for i, e := range res.Matches {
			s.Entries[i] = toEntryJSON(e)
		}
		s.Unreadable = nonNil(res.Unreadable)
		return json.NewEncoder(out).Encode(s)
	}
	fmt.Fprintln(cmd.ErrOrStderr(), summary)
	for _, u := range res.Unreadable {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", u.Reason)
	}
	return printEntries(out, res.Matches)
}

// nonNil makes a nil slice encode as [] in JSON.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// alarmJSON is one alarm in --json output.
type alarmJSON struct {
	Code   string `json:"code"`
	Index  uint64 `json:"index"`
	Reason string `json:"reason"`
}

func newAuditMonitorCmd() *cobra.Command {
	var lf logFlags
	var statePath, layoutPath string
	var attDirs []string
	c := &cobra.Command{
		Use:   "monitor --log URL --state FILE --layout L [--attestations DIR|oci://REGISTRY/REPO[:TAG]]...",
		Short: "Check the log's new entries since the last run for signatures nobody expected",
		Long: `Monitor resumes from the checkpoint kept in --state, proves the log's current
checkpoint consistent with it (a failed proof means the log forked or rewrote
history: exit 1, loudest alarm), scans the new entries and raises an alarm for
every entry signed by one of the layout's functionaries that no bundle in the
--attestations stores holds (a directory of bundles, or an OCI repository:
the bundles 'mlattest push' attached as referrers to every tagged model of
oci://REGISTRY/REPO, or to the one model of oci://REGISTRY/REPO:TAG or @DIGEST), for every signature over a digest those
bundles name (a model file) by an identity that is no functionary, and for
every entry it cannot read.

The state (checkpoint and this run's report) is replaced atomically only when
the whole run succeeded, so a run that is killed or fails is simply repeated
next time: no entry is skipped, and none is reported by two committed runs.
The first run (no state file) scans the whole log.

Exit codes: 0 no alarm; 1 alarm or verification failure; 2 usage error,
unreadable input, or the log did not answer before --retry-deadline (the
state is then unchanged).`,
		Example: `  mlattest audit monitor --log "$MLATTEST_REKOR_READ_URL" --state audit.state.json --layout layout.yaml --attestations att/`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if statePath == "" || layoutPath == "" {
				return usage(errors.New("--state FILE and --layout L are required"))
			}
			l, err := lf.open()
			if err != nil {
				return err
			}
			w, known, err := loadWatch(cmd, layoutPath, attDirs)
			if err != nil {
				return err
			}
			st, err := audit.ReadState(statePath)
			if err != nil {
				return withCode(exitUsage, err)
			}
			next, rep, err := l.Monitor(cmd.Context(), st, w)
			if err != nil {
				return auditExit(err)
			}
			if err := audit.WriteState(statePath, next); err != nil {
				return withCode(exitUsage, err)
			}
			cp, err := l.VerifyCheckpoint([]byte(next.Checkpoint))
			if err != nil {
				return auditExit(err)
			}
			out := cmd.OutOrStdout()
			if lf.json {
				entries := make([]entryJSON, len(rep.Functionary))
				for i, e := range rep.Functionary {
					entries[i] = toEntryJSON(e)
				}
				alarms := make([]alarmJSON, len(rep.Alarms))
				for i, a := range rep.Alarms {
					alarms[i] = alarmJSON{a.Code, a.Index, a.Reason}
				}
				if err := json.NewEncoder(out).Encode(struct {
					Log                string         `json:"log"`
					Checkpoint         checkpointJSON `json:"checkpoint"`
					From               uint64         `json:"from"`
					To                 uint64         `json:"to"`
					KnownBundles       int            `json:"knownBundles"`
					FunctionaryEntries []entryJSON    `json:"functionaryEntries"`
					Alarms             []alarmJSON    `json:"alarms"`
				}{l.URL(), toCheckpointJSON(cp), rep.From, rep.To, known, entries, alarms}); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(cmd.ErrOrStderr(), "log %s: checkpoint size %d verified%s; entries [%d, %d) scanned: %d by functionaries, %d %s\n",
					l.URL(), cp.Size, map[bool]string{true: fmt.Sprintf(", consistent with size %d", rep.From), false: ""}[st != nil],
					rep.From, rep.To, len(rep.Functionary), len(rep.Alarms), plural(len(rep.Alarms), "alarm", "alarms"))
				if err := printEntries(out, rep.Functionary); err != nil {
					return err
				}
				for _, a := range rep.Alarms {
					fmt.Fprintf(out, "ALARM %s: %s\n", a.Code, oneLine(a.Reason))
				}
			}
			if len(rep.Alarms) > 0 {
				return withCode(exitRejected, fmt.Errorf("%d %s in entries [%d, %d)", len(rep.Alarms), plural(len(rep.Alarms), "alarm", "alarms"), rep.From, rep.To))
			}
			return nil
		},
	}
	lf.register(c.Flags())
	c.Flags().StringVar(&statePath, "state", "", "file keeping the last verified checkpoint (created on the first run, replaced atomically)")
	c.Flags().StringVar(&layoutPath, "layout", "", "layout whose functionaries are watched")
	c.Flags().StringArrayVar(&attDirs, "attestations", nil, "the attestation bundles the pipeline kept: a directory, or oci://REGISTRY/REPO[:TAG|@DIGEST] (repeatable)")
	return c
}

func newAuditEntryCmd() *cobra.Command {
	var lf logFlags
	c := &cobra.Command{
		Use:   "entry BUNDLE --log URL",
		Short: "Show the log entry a bundle points to and re-verify its inclusion against the current checkpoint",
		Long: `Entry reads the log entry a Sigstore bundle carries, checks that it logs
the bundle's own signature, proves it included in the log's current checkpoint
(fetched now from --log), and proves the checkpoint the bundle was issued with
consistent with the current one.

` + entryAPIHelp,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("%s takes one bundle file (got %d arguments)", cmd.CommandPath(), len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := verify.LoadBundle(args[0])
			if err != nil {
				return withCode(exitUsage, err)
			}
			l, err := lf.openForBundle(cmd.Context(), b)
			if err != nil {
				return err
			}
			be, err := l.VerifyBundle(cmd.Context(), b)
			if err != nil {
				if errors.Is(err, audit.ErrEntry) {
					return withCode(exitRejected, fmt.Errorf("%s: %w", args[0], err))
				}
				return auditExit(fmt.Errorf("%s: %w", args[0], err))
			}
			out := cmd.OutOrStdout()
			var bundleSize uint64
			if be.BundleCheckpoint != nil {
				bundleSize = be.BundleCheckpoint.Size
			}
			if lf.json {
				return json.NewEncoder(out).Encode(struct {
					Bundle               string         `json:"bundle"`
					Log                  string         `json:"log"`
					Entry                entryJSON      `json:"entry"`
					BundleCheckpointSize uint64         `json:"bundleCheckpointSize,omitempty"`
					Checkpoint           checkpointJSON `json:"checkpoint"`
					Included             bool           `json:"included"`
				}{args[0], l.URL(), toEntryJSON(be.Entry), bundleSize, toCheckpointJSON(be.Checkpoint), true})
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: entry %d included in the log's checkpoint of size %d (bundle's checkpoint size %d, consistent)\n",
				args[0], be.Entry.Index, be.Checkpoint.Size, bundleSize)
			return printEntries(out, []*audit.Entry{be.Entry})
		},
	}
	lf.register(c.Flags())
	lf.registerAPI(c.Flags())
	return c
}

// loadWatch reads the layout whose functionaries are watched and the
// bundles the pipeline kept.
func loadWatch(cmd *cobra.Command, layoutPath string, attDirs []string) (*audit.Watch, int, error) {
	_, lay, err := readLayout(layoutPath)
	if err != nil {
		if errors.As(err, new(*exitError)) {
			return nil, 0, err
		}
		return nil, 0, printLayoutErrors(cmd.ErrOrStderr(), layoutPath, err)
	}
	return watchFor(cmd, lay, attDirs)
}

// watchFor watches lay's functionaries, knowing the bundles of each store:
// a directory, or an oci:// repository (every tagged model) or model.
func watchFor(cmd *cobra.Command, lay *layouts.Layout, stores []string) (*audit.Watch, int, error) {
	w, err := audit.NewWatch(lay)
	if err != nil {
		return nil, 0, withCode(exitUsage, err)
	}
	known := 0
	for _, d := range stores {
		var s audit.Store = audit.DirStore(d)
		if strings.HasPrefix(d, registry.Scheme) {
			c, err := registryClient(cmd.ErrOrStderr())
			if err != nil {
				return nil, 0, withCode(exitUsage, err)
			}
			o, err := audit.NewOCIStore(c, d)
			if err != nil {
				return nil, 0, usage(fmt.Errorf("--attestations: %w", err))
			}
			s = o
		}
		n, err := w.AddStore(cmd.Context(), s)
		if err != nil {
			return nil, 0, withCode(exitUsage, errors.New(oneLine(err.Error())))
		}
		known += n
	}
	return w, known, nil
}

func newAuditReportCmd() *cobra.Command {
	var lf logFlags
	var statePath, layoutPath, since, out string
	var attDirs []string
	c := &cobra.Command{
		Use:   "report --log URL --layout L [--state FILE] [--since DATE] [--attestations DIR]... --out FILE",
		Short: "Write an audit report (FILE.md, FILE.html, FILE.svg timeline) of the functionaries' log entries",
		Long: `Report proves the whole log against its current checkpoint (and consistent with
the checkpoint kept in --state, when given; the state is not changed), and
writes what an auditor files: the layout functionaries' entries signed since
--since per identity, the alarms monitor would raise for them, the checkpoint
and the consistency proof's status, and a timeline of signing activity per
identity (FILE.svg, also inline in FILE.html).

Exit codes: 0 written, no alarm; 1 written with alarms, or the log failed
verification; 2 usage error, unreadable input, or the log did not answer.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if layoutPath == "" || out == "" {
				return usage(errors.New("--layout L and --out FILE are required"))
			}
			var from time.Time
			if since != "" {
				t, err := time.Parse(time.RFC3339, since)
				if err != nil {
					if d, derr := time.Parse(time.DateOnly, since); derr == nil {
						t, err = d, nil
					}
				}
				if err != nil {
					return usage(fmt.Errorf("--since %q: want a date (2026-12-01) or RFC 3339 time", since))
				}
				from = t
			}
			l, err := lf.open()
			if err != nil {
				return err
			}
			w, _, err := loadWatch(cmd, layoutPath, attDirs)
			if err != nil {
				return err
			}
			var prev *audit.Checkpoint
			if statePath != "" {
				st, err := audit.ReadState(statePath)
				if err != nil {
					return withCode(exitUsage, err)
				}
				if st == nil {
					return withCode(exitUsage, fmt.Errorf("state %s does not exist", statePath))
				}
				if prev, err = l.VerifyCheckpoint([]byte(st.Checkpoint)); err != nil {
					return auditExit(fmt.Errorf("state %s: %w", statePath, err))
				}
			}
			r, err := l.BuildReport(cmd.Context(), prev, w, from)
			if err != nil {
				return auditExit(err)
			}
			svgName := out + ".svg"
			files := map[string]string{out + ".md": r.Markdown(filepath.Base(svgName)), out + ".html": r.HTML(), svgName: r.TimelineSVG()}
			for p, body := range files {
				if err := fsutil.WriteFileAtomic(p, []byte(body), 0o644); err != nil {
					return withCode(exitUsage, err)
				}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s.md, %s.html, %s.svg: %d identities, %d alarms, checkpoint size %d\n",
				out, out, out, len(r.ByIdentity), len(r.Alarms), r.Checkpoint.Size)
			if len(r.Alarms) > 0 {
				return withCode(exitRejected, fmt.Errorf("%d %s", len(r.Alarms), plural(len(r.Alarms), "alarm", "alarms")))
			}
			return nil
		},
	}
	lf.register(c.Flags())
	c.Flags().StringVar(&layoutPath, "layout", "", "layout whose functionaries are reported")
	c.Flags().StringVar(&statePath, "state", "", "monitor state whose checkpoint the current one must extend (read only)")
	c.Flags().StringVar(&since, "since", "", "report entries signed at or after this date or time")
	c.Flags().StringArrayVar(&attDirs, "attestations", nil, "the attestation bundles the pipeline kept: a directory, or oci://REGISTRY/REPO[:TAG|@DIGEST] (repeatable)")
	c.Flags().StringVar(&out, "out", "", "output path without extension")
	return c
}
