package audit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlattest/mlattest/layouts"
)

const monitorLayout = `serial: 1
expires: "2099-01-01T00:00:00Z"
functionaries:
  trainer:
    keyless:
      issuer: https://issuer-a.test
      subject: alice@example.com
steps:
  - name: train
    functionaries: [trainer]
subject:
  step: train
`

func testWatch(t *testing.T) *Watch {
	t.Helper()
	l, err := layouts.Parse([]byte(monitorLayout), "layout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWatch(l)
	if err != nil {
		t.Fatal(err)
	}
	w.AddKnown(fmt.Sprintf("sha256:%x", sha("known 1")))
	w.AddKnown(fmt.Sprintf("sha256:%x", sha("known 2")))
	w.AddSubject(fmt.Sprintf("sha256:%x", sha("model")))
	return w
}

// summary is a report as "range; functionary indices; code@index ...".
func summary(r *Report) string {
	var f, a []string
	for _, e := range r.Functionary {
		f = append(f, fmt.Sprint(e.Index))
	}
	for _, al := range r.Alarms {
		a = append(a, fmt.Sprintf("%s@%d", al.Code, al.Index))
	}
	return fmt.Sprintf("[%d,%d) f=%s a=%s", r.From, r.To, strings.Join(f, ","), strings.Join(a, ","))
}

func TestMonitor(t *testing.T) {
	ctx := context.Background()
	vs := fakeSigstore(t)
	alice := func(d string) []byte { return hashedRekordEntry(t, vs, "alice@example.com", issuerA, sha(d)) }
	mallory := func(d string) []byte { return hashedRekordEntry(t, vs, "mallory@example.com", issuerB, sha(d)) }
	aliceB := func(d string) []byte { return hashedRekordEntry(t, vs, "alice@example.com", issuerB, sha(d)) }

	l := newTestLog(t, nil)
	l.add(t, alice("known 1"), alice("forged"), mallory("other"), mallory("model"), aliceB("x"), []byte("not an entry"))
	lg := l.open(t)
	w := testWatch(t)
	state := filepath.Join(t.TempDir(), "state.json")

	run := func() (*Report, error) {
		st, err := ReadState(state)
		if err != nil {
			t.Fatal(err)
		}
		next, rep, err := lg.Monitor(ctx, st, w)
		if err != nil {
			return nil, err
		}
		if err := WriteState(state, next); err != nil {
			t.Fatal(err)
		}
		return rep, nil
	}
	// The functionary's entry of an unknown digest, a stranger's signature
	// over the model, an unreadable entry; alice at another issuer is no
	// functionary and mallory's other signature is none of our business.
	want := []string{
		"[0,6) f=0,1 a=unknown-attestation@1,unknown-signer@3,unreadable-entry@5",
		"[6,6) f= a=",
	}
	for i, w := range want {
		rep, err := run()
		if err != nil || summary(rep) != w {
			t.Fatalf("run %d: %v %v, want %s", i+1, rep, err, w)
		}
	}
	l.add(t, alice("known 2"), alice("forged 2"))
	if rep, err := run(); err != nil || summary(rep) != "[6,8) f=6,7 a=unknown-attestation@7" {
		t.Fatalf("after growth: %v %v", rep, err)
	}

	// The state's checkpoint is re-verified: an edited state is refused.
	st, _ := ReadState(state)
	st.Checkpoint = strings.Replace(st.Checkpoint, "\n8\n", "\n7\n", 1)
	if _, _, err := lg.Monitor(ctx, st, w); !errors.Is(err, ErrState) || !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("edited state: %v", err)
	}

	// A fork with the log's key and origin: rolled back, or rewritten.
	good, _ := ReadState(state)
	for _, tc := range []struct {
		name    string
		entries [][]byte
		reason  string
	}{
		{"rolled back", [][]byte{alice("known 1")}, "smaller than the 8 seen before (rolled back)"},
		{"rewritten", [][]byte{alice("known 1"), alice("a"), alice("b"), alice("c"), alice("d"), alice("e"), alice("f"), alice("g"), alice("h")},
			"the consistency proof from size 8 to 9 does not verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fork := newTestLog(t, l.key)
			fork.add(t, tc.entries...)
			if _, _, err := fork.open(t).Monitor(ctx, good, w); !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("err %v, want %q", err, tc.reason)
			}
		})
	}
}

// TestMonitorInterrupted cancels runs at random points: a run either
// commits its whole range or nothing, so the committed ranges tile the log.
func TestMonitorInterrupted(t *testing.T) {
	ctx := context.Background()
	vs := fakeSigstore(t)
	l := newTestLog(t, nil)
	var entries [][]byte
	for i := range 1200 {
		entries = append(entries, hashedRekordEntry(t, vs, "alice@example.com", issuerA, sha(fmt.Sprint(i))))
	}
	w := testWatch(t)
	lg := l.open(t, WithWorkers(2))
	state := filepath.Join(t.TempDir(), "state.json")
	next := uint64(0)
	reported := map[uint64]int{}
	for round := range 3 {
		l.add(t, entries[round*400:(round+1)*400]...)
		for try := 0; ; try++ {
			st, err := ReadState(state)
			if err != nil {
				t.Fatal(err)
			}
			cctx, cancel := context.WithTimeout(ctx, time.Duration(rand.IntN(40))*time.Millisecond)
			if try > 20 {
				cctx, cancel = context.WithCancel(ctx)
			}
			st2, rep, err := lg.Monitor(cctx, st, w)
			cancel()
			if err != nil {
				if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "context deadline exceeded") {
					t.Fatalf("round %d: %v", round, err)
				}
				continue
			}
			if rep.From != next {
				t.Fatalf("run reports from %d, want %d", rep.From, next)
			}
			for _, e := range rep.Functionary {
				reported[e.Index]++
			}
			if err := WriteState(state, st2); err != nil {
				t.Fatal(err)
			}
			next = rep.To
			break
		}
	}
	if next != 1200 || len(reported) != 1200 {
		t.Fatalf("covered up to %d, %d entries reported", next, len(reported))
	}
	for i, n := range reported {
		if n != 1 {
			t.Fatalf("entry %d reported %d times", i, n)
		}
	}
}
