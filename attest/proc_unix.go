//go:build unix

package attest

import (
	"os"
	"os/exec"
	"syscall"
)

// isolate starts the command in a session of its own, so that a terminal's
// Ctrl-C reaches mlattest alone: Run relays it once to the command's
// process group, and a second one can kill that whole group without
// killing mlattest. Not being the session's controlling terminal, the
// command's stdin (a terminal or not) is passed through unchanged and can
// be read as before; opening /dev/tty fails, since the session has none.
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	dieWithParent(cmd.SysProcAttr)
}

// signalGroup sends sig to the command's process group; to the command
// alone when it left that group or sig is not a Unix signal.
func signalGroup(p *os.Process, sig os.Signal) error {
	if s, ok := sig.(syscall.Signal); ok {
		if err := syscall.Kill(-p.Pid, s); err == nil {
			return nil
		}
	}
	return p.Signal(sig)
}

// resizeSignals report that this process's terminal changed size.
var resizeSignals = []os.Signal{syscall.SIGWINCH}

func isResize(sig os.Signal) bool { return sig == syscall.SIGWINCH }
