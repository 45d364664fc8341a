package sandbox

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// The init is this binary re-executed with argv[0] initArg0 and its
// configuration in $envInit; Init recognises it by both.
const (
	initArg0 = "mlattest-sandbox-init"
	envInit  = "MLATTEST_SANDBOX_INIT"
)

// initConfig is what the parent tells the init.
type initConfig struct {
	Ctl      int      `json:"ctl"`             // the control socket's fd
	Probe    bool     `json:"probe,omitempty"` // only say the namespaces can be made
	Allow    []string `json:"allow,omitempty"` // endpoints to listen on
	DropCaps bool     `json:"dropCaps,omitempty"`
}

// Messages on the control socket, init to parent.
const (
	msgOK    = "ok"
	msgError = "error: "
)

// Init makes this process a sandbox's init when it was started as one: it
// then sets the network namespace up and executes the command, and never
// returns. Otherwise it returns at once.
//
// A program that runs commands under a Sandbox calls Init first thing in
// main, and so does TestMain of a package whose tests do: the sandbox runs
// its init by re-executing the running binary (/proc/self/exe).
func Init() {
	if len(os.Args) < 1 || os.Args[0] != initArg0 {
		return
	}
	raw, ok := os.LookupEnv(envInit)
	if !ok {
		return
	}
	os.Unsetenv(envInit)
	os.Exit(initMain(raw, os.Args[1:]))
}

// initMain returns only on failure, with the exit status.
func initMain(raw string, argv []string) int {
	var cfg initConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil || cfg.Ctl < 3 {
		fmt.Fprintf(os.Stderr, "mlattest: sandbox init: bad configuration\n")
		return 125
	}
	unix.CloseOnExec(cfg.Ctl)
	fail := func(err error) int {
		_, _ = unix.Write(cfg.Ctl, []byte(msgError+err.Error()))
		return 125
	}
	if cfg.Probe {
		_, _ = unix.Write(cfg.Ctl, []byte(msgOK))
		return 0
	}
	if len(argv) < 2 {
		return fail(errors.New("no command"))
	}
	fds, err := setupNamespace(cfg.Allow)
	if err != nil {
		return fail(err)
	}
	if cfg.DropCaps {
		if err := dropCaps(); err != nil {
			return fail(err)
		}
	}
	// The init's ambient capabilities (an unprivileged user's namespace)
	// are not the command's.
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fail(fmt.Errorf("clearing ambient capabilities: %w", err))
	}
	if err := unix.Sendmsg(cfg.Ctl, []byte(msgOK), unix.UnixRights(fds...), nil, 0); err != nil {
		return fail(fmt.Errorf("handing the namespace's sockets over: %w", err))
	}
	for _, fd := range fds {
		unix.Close(fd)
	}
	unix.Close(cfg.Ctl)
	err = unix.Exec(argv[0], argv[1:], os.Environ())
	// The parent checked the command before; report like a shell would.
	fmt.Fprintf(os.Stderr, "mlattest: sandbox: executing %s: %v\n", argv[0], err)
	return 127
}

// setupNamespace runs inside the new network namespace: loopback up, every
// address local to it, a packet socket on it and one listener per allowed
// endpoint. It returns the packet socket's fd, then the listeners' in the
// order of allow.
func setupNamespace(allow []string) ([]int, error) {
	lo, err := loopbackUp()
	if err != nil {
		return nil, fmt.Errorf("bringing loopback up: %w", err)
	}
	if err := routeAllLocal(lo, unix.AF_INET); err != nil {
		return nil, fmt.Errorf("routing IPv4 to loopback: %w", err)
	}
	// Without IPv6 on loopback (disabled by the system) an IPv6 connection
	// fails as unreachable: still no egress, only not recorded.
	_ = routeAllLocal(lo, unix.AF_INET6)
	pfd, err := packetSocket(lo)
	if err != nil {
		return nil, fmt.Errorf("packet socket on loopback: %w", err)
	}
	fds := []int{pfd}
	for _, a := range allow {
		ap, err := netip.ParseAddrPort(a)
		if err != nil {
			return nil, err
		}
		fd, err := listenTCP(ap)
		if err != nil {
			return nil, fmt.Errorf("listening on %s: %w", ap, err)
		}
		fds = append(fds, fd)
	}
	return fds, nil
}

func loopbackUp() (index int, err error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return 0, err
	}
	index = int(ifr.Uint32())
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return 0, err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return index, unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// routeAllLocal adds "local 0.0.0.0/0 dev lo table local" (or ::/0): every
// address of the family is this host's, so a connection attempt to any
// address reaches loopback, where it is seen and refused.
func routeAllLocal(lo int, family uint8) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	const size = unix.SizeofNlMsghdr + unix.SizeofRtMsg + 8
	b := make([]byte, size)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], size)
	ne.PutUint16(b[4:], unix.RTM_NEWROUTE)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	ne.PutUint32(b[8:], 1) // sequence number
	rt := b[unix.SizeofNlMsghdr:]
	rt[0] = family
	rt[4] = unix.RT_TABLE_LOCAL
	rt[5] = unix.RTPROT_BOOT
	rt[6] = unix.RT_SCOPE_HOST
	rt[7] = unix.RTN_LOCAL
	attr := rt[unix.SizeofRtMsg:]
	ne.PutUint16(attr[0:], 8)
	ne.PutUint16(attr[2:], unix.RTA_OIF)
	ne.PutUint32(attr[4:], uint32(lo))
	if err := unix.Sendto(fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return err
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if m.Header.Type == syscall.NLMSG_ERROR && len(m.Data) >= 4 {
			if e := int32(ne.Uint32(m.Data)); e != 0 {
				return unix.Errno(-e)
			}
			return nil
		}
	}
	return errors.New("no answer from netlink")
}

func packetSocket(lo int) (int, error) {
	proto := int(htons(unix.ETH_P_ALL))
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, proto)
	if err != nil {
		return -1, err
	}
	// Each packet on loopback is seen going out and coming in; keep one.
	_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: lo}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func listenTCP(ap netip.AddrPort) (int, error) {
	family := unix.AF_INET
	if ap.Addr().Is6() {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return -1, err
	}
	var sa unix.Sockaddr
	if ap.Addr().Is4() {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	} else {
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if err := unix.Listen(fd, 128); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// droppedCaps are the capabilities a root command in a plain network
// namespace could use to leave it (setns, or reconfigure it) or reach
// around it.
var droppedCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN, unix.CAP_SYS_PTRACE, unix.CAP_SYS_MODULE, unix.CAP_BPF, unix.CAP_SYS_RAWIO}

// dropCaps removes droppedCaps from the bounding and inheritable sets, so
// the executed command (root or not) cannot have them.
func dropCaps() error {
	for _, c := range droppedCaps {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, c, 0, 0, 0); err != nil {
			return fmt.Errorf("dropping capability %d: %w", c, err)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	for _, c := range droppedCaps {
		data[c/32].Inheritable &^= 1 << (c % 32)
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return err
	}
	// Ambient capabilities survive exec for a non-root command.
	return unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
}
