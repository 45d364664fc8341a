package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mlattest/mlattest/predicates"
)

// Mechanisms (predicates.Isolation.Mechanism).
const (
	MechanismUserNetNS = "userns+netns"
	MechanismNetNS     = "netns"
)

// selfExe re-executes the running binary; in the child, /proc/self is the
// child, a copy of us, even if our file was replaced meanwhile.
const selfExe = "/proc/self/exe"

// Sandbox runs one command under a network policy. Use New, Start, then
// Stop once the command has exited.
type Sandbox struct {
	policy Policy
	mech   string
	dial   func(network, addr string) (net.Conn, error)

	ctl       *os.File // parent end of the control socket
	obs       *observer
	fwd       []*forwarder
	startedAt time.Time
}

// Option configures New.
type Option func(*Sandbox) error

// WithMechanism forces MechanismUserNetNS or MechanismNetNS instead of the
// first that works (tests use it to exercise both).
func WithMechanism(m string) Option {
	return func(s *Sandbox) error {
		if m != MechanismUserNetNS && m != MechanismNetNS {
			return fmt.Errorf("%w: unknown mechanism %q", ErrPolicy, m)
		}
		s.mech = m
		return nil
	}
}

// New checks that this system can isolate a command (it starts the init
// once to try) and returns a Sandbox for one command. It fails wrapping
// ErrUnavailable when it cannot: unprivileged user namespaces are disabled
// and this process is not root.
func New(p Policy, opts ...Option) (*Sandbox, error) {
	if p.Network != NetworkNone && p.Network != NetworkAllow {
		return nil, fmt.Errorf("%w: network %q", ErrPolicy, p.Network)
	}
	if p.Network == NetworkAllow && len(p.Allow) == 0 {
		return nil, fmt.Errorf("%w: an allow-list with no endpoint", ErrPolicy)
	}
	s := &Sandbox{policy: p, dial: (&net.Dialer{Timeout: 30 * time.Second}).Dial}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	candidates := []string{MechanismUserNetNS, MechanismNetNS}
	if s.mech != "" {
		candidates = []string{s.mech}
	}
	var errs []error
	for _, m := range candidates {
		if m == MechanismNetNS && os.Geteuid() != 0 {
			errs = append(errs, fmt.Errorf("%s: needs root", m))
			continue
		}
		err := probe(m)
		if err == nil {
			s.mech = m
			return s, nil
		}
		if errors.Is(err, errNoInit) {
			return nil, err // a defect of the program, not of the system
		}
		errs = append(errs, fmt.Errorf("%s: %w", m, err))
	}
	return nil, fmt.Errorf("%w: a new network namespace could not be made (%w); enable unprivileged user namespaces (sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone, or the AppArmor restriction) or run as root", ErrUnavailable, errors.Join(errs...))
}

// Mechanism is how the command is isolated.
func (s *Sandbox) Mechanism() string { return s.mech }

// errNoInit: the re-executed binary did not act as the init.
var errNoInit = errors.New("sandbox: the re-executed program did not answer as the sandbox init (does its main, or TestMain, call sandbox.Init first?)")

// probe starts the init in the namespaces of mechanism m and waits for its
// answer.
func probe(m string) error {
	cmd := &exec.Cmd{Path: selfExe, Args: []string{initArg0}}
	parent, err := prepare(cmd, m, initConfig{Probe: true})
	if err != nil {
		return err
	}
	defer parent.Close()
	if err := cmd.Start(); err != nil {
		closeChild(cmd)
		return err
	}
	closeChild(cmd)
	msg, _, err := receive(parent, 0, 5*time.Second)
	if err != nil {
		// Not an init that answers: whatever it is must not go on.
		_ = cmd.Process.Kill()
	}
	werr := cmd.Wait()
	if err != nil {
		return fmt.Errorf("%w: %w", errNoInit, err)
	}
	if msg != msgOK {
		return errors.New(strings.TrimPrefix(msg, msgError))
	}
	return werr
}

