//go:build !unix

package attest

import (
	"os"
	"os/exec"
)

func isolate(*exec.Cmd) {}

func signalGroup(p *os.Process, sig os.Signal) error { return p.Signal(sig) }

var resizeSignals []os.Signal

func isResize(os.Signal) bool { return false }

func rawNewlines(*os.File) error { return nil }
