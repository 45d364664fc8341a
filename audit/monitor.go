package audit

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/mlattest/mlattest/gate"
	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/layouts"
	"github.com/mlattest/mlattest/verify"
)

// Alarm codes.
const (
	// AlarmUnknownAttestation: a functionary signed something the
	// attestation store does not hold (a stolen or abused identity, or a
	// run nobody kept).
	AlarmUnknownAttestation = "unknown-attestation"
	// AlarmUnknownSigner: a signature over a known artifact digest (a
	// model file) by an identity that is no functionary.
	AlarmUnknownSigner = "unknown-signer"
	// AlarmUnreadableEntry: an entry mlattest cannot parse (it might hide
	// a functionary's signature).
	AlarmUnreadableEntry = "unreadable-entry"
)

// Alarm is one entry an auditor must look at.
type Alarm struct {
	Code   string `json:"code"`
	Index  uint64 `json:"index"`
	Reason string `json:"reason"`
	Entry  *Entry `json:"entry,omitempty"`
}

// Watch is what a monitor looks for: the layout's functionaries and what
// the attestation store knows.
type Watch struct {
	functionaries []functionary
	// known holds the signed digests ("alg:hex") of the attestation store's
	// bundles (for DSSE, of the envelope's PAE: what Rekor v2 logs).
	known map[string]bool
	// subjects holds the artifact digests the store's statements name.
	subjects map[string]bool
}

type functionary struct {
	name     string
	keyID    string
	identity *verify.Identity
}

// NewWatch watches for l's functionaries. Known attestations are added
// with AddAttestations.
func NewWatch(l *layouts.Layout) (*Watch, error) {
	w := &Watch{known: map[string]bool{}, subjects: map[string]bool{}}
	for _, name := range l.FunctionaryNames() {
		f := l.Functionaries[name]
		switch {
		case f.Key != nil:
			w.functionaries = append(w.functionaries, functionary{name: name, keyID: f.Key.ID})
		case f.Keyless != nil:
			id, err := gate.IdentityOf(f.Keyless)
			if err != nil {
				return nil, fmt.Errorf("functionary %s: %w", name, err)
			}
			w.functionaries = append(w.functionaries, functionary{name: name, identity: &id})
		}
	}
	if len(w.functionaries) == 0 {
		return nil, fmt.Errorf("layout %s names no functionary", l.File)
	}
	return w, nil
}

// AddAttestations records every Sigstore bundle in dir (not recursive) as
// known; see AddStore.
func (w *Watch) AddAttestations(dir string) (int, error) {
	return w.AddStore(context.Background(), DirStore(dir))
}

// AddStore records every bundle of s as known: its signed digest, and its
// statement's subjects. The bundles are read, not verified: the store is
// the auditor's own, and a bundle only silences the alarm for the exact
// signature it logged. It returns how many bundles s holds.
func (w *Watch) AddStore(ctx context.Context, s Store) (int, error) {
	bundles, err := s.Bundles(ctx)
	if err != nil {
		return 0, err
	}
	for _, sb := range bundles {
		b, err := verify.ParseBundle(sb.Data)
		if err != nil {
			return 0, fmt.Errorf("bundle %s: %w", sb.Name, err)
		}
		switch {
		case b.GetDsseEnvelope() != nil:
			env := b.GetDsseEnvelope()
			pae := dsse.PAE(env.PayloadType, env.Payload)
			for _, alg := range []string{"sha256", "sha384", "sha512"} {
				w.known[alg+":"+hashHex(alg, pae)] = true
			}
			// The payload hash, as a dsse-kind entry logs it.
			w.known["sha256:"+hashHex("sha256", env.Payload)] = true
			var st struct {
				Subject []struct {
					Digest map[string]string `json:"digest"`
				} `json:"subject"`
			}
			if json.Unmarshal(env.Payload, &st) == nil {
				for _, s := range st.Subject {
					for alg, h := range s.Digest {
						w.subjects[strings.ToLower(alg)+":"+strings.ToLower(h)] = true
					}
				}
			}
		case b.GetMessageSignature() != nil:
			ms := b.GetMessageSignature()
			if d := ms.GetMessageDigest(); d != nil {
				alg := strings.ToLower(strings.ReplaceAll(d.GetAlgorithm().String(), "SHA2_", "sha"))
				w.known[alg+":"+hex.EncodeToString(d.GetDigest())] = true
			}
		}
	}
	return len(bundles), nil
}

// AddKnown marks a signed digest ("alg:hex") as one the store holds.
func (w *Watch) AddKnown(d string) { w.known[strings.ToLower(d)] = true }

// AddSubject marks an artifact digest ("alg:hex") as known, e.g. a released
// model file's.
func (w *Watch) AddSubject(d string) { w.subjects[strings.ToLower(d)] = true }

