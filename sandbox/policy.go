// Package sandbox runs a pipeline stage's command isolated from the network
// and records the environment it ran in.
//
// Network isolation (Linux): the command runs in a network namespace of its
// own. A small init — this same binary, re-executed; see Init — sets the
// namespace up and then executes the command:
//
//   - loopback is brought up and every IPv4 and IPv6 address is routed to it
//     as local ("AnyIP"), so no packet can leave and every connection
//     attempt, to any address, becomes a packet on loopback;
//   - a packet socket on loopback lets the parent see each attempt: a TCP
//     SYN answered by a reset and a UDP datagram answered by "port
//     unreachable" are recorded as refused (a DNS query is such a datagram);
//   - under an allow-list, a listener bound to each allowed address and
//     port inside the namespace is handed to the parent, which dials the real
//     endpoint from outside and copies bytes both ways: exactly the listed
//     endpoints are reachable, and every forwarded connection is logged.
//
// The namespace is created inside a new user namespace where the kernel
// allows it (as root too: then the command cannot use its host capabilities
// to join another namespace); as root without user namespaces, in a plain
// network namespace, with the capabilities that could leave it removed
// before the command starts. Where neither is possible New fails: a command
// is never run unisolated when isolation was asked for.
//
// Not covered: Unix sockets in the file system (a network namespace does not
// isolate them), and names in an allow-list (list addresses).
package sandbox

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/mlattest/mlattest/predicates"
)

// Network modes (predicates.Isolation.Network).
const (
	NetworkNone  = "none"
	NetworkAllow = "allow"
)

// ErrPolicy marks a network policy that cannot be parsed.
var ErrPolicy = errors.New("invalid network policy")

// ErrUnavailable marks a system where the command cannot be isolated.
var ErrUnavailable = errors.New("network isolation is not available")

// Policy is a network policy for one command.
type Policy struct {
	// Network is NetworkNone or NetworkAllow.
	Network string
	// Allow lists the TCP endpoints reachable under NetworkAllow, sorted
	// and without duplicates.
	Allow []netip.AddrPort
}

// ParseNetwork parses "none" or "allow=ADDR:PORT[,ADDR:PORT...]" (IPv6 as
// [ADDR]:PORT). Addresses must be IP literals: the command cannot resolve
// names when it has no network, and a name resolved here could mean other
// addresses there.
func ParseNetwork(s string) (Policy, error) {
	if s == NetworkNone {
		return Policy{Network: NetworkNone}, nil
	}
	list, ok := strings.CutPrefix(s, NetworkAllow+"=")
	if !ok {
		return Policy{}, fmt.Errorf("%w: %q: want %q or %q", ErrPolicy, s, NetworkNone, "allow=ADDR:PORT,...")
	}
	p := Policy{Network: NetworkAllow}
	for _, e := range strings.Split(list, ",") {
		ap, err := netip.ParseAddrPort(e)
		if err != nil {
			return Policy{}, fmt.Errorf("%w: endpoint %q: want an IP address and port such as 127.0.0.1:8080 or [::1]:8080 (names are not accepted)", ErrPolicy, e)
		}
		if ap.Port() == 0 {
			return Policy{}, fmt.Errorf("%w: endpoint %q: port 0", ErrPolicy, e)
		}
		if ap.Addr().Zone() != "" || ap.Addr().IsUnspecified() || ap.Addr().IsMulticast() {
			return Policy{}, fmt.Errorf("%w: endpoint %q: not a unicast address", ErrPolicy, e)
		}
		p.Allow = append(p.Allow, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
	}
	slices.SortFunc(p.Allow, func(a, b netip.AddrPort) int { return a.Compare(b) })
	p.Allow = slices.Compact(p.Allow)
	return p, nil
}

// String is the policy as ParseNetwork reads it.
func (p Policy) String() string {
	if p.Network != NetworkAllow {
		return p.Network
	}
	return NetworkAllow + "=" + strings.Join(p.allowStrings(), ",")
}

func (p Policy) allowStrings() []string {
	out := make([]string, len(p.Allow))
	for i, a := range p.Allow {
		out[i] = a.String()
	}
	return out
}

// Asserted is the record of a policy mlattest did not enforce itself (a step
// that ran elsewhere): Enforced is false and nothing was observed.
func (p Policy) Asserted() *predicates.Isolation {
	iso := &predicates.Isolation{Network: p.Network}
	if p.Network == NetworkAllow {
		iso.Allow = p.allowStrings()
	}
	return iso
}
