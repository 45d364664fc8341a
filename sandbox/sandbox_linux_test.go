package sandbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mlattest/mlattest/predicates"
)

// envHelper makes the test binary a network client: each argument is
// "dial ADDR" or "lookup NAME"; it prints one line per action and exits 0.
const envHelper = "MLATTEST_SANDBOX_TEST_HELPER"

func TestMain(m *testing.M) {
	Init()
	if os.Getenv(envHelper) != "" {
		helper(os.Args[1:])
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func helper(actions []string) {
	for _, a := range actions {
		verb, arg, _ := strings.Cut(a, " ")
		switch verb {
		case "dial":
			c, err := net.DialTimeout("tcp", arg, 3*time.Second)
			if err != nil {
				fmt.Printf("dial %s: failed: %v\n", arg, err)
				continue
			}
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			fmt.Printf("dial %s: connected: %q %v\n", arg, line, err)
		case "lookup":
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			addrs, err := net.DefaultResolver.LookupHost(ctx, arg)
			cancel()
			if err != nil {
				fmt.Printf("lookup %s: failed: %v\n", arg, err)
				continue
			}
			fmt.Printf("lookup %s: resolved: %v\n", arg, addrs)
		}
	}
}

// hostListener listens on the host's loopback, answers "hello\n" to each
// connection and counts them.
func hostListener(t *testing.T) (netip.AddrPort, func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan struct{}, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			_, _ = io.WriteString(c, "hello\n")
			c.Close()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String()), func() int { return len(accepted) }
}

// newOrSkip makes a sandbox, or skips where this system cannot (fails
// under CI=true, which runs as root on a system that can).
func newOrSkip(t *testing.T, p Policy, opts ...Option) *Sandbox {
	t.Helper()
	s, err := New(p, opts...)
	if errors.Is(err, ErrUnavailable) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: network isolation must work in CI: %v", err)
		}
		t.Skipf("network isolation not permitted here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// runHelper runs the helper with actions, in s when s is not nil, and
// returns its output.
func runHelper(t *testing.T, s *Sandbox, actions ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], actions...)
	cmd.Env = append(os.Environ(), envHelper+"=1", "GODEBUG=netdns=go")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if s == nil {
		if err := cmd.Run(); err != nil {
			t.Fatalf("helper: %v\n%s", err, out.String())
		}
		return out.String()
	}
	if err := s.Start(cmd); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper in sandbox: %v\n%s", err, out.String())
	}
	return out.String()
}

func refusedTo(iso *predicates.Isolation, proto, to string) int {
	for _, c := range iso.Refused {
		if c.Proto == proto && c.To == to {
			return c.Count
		}
	}
	return 0
}

func TestNetworkNone(t *testing.T) {
	for _, mech := range []string{MechanismUserNetNS, MechanismNetNS} {
		t.Run(mech, func(t *testing.T) {
			if mech == MechanismNetNS && os.Geteuid() != 0 {
				t.Skip("a plain network namespace needs root")
			}
			ap, accepted := hostListener(t)
			// Outside the sandbox the listener is reachable.
			if out := runHelper(t, nil, "dial "+ap.String()); !strings.Contains(out, "connected: \"hello\\n\"") {
				t.Fatalf("without the sandbox the helper did not connect:\n%s", out)
			}
			s := newOrSkip(t, Policy{Network: NetworkNone}, WithMechanism(mech))
			out := runHelper(t, s, "dial "+ap.String(), "lookup mlattest-sandbox-test.example.com")
			iso := s.Stop()
			if !strings.Contains(out, "dial "+ap.String()+": failed") || !strings.Contains(out, "lookup mlattest-sandbox-test.example.com: failed") {
				t.Fatalf("in the sandbox the helper reached the network:\n%s", out)
			}
			if n := accepted(); n != 1 {
				t.Errorf("host listener accepted %d connections, want 1 (the unsandboxed one)", n)
			}
			if iso.Network != NetworkNone || !iso.Enforced || iso.Mechanism != mech || len(iso.Allow) != 0 || len(iso.Connections) != 0 {
				t.Errorf("isolation record %+v", iso)
			}
			if refusedTo(iso, "tcp", ap.String()) != 1 {
				t.Errorf("refused %+v: want tcp %s once", iso.Refused, ap)
			}
			dns := false
			for _, c := range iso.Refused {
				dns = dns || c.Proto == "udp" && strings.HasSuffix(c.To, ":53")
			}
			if !dns {
				t.Errorf("refused %+v: no DNS query recorded", iso.Refused)
			}
		})
	}
}

func TestNetworkAllow(t *testing.T) {
	allowed, acceptedAllowed := hostListener(t)
	other, acceptedOther := hostListener(t)
	p, err := ParseNetwork("allow=" + allowed.String())
	if err != nil {
		t.Fatal(err)
	}
	s := newOrSkip(t, p)
	out := runHelper(t, s, "dial "+allowed.String(), "dial "+other.String(), "dial "+allowed.String())
	iso := s.Stop()
	if strings.Count(out, "dial "+allowed.String()+": connected: \"hello\\n\"") != 2 {
		t.Errorf("the allowed endpoint was not reached twice:\n%s", out)
	}
	if !strings.Contains(out, "dial "+other.String()+": failed") {
		t.Errorf("another port was reachable:\n%s", out)
	}
	if acceptedAllowed() != 2 || acceptedOther() != 0 {
		t.Errorf("accepted: allowed %d (want 2), other %d (want 0)", acceptedAllowed(), acceptedOther())
	}
	if iso.Network != NetworkAllow || len(iso.Allow) != 1 || iso.Allow[0] != allowed.String() {
		t.Errorf("isolation record %+v", iso)
	}
	if len(iso.Connections) != 1 || iso.Connections[0] != (predicates.Connection{Proto: "tcp", To: allowed.String(), Count: 2}) {
		t.Errorf("connections %+v, want 2 to %s", iso.Connections, allowed)
	}
	if len(iso.Refused) != 1 || refusedTo(iso, "tcp", other.String()) != 1 {
		t.Errorf("refused %+v, want exactly tcp %s once", iso.Refused, other)
	}
}