// prepare turns cmd into the init running in mechanism m's namespaces with
// cfg, keeping its directory, stdio, environment and process attributes.
// It returns the parent's end of the control socket.
func prepare(cmd *exec.Cmd, m string, cfg initConfig) (*os.File, error) {
	// A binary whose main (or TestMain) does not call Init would, once
	// re-executed as an init, run its program again and start another
	// init: refuse at the first level instead of forking without end.
	if _, ok := os.LookupEnv(envInit); ok || (len(os.Args) > 0 && os.Args[0] == initArg0) {
		return nil, errors.New("sandbox: this process was started as a sandbox init but did not call sandbox.Init first thing in main/TestMain")
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	// Non-blocking, so that reading it can time out.
	if err := unix.SetNonblock(pair[0], true); err != nil {
		unix.Close(pair[0])
		unix.Close(pair[1])
		return nil, fmt.Errorf("control socket: %w", err)
	}
	parent, child := os.NewFile(uintptr(pair[0]), "sandbox-control"), os.NewFile(uintptr(pair[1]), "sandbox-control-child")
	cmd.ExtraFiles = append(cmd.ExtraFiles, child)
	cfg.Ctl = 2 + len(cmd.ExtraFiles)
	cfg.DropCaps = m == MechanismNetNS
	raw, err := json.Marshal(cfg)
	if err != nil {
		parent.Close()
		child.Close()
		return nil, err
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(slices.DeleteFunc(slices.Clone(env), func(e string) bool { return strings.HasPrefix(e, envInit+"=") }), envInit+"="+string(raw))
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	a := cmd.SysProcAttr
	a.Cloneflags |= syscall.CLONE_NEWNET
	if m == MechanismUserNetNS {
		a.Cloneflags |= syscall.CLONE_NEWUSER
		uid, gid := os.Getuid(), os.Getgid()
		if uid == 0 {
			// Every id maps to itself: root's files stay root's, and
			// root's capabilities count only inside the namespaces.
			a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1<<32 - 1}}
			a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1<<32 - 1}}
			a.GidMappingsEnableSetgroups = true
		} else {
			// The command keeps its own uid; the init, not root in the
			// namespace, keeps the capabilities it needs to set the
			// namespace up through exec as ambient ones, and clears
			// them before it executes the command.
			a.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
			a.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
			a.AmbientCaps = []uintptr{unix.CAP_NET_ADMIN, unix.CAP_NET_RAW, unix.CAP_NET_BIND_SERVICE}
		}
	}
	return parent, nil
}

// closeChild closes the init's end of the control socket in this process
// once the init holds it (or failed to start).
func closeChild(cmd *exec.Cmd) {
	if n := len(cmd.ExtraFiles); n > 0 {
		cmd.ExtraFiles[n-1].Close()
	}
}

// receive reads the init's one message and up to nfds file descriptors.
func receive(ctl *os.File, nfds int, timeout time.Duration) (string, []int, error) {
	if err := ctl.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return "", nil, err
	}
	rc, err := ctl.SyscallConn()
	if err != nil {
		return "", nil, err
	}
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*max(nfds, 1)))
	var n, oobn int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_CMSG_CLOEXEC)
		return rerr != unix.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return "", nil, err
	}
	if n == 0 {
		return "", nil, io.ErrUnexpectedEOF
	}
	var fds []int
	if oobn > 0 {
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return "", nil, err
		}
		for _, m := range msgs {
			got, err := unix.ParseUnixRights(&m)
			if err != nil {
				return "", nil, err
			}
			fds = append(fds, got...)
		}
	}
	return string(buf[:n]), fds, nil
}

// Start starts cmd (built by exec.Command, with its Dir, stdio, Env and
// SysProcAttr set as wanted) inside the sandbox. It rewrites cmd to start
// the init, which executes the command once the namespace is ready; then
// cmd.Process is the command. After Start succeeds, call cmd.Wait and then
// Stop. On error, the command has not run (its init, if started, is reaped).
func (s *Sandbox) Start(cmd *exec.Cmd) error {
	if s.ctl != nil {
		return errors.New("sandbox: Start called twice")
	}
	if cmd.Err != nil {
		return cmd.Err
	}
	args := append([]string{initArg0, cmd.Path}, cmd.Args...)
	if len(cmd.Args) == 0 {
		args = append(args, cmd.Path)
	}
	cmd.Path, cmd.Args = selfExe, args
	ctl, err := prepare(cmd, s.mech, initConfig{Allow: s.policy.allowStrings()})
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		closeChild(cmd)
		ctl.Close()
		return fmt.Errorf("%w: starting the sandbox (%s): %w", ErrUnavailable, s.mech, err)
	}
	closeChild(cmd)
	msg, fds, err := receive(ctl, 1+len(s.policy.Allow), 30*time.Second)
	if err == nil && msg != msgOK {
		err = errors.New(strings.TrimPrefix(msg, msgError))
	}
	if err == nil && len(fds) != 1+len(s.policy.Allow) {
		err = fmt.Errorf("the init handed over %d sockets, want %d", len(fds), 1+len(s.policy.Allow))
	}
	if err != nil {
		for _, fd := range fds {
			unix.Close(fd)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		ctl.Close()
		return fmt.Errorf("%w: setting up the network namespace: %w", ErrUnavailable, err)
	}
	s.ctl = ctl
	s.startedAt = time.Now()
	s.obs = observe(os.NewFile(uintptr(fds[0]), "sandbox-packets"))
	for i, ap := range s.policy.Allow {
		s.fwd = append(s.fwd, forward(os.NewFile(uintptr(fds[1+i]), "sandbox-listener"), ap, s.dial))
	}
	return nil
}

