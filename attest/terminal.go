package attest

import (
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// outputs connects the command's stdout and stderr to Run's, digesting
// both. A stream whose destination is a terminal gets a pseudo-terminal,
// so that the command sees a terminal there as it would without mlattest:
// Python line-buffers, progress bars draw. Its bytes are copied to the
// real terminal as they come. Every other stream is piped through
// unchanged.
//
// When stdout and stderr are the same terminal, the command gets one
// pseudo-terminal for both, as with ssh -t or docker run -t: its lines
// keep their order, and there is one stream to digest. Record.Stdout is
// then the digest of that merged output and Record.Stderr is empty.
type outputs struct {
	ptys   []*ptyStream
	merged bool
}

// ptyStream is one pseudo-terminal standing for a terminal of ours.
type ptyStream struct {
	master, tty *os.File
	size        *os.File // our terminal, whose size the pseudo-terminal copies
	dst         *tee
	done        chan error
}

// connect sets cmd.Stdout and cmd.Stderr.
func (c *config) connect(cmd *exec.Cmd, outHash, errHash hash.Hash) (*outputs, error) {
	o := &outputs{}
	fo, fe := terminal(c.stdout), terminal(c.stderr)
	var err error
	if fo != nil && fe != nil && sameFile(fo, fe) {
		if cmd.Stdout, err = o.stream(c.stdout, outHash, fo); err == nil {
			o.merged = o.active()
			cmd.Stderr = cmd.Stdout
			if !o.merged { // no pseudo-terminals here
				cmd.Stderr = io.MultiWriter(c.stderr, errHash)
			}
		}
	} else {
		cmd.Stdout, err = o.stream(c.stdout, outHash, fo)
		if err == nil {
			cmd.Stderr, err = o.stream(c.stderr, errHash, fe)
		}
	}
	if err != nil {
		o.close()
		return nil, err
	}
	return o, nil
}

// terminal is w as a file when w is a terminal, else nil.
func terminal(w io.Writer) *os.File {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return f
	}
	return nil
}

func sameFile(a, b *os.File) bool {
	ai, err1 := a.Stat()
	bi, err2 := b.Stat()
	return err1 == nil && err2 == nil && os.SameFile(ai, bi)
}

// stream is what the command writes to for w: a new pseudo-terminal when
// w is the terminal f (non-nil), else w itself, digested into h.
func (o *outputs) stream(w io.Writer, h hash.Hash, f *os.File) (io.Writer, error) {
	if f == nil {
		return io.MultiWriter(w, h), nil
	}
	master, tty, err := pty.Open()
	if errors.Is(err, pty.ErrUnsupported) {
		return io.MultiWriter(w, h), nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening a pseudo-terminal for the command: %w", err)
	}
	s := &ptyStream{master: master, tty: tty, size: f, dst: &tee{w: w, h: h}, done: make(chan error, 1)}
	o.ptys = append(o.ptys, s)
	_ = pty.InheritSize(f, master) // a terminal without a size keeps the default
	if err := rawNewlines(tty); err != nil {
		return nil, fmt.Errorf("setting up a pseudo-terminal for the command: %w", err)
	}
	return tty, nil
}

// active reports whether any stream is a pseudo-terminal.
func (o *outputs) active() bool { return len(o.ptys) > 0 }

// started closes our copies of the pseudo-terminals' command ends, so that
// reading the other end stops once the command and its children closed
// theirs, and starts copying.
func (o *outputs) started() {
	for _, s := range o.ptys {
		s.tty.Close()
		go func() {
			_, err := io.Copy(s.dst, s.master)
			// Linux reports a pseudo-terminal closed on the command's side
			// as EIO.
			if errors.Is(err, syscall.EIO) {
				err = nil
			}
			if err == nil {
				err = s.dst.err
			}
			s.done <- err
		}()
	}
}

// resize gives every pseudo-terminal the size of the terminal it stands for.
func (o *outputs) resize() {
	for _, s := range o.ptys {
		_ = pty.InheritSize(s.size, s.master)
	}
}

// wait waits for the copies to finish, at most d after the command exited:
// a process the command left running may keep a pseudo-terminal open.
// lingered says that happened; then the output copied stops there.
func (o *outputs) wait(d time.Duration) (lingered bool, err error) {
	timeout := time.After(d)
	for _, s := range o.ptys {
		select {
		case e := <-s.done:
			err = errors.Join(err, e)
		case <-timeout:
			lingered = true
			s.master.Close() // ends the copy
			e := <-s.done
			if !errors.Is(e, os.ErrClosed) {
				err = errors.Join(err, e)
			}
		}
	}
	return lingered, err
}

// close releases the pseudo-terminals; a copy still running stops.
func (o *outputs) close() {
	for _, s := range o.ptys {
		s.tty.Close()
		s.master.Close()
	}
}

// tee digests everything and writes it to w until a write fails. It keeps
// digesting after that, so that the command never blocks on a full
// pseudo-terminal; the first error is kept in err.
type tee struct {
	w   io.Writer
	h   hash.Hash
	err error
}

func (t *tee) Write(p []byte) (int, error) {
	t.h.Write(p)
	if t.err == nil {
		_, t.err = t.w.Write(p)
	}
	return len(p), nil
}
