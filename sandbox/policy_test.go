package sandbox

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"testing"
)

func TestParseNetwork(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string // Policy.String(); "" when an error is expected
		wantErr bool
	}{
		{in: "none", want: "none"},
		{in: "allow=127.0.0.1:8080", want: "allow=127.0.0.1:8080"},
		{in: "allow=10.0.0.2:443,127.0.0.1:80,10.0.0.2:443", want: "allow=10.0.0.2:443,127.0.0.1:80"},
		{in: "allow=[::1]:9000,[::ffff:127.0.0.1]:9", want: "allow=127.0.0.1:9,[::1]:9000"},
		{in: "", wantErr: true},
		{in: "host", wantErr: true},
		{in: "None", wantErr: true},
		{in: "allow=", wantErr: true},
		{in: "allow=example.com:443", wantErr: true},
		{in: "allow=127.0.0.1", wantErr: true},
		{in: "allow=127.0.0.1:0", wantErr: true},
		{in: "allow=0.0.0.0:80", wantErr: true},
		{in: "allow=224.0.0.1:80", wantErr: true},
		{in: "allow=[fe80::1%eth0]:80", wantErr: true},
		{in: "allow=127.0.0.1:80,", wantErr: true},
	} {
		p, err := ParseNetwork(tc.in)
		if tc.wantErr {
			if !errors.Is(err, ErrPolicy) {
				t.Errorf("ParseNetwork(%q) = %v, %v; want ErrPolicy", tc.in, p, err)
			}
			continue
		}
		if err != nil || p.String() != tc.want {
			t.Errorf("ParseNetwork(%q) = %q, %v; want %q", tc.in, p.String(), err, tc.want)
		}
	}
}

// ipv4 builds an IPv4 packet of proto from src to dst with payload.
func ipv4(proto byte, src, dst string, payload []byte) []byte {
	b := make([]byte, 20, 20+len(payload))
	b[0], b[9] = 0x45, proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	return append(b, payload...)
}

func tcp(sport, dport uint16, flags byte) []byte {
	b := make([]byte, 20)
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	b[13] = flags
	return b
}

func udp(sport, dport uint16) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	return b
}

// TestTally: only a SYN answered by a reset, and a datagram answered by
// port unreachable, count as refused; an accepted connection and a reset of
// an established one do not.
func TestTally(t *testing.T) {
	const c, s = "127.0.0.1", "10.1.2.3"
	unreach := append([]byte{3, 3, 0, 0, 0, 0, 0, 0}, ipv4(17, c, "10.9.9.9", udp(5000, 53))...)
	packets := [][]byte{
		ipv4(6, c, s, tcp(40000, 443, tcpSYN)),        // refused below
		ipv4(6, s, c, tcp(443, 40000, tcpRST|tcpACK)), // the refusal
		ipv4(6, c, s, tcp(40001, 80, tcpSYN)),         // accepted below
		ipv4(6, s, c, tcp(80, 40001, tcpSYN|tcpACK)),
		ipv4(6, s, c, tcp(80, 40001, tcpRST)),                        // reset after accept: not a refusal
		ipv4(6, s, c, tcp(22, 40002, tcpRST|tcpACK)),                 // reset without a SYN: ignored
		ipv4(17, c, "10.9.9.9", udp(5000, 53)),                       // the datagram itself
		ipv4(1, "10.9.9.9", c, unreach),                              // refused
		ipv4(1, "10.9.9.9", c, append([]byte{3, 1}, unreach[2:]...)), // host unreachable: another code
		{0x45, 1, 2},
		nil,
	}
	tl := newTally()
	for _, b := range packets {
		if p, ok := parsePacket(b); ok {
			tl.add(p)
		}
	}
	var got []string
	for k, n := range tl.refused {
		got = append(got, k.proto+" "+k.to.String()+" "+string(rune('0'+n)))
	}
	slices.Sort(got)
	want := []string{"tcp 10.1.2.3:443 1", "udp 10.9.9.9:53 1"}
	if !slices.Equal(got, want) {
		t.Errorf("refused %q, want %q", got, want)
	}
}

// FuzzParsePacket: the sandboxed command chooses the bytes; parsing never
// panics, and what it accepts has a transport protocol it understands.
func FuzzParsePacket(f *testing.F) {
	f.Add(ipv4(6, "127.0.0.1", "127.0.0.1", tcp(1, 2, tcpSYN)))
	f.Add(ipv4(1, "10.0.0.1", "127.0.0.1", append([]byte{3, 3, 0, 0, 0, 0, 0, 0}, ipv4(17, "127.0.0.1", "10.0.0.1", udp(1, 53))...)))
	v6 := make([]byte, 40)
	v6[0], v6[6] = 0x60, 17
	f.Add(append(v6, udp(1, 53)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, ok := parsePacket(b)
		if ok && p.proto != protoTCP && p.proto != protoUDP {
			t.Fatalf("accepted protocol %d", p.proto)
		}
		newTally().add(p)
	})
}