// Stop ends observing and forwarding (call it after the command exited)
// and returns the isolation record: the policy, the forwarded connections
// and the refused attempts.
func (s *Sandbox) Stop() *predicates.Isolation {
	iso := s.policy.Asserted()
	iso.Enforced, iso.Mechanism = true, s.mech
	if s.ctl == nil {
		return iso
	}
	s.ctl.Close()
	for _, f := range s.fwd {
		c := f.stop()
		if c.Count > 0 {
			iso.Connections = append(iso.Connections, c)
		}
	}
	iso.Refused, iso.RefusedOmitted = s.obs.stop()
	if n := len(iso.Connections); n > predicates.MaxIsolationConnections {
		iso.ConnectionsOmitted = n - predicates.MaxIsolationConnections
		iso.Connections = iso.Connections[:predicates.MaxIsolationConnections]
	}
	return iso
}

// observer reads the namespace's loopback packets into a tally.
type observer struct {
	f    *os.File
	mu   sync.Mutex
	t    *tally
	done chan struct{}
}

func observe(f *os.File) *observer {
	o := &observer{f: f, t: newTally(), done: make(chan struct{})}
	go func() {
		defer close(o.done)
		o.read(false)
	}()
	return o
}

// read reads packets until the deadline (or, with once, until none is
// queued).
func (o *observer) read(once bool) {
	rc, err := o.f.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, 65536)
	_ = rc.Read(func(fd uintptr) bool {
		for {
			n, from, err := unix.Recvfrom(int(fd), buf, unix.MSG_TRUNC)
			if err == unix.EAGAIN {
				return once
			}
			if err != nil {
				return true
			}
			if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
				continue
			}
			if p, ok := parsePacket(buf[:min(n, len(buf))]); ok {
				o.mu.Lock()
				o.t.add(p)
				o.mu.Unlock()
			}
		}
	})
}

// stop drains what is queued and returns the refused attempts, sorted, at
// most predicates.MaxIsolationConnections of them, and how many more.
func (o *observer) stop() ([]predicates.Connection, int) {
	_ = o.f.SetReadDeadline(time.Now())
	<-o.done
	_ = o.f.SetReadDeadline(time.Time{})
	o.read(true)
	o.f.Close()
	o.mu.Lock()
	defer o.mu.Unlock()
	keys := make([]attemptKey, 0, len(o.t.refused))
	for k := range o.t.refused {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b attemptKey) int {
		if c := strings.Compare(a.proto, b.proto); c != 0 {
			return c
		}
		return a.to.Compare(b.to)
	})
	omitted := 0
	if len(keys) > predicates.MaxIsolationConnections {
		omitted = len(keys) - predicates.MaxIsolationConnections
		keys = keys[:predicates.MaxIsolationConnections]
	}
	out := make([]predicates.Connection, 0, len(keys))
	for _, k := range keys {
		out = append(out, predicates.Connection{Proto: k.proto, To: k.to.String(), Count: o.t.refused[k]})
	}
	return out, omitted
}

// forwarder accepts connections on one allowed endpoint inside the
// namespace and joins each to a connection to the real endpoint, dialled
// from outside.
type forwarder struct {
	ln    net.Listener
	to    netip.AddrPort
	dial  func(network, addr string) (net.Conn, error)
	mu    sync.Mutex
	count int
	fails int
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func forward(f *os.File, to netip.AddrPort, dial func(network, addr string) (net.Conn, error)) *forwarder {
	fw := &forwarder{to: to, dial: dial, conns: map[net.Conn]bool{}}
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return fw // nothing is reachable then: the command sees refusals
	}
	fw.ln = ln
	fw.wg.Add(1)
	go fw.accept()
	return fw
}

func (fw *forwarder) accept() {
	defer fw.wg.Done()
	for {
		in, err := fw.ln.Accept()
		if err != nil {
			return
		}
		fw.mu.Lock()
		fw.count++
		fw.conns[in] = true
		fw.mu.Unlock()
		fw.wg.Add(1)
		go fw.join(in)
	}
}

func (fw *forwarder) join(in net.Conn) {
	defer fw.wg.Done()
	defer func() {
		in.Close()
		fw.mu.Lock()
		delete(fw.conns, in)
		fw.mu.Unlock()
	}()
	out, err := fw.dial("tcp", fw.to.String())
	if err != nil {
		fw.mu.Lock()
		fw.fails++
		fw.mu.Unlock()
		return
	}
	fw.mu.Lock()
	fw.conns[out] = true
	fw.mu.Unlock()
	defer func() {
		out.Close()
		fw.mu.Lock()
		delete(fw.conns, out)
		fw.mu.Unlock()
	}()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if c, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = c.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(out, in)
	go pipe(in, out)
	<-done
	<-done
}

// stop closes the listener and every open connection and returns the
// count.
func (fw *forwarder) stop() predicates.Connection {
	if fw.ln != nil {
		fw.ln.Close()
	}
	fw.mu.Lock()
	for c := range fw.conns {
		c.Close()
	}
	fw.mu.Unlock()
	fw.wg.Wait()
	return predicates.Connection{Proto: "tcp", To: fw.to.String(), Count: fw.count, Failed: fw.fails}
}
