package attest

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// dieWithParent has the kernel kill the command when mlattest dies, even by
// SIGKILL. The signal is sent when the thread that forked the command
// exits, so Run keeps that thread (locked) until the command is reaped.
func dieWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }

// rawNewlines stops a pseudo-terminal from turning "\n" into "\r\n", so
// that the digest covers the bytes the command wrote, as through a pipe;
// the real terminal still translates them when they are copied there.
func rawNewlines(tty *os.File) error {
	fd := int(tty.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Oflag &^= unix.ONLCR
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}
