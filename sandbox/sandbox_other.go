//go:build !linux

package sandbox

import (
	"fmt"
	"os/exec"
	"runtime"

	"github.com/mlattest/mlattest/predicates"
)

// Sandbox runs one command under a network policy (Linux only).
type Sandbox struct{}

// Option configures New.
type Option func(*Sandbox) error

// WithMechanism is accepted for portability; New fails anyway.
func WithMechanism(string) Option { return func(*Sandbox) error { return nil } }

// Init returns at once: there is no sandbox init outside Linux.
func Init() {}

// New fails: network namespaces are Linux's.
func New(Policy, ...Option) (*Sandbox, error) {
	return nil, fmt.Errorf("%w: network namespaces exist only on Linux, not %s", ErrUnavailable, runtime.GOOS)
}

// Mechanism is empty.
func (*Sandbox) Mechanism() string { return "" }

// Start fails.
func (*Sandbox) Start(*exec.Cmd) error { return ErrUnavailable }

// Stop returns nil.
func (*Sandbox) Stop() *predicates.Isolation { return nil }