// check returns the alarms one entry raises and whether a functionary
// signed it.
func (w *Watch) check(e *Entry) (byFunctionary bool, alarms []Alarm) {
	d := e.Digest.String()
	for _, s := range e.Signers {
		name := w.functionaryOf(s)
		switch {
		case name != "" && !w.known[d]:
			byFunctionary = true
			alarms = append(alarms, Alarm{Code: AlarmUnknownAttestation, Index: e.Index, Entry: e,
				Reason: fmt.Sprintf("entry %d: functionary %s (%s) signed %s, which no attestation in the store holds", e.Index, name, signerName(s), d)})
		case name != "":
			byFunctionary = true
		case w.subjects[d]:
			alarms = append(alarms, Alarm{Code: AlarmUnknownSigner, Index: e.Index, Entry: e,
				Reason: fmt.Sprintf("entry %d: %s, no functionary, signed the known artifact digest %s", e.Index, signerName(s), d)})
		}
	}
	return byFunctionary, alarms
}

func (w *Watch) functionaryOf(s Signer) string {
	for _, f := range w.functionaries {
		if f.keyID != "" && f.keyID == s.KeyID {
			return f.name
		}
		if f.identity != nil && s.Subject != "" {
			if ok, _ := f.identity.Matches(s.Signer); ok {
				return f.name
			}
		}
	}
	return ""
}

func signerName(s Signer) string {
	if s.Subject != "" {
		return s.Subject + " from " + s.Issuer
	}
	return "key " + s.KeyID
}

func hashHex(alg string, b []byte) string {
	switch alg {
	case "sha384":
		h := sha512.Sum384(b)
		return hex.EncodeToString(h[:])
	case "sha512":
		h := sha512.Sum512(b)
		return hex.EncodeToString(h[:])
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// State is what a monitor keeps between runs: the last checkpoint it
// verified and scanned up to, and the report of the run that reached it
// (committed with it, so a run killed after committing loses no report).
type State struct {
	Log        string  `json:"log"`
	Checkpoint string  `json:"checkpoint"` // the signed note
	Updated    string  `json:"updated"`
	LastRun    *Report `json:"lastRun,omitempty"`
}

// Report is one monitor run's findings over entries [From, To).
type Report struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
	// Functionary lists the new entries signed by a functionary.
	Functionary []*Entry `json:"functionaryEntries"`
	Alarms      []Alarm  `json:"alarms"`
}

// ErrState: the state file is not one a monitor wrote, or its checkpoint
// does not verify.
var ErrState = errors.New("monitor state rejected")

// ReadState reads a state file; a missing file is a first run (nil, nil).
func ReadState(path string) (*State, error) {
	data, err := fsutil.ReadFileMax(path, 64<<20)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", path, fsutil.Cause(err))
	}
	var st State
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrState, path, err)
	}
	return &st, nil
}

// Monitor advances st (nil: first run, from entry 0) to the log's current
// checkpoint: it proves the new checkpoint consistent with the state's,
// scans the new entries and reports what w flags. It writes nothing; the
// caller commits the returned state (see WriteState) only when it wants the
// run to count.
func (l *Log) Monitor(ctx context.Context, st *State, w *Watch) (*State, *Report, error) {
	var old *Checkpoint
	if st != nil {
		cp, err := l.VerifyCheckpoint([]byte(st.Checkpoint))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: its checkpoint: %w", ErrState, err)
		}
		old = cp
	}
	cur, err := l.Checkpoint(ctx)
	if err != nil {
		return nil, nil, err
	}
	from := uint64(0)
	if old != nil {
		if err := l.Consistency(ctx, old, cur); err != nil {
			return nil, nil, err
		}
		from = old.Size
	}
	rep := &Report{From: from, To: cur.Size, Functionary: []*Entry{}, Alarms: []Alarm{}}
	res, err := l.scanEntries(ctx, cur, from, cur.Size, nil, func(e *Entry) bool {
		byF, alarms := w.check(e)
		return byF || len(alarms) > 0
	})
	if err != nil {
		return nil, nil, err
	}
	for _, e := range res.Matches {
		byF, alarms := w.check(e)
		if byF {
			rep.Functionary = append(rep.Functionary, e)
		}
		rep.Alarms = append(rep.Alarms, alarms...)
	}
	for _, u := range res.Unreadable {
		rep.Alarms = append(rep.Alarms, Alarm{Code: AlarmUnreadableEntry, Index: u.Index, Reason: u.Reason})
	}
	slices.SortStableFunc(rep.Alarms, func(a, b Alarm) int { return cmp.Compare(a.Index, b.Index) })
	next := &State{Log: l.URL(), Checkpoint: string(cur.Raw), Updated: time.Now().UTC().Format(time.RFC3339), LastRun: rep}
	return next, rep, nil
}

// WriteState commits st to path atomically (temp file, fsync, rename).
func WriteState(path string, st *State) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(path, append(data, '\n'), 0o644)
}
