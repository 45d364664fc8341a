package audit

import (
	"errors"
	"fmt"
	"time"
)

// Sentinels for what a log audit can find wrong; test with errors.Is.
var (
	// ErrCheckpoint: the checkpoint is malformed, from another origin, or
	// its signature does not verify with the log key of the trusted root.
	ErrCheckpoint = errors.New("checkpoint rejected")
	// ErrInconsistent: two checkpoints of the log cannot both be true (a
	// failed consistency proof, or a smaller tree than one seen before):
	// the log forked or rewrote its history.
	ErrInconsistent = errors.New("log inconsistent with an earlier checkpoint")
	// ErrTampered: entries or hash tiles served by the log do not hash to
	// the root its signed checkpoint commits to.
	ErrTampered = errors.New("log data does not match its checkpoint")
	// ErrUnavailable: the log did not answer within the retry deadline.
	ErrUnavailable = errors.New("log unavailable")
	// ErrNotInLog: an entry's inclusion proof does not verify.
	ErrNotInLog = errors.New("entry not included in the log")
)

// UnavailableError is a resource the log did not serve before the retry
// deadline (errors.Is ErrUnavailable).
type UnavailableError struct {
	URL      string
	Attempts int
	Elapsed  time.Duration
	Err      error // the last attempt's error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%s: no answer after %d attempts in %s: %v", e.URL, e.Attempts, e.Elapsed, e.Err)
}

func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }
func (e *UnavailableError) Unwrap() error        { return e.Err }

// tampered wraps a reason as ErrTampered.
func tampered(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrTampered, fmt.Sprintf(format, args...))
}

// inconsistent wraps a reason as ErrInconsistent.
func inconsistent(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInconsistent, fmt.Sprintf(format, args...))
}
