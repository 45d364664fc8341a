package sandbox

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers.
const (
	protoTCP    = 6
	protoUDP    = 17
	protoICMP   = 1
	protoICMPv6 = 58
)

// TCP flags.
const (
	tcpRST = 0x04
	tcpSYN = 0x02
	tcpACK = 0x10
)

// packet is what the observer needs of one IP packet seen on loopback.
type packet struct {
	proto    uint8 // protoTCP or protoUDP (for unreach: of the original datagram)
	src, dst netip.AddrPort
	flags    uint8 // TCP flags
	// unreach: an ICMP "port unreachable" whose embedded original datagram
	// went from src to dst.
	unreach bool
}

// parsePacket reads an IPv4 or IPv6 packet (no link header). ok is false for
// anything it does not need or cannot read: the bytes come from a sandboxed
// command and are never trusted to be well formed.
func parsePacket(b []byte) (p packet, ok bool) {
	src, dst, proto, payload, ok := parseIP(b)
	if !ok {
		return packet{}, false
	}
	switch proto {
	case protoTCP:
		if len(payload) < 20 {
			return packet{}, false
		}
		return packet{
			proto: protoTCP,
			src:   netip.AddrPortFrom(src, binary.BigEndian.Uint16(payload[0:2])),
			dst:   netip.AddrPortFrom(dst, binary.BigEndian.Uint16(payload[2:4])),
			flags: payload[13],
		}, true
	case protoUDP:
		if len(payload) < 8 {
			return packet{}, false
		}
		return packet{
			proto: protoUDP,
			src:   netip.AddrPortFrom(src, binary.BigEndian.Uint16(payload[0:2])),
			dst:   netip.AddrPortFrom(dst, binary.BigEndian.Uint16(payload[2:4])),
		}, true
	case protoICMP, protoICMPv6:
		// Destination unreachable, port unreachable: IPv4 type 3 code 3,
		// IPv6 type 1 code 4; the original packet follows 8 bytes later.
		if len(payload) < 8 {
			return packet{}, false
		}
		v4 := proto == protoICMP
		if v4 && (payload[0] != 3 || payload[1] != 3) || !v4 && (payload[0] != 1 || payload[1] != 4) {
			return packet{}, false
		}
		osrc, odst, oproto, opayload, ok := parseIP(payload[8:])
		if !ok || oproto != protoUDP || len(opayload) < 4 {
			return packet{}, false
		}
		return packet{
			proto:   protoUDP,
			src:     netip.AddrPortFrom(osrc, binary.BigEndian.Uint16(opayload[0:2])),
			dst:     netip.AddrPortFrom(odst, binary.BigEndian.Uint16(opayload[2:4])),
			unreach: true,
		}, true
	}
	return packet{}, false
}

// parseIP splits an IPv4 or IPv6 header from its payload. IPv6 extension
// headers are not followed (the kernel's own replies on loopback carry
// none); fragments after the first are skipped.
func parseIP(b []byte) (src, dst netip.Addr, proto uint8, payload []byte, ok bool) {
	if len(b) < 1 {
		return
	}
	switch b[0] >> 4 {
	case 4:
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || len(b) < ihl {
			return
		}
		if binary.BigEndian.Uint16(b[6:8])&0x1fff != 0 {
			return // not the first fragment: no transport header
		}
		src = netip.AddrFrom4([4]byte(b[12:16]))
		dst = netip.AddrFrom4([4]byte(b[16:20]))
		return src, dst, b[9], b[ihl:], true
	case 6:
		if len(b) < 40 {
			return
		}
		src = netip.AddrFrom16([16]byte(b[8:24])).Unmap()
		dst = netip.AddrFrom16([16]byte(b[24:40])).Unmap()
		return src, dst, b[6], b[40:], true
	}
	return
}

// flow is one TCP connection attempt: from the client to the server.
type flow struct{ client, server netip.AddrPort }

// tally follows the packets of a sandbox's loopback and counts the refused
// attempts: a SYN answered by a reset, a UDP datagram answered "port
// unreachable".
type tally struct {
	pending map[flow]bool // SYN seen, no answer yet
	refused map[attemptKey]int
}

type attemptKey struct {
	proto string
	to    netip.AddrPort
}

func newTally() *tally {
	return &tally{pending: map[flow]bool{}, refused: map[attemptKey]int{}}
}

// maxPending bounds the unanswered SYNs remembered: a command flooding
// SYNs must not grow our memory without bound.
const maxPending = 1 << 16

func (t *tally) add(p packet) {
	switch {
	case p.unreach:
		t.refused[attemptKey{"udp", p.dst}]++
	case p.proto != protoTCP:
	case p.flags&(tcpSYN|tcpACK|tcpRST) == tcpSYN:
		if len(t.pending) < maxPending {
			t.pending[flow{client: p.src, server: p.dst}] = true
		}
	case p.flags&tcpRST != 0:
		f := flow{client: p.dst, server: p.src}
		if t.pending[f] {
			delete(t.pending, f)
			t.refused[attemptKey{"tcp", p.src}]++
		}
	case p.flags&(tcpSYN|tcpACK) == tcpSYN|tcpACK:
		delete(t.pending, flow{client: p.dst, server: p.src})
	}
}
