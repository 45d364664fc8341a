package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlattest/mlattest/sandbox"
)

// envNetHelper makes the test binary a stage's command that uses the
// network: each argument is "dial ADDR" or "lookup NAME"; it prints one
// line per action.
const envNetHelper = "MLATTEST_E2E_NET_HELPER"

func netHelper(actions []string) {
	for _, a := range actions {
		verb, arg, _ := strings.Cut(a, " ")
		switch verb {
		case "dial":
			c, err := net.DialTimeout("tcp", arg, 3*time.Second)
			if err != nil {
				fmt.Printf("dial %s: failed: %v\n", arg, err)
				continue
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			fmt.Printf("dial %s: connected: %s", arg, line)
		case "lookup":
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			_, err := net.DefaultResolver.LookupHost(ctx, arg)
			cancel()
			fmt.Printf("lookup %s: %v\n", arg, err)
		}
	}
}

// echoListener listens on the host's loopback and greets each connection.
func echoListener(t *testing.T) (addr string, accepted func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	n := make(chan struct{}, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n <- struct{}{}
			_, _ = io.WriteString(c, "hello\n")
			c.Close()
		}
	}()
	return ln.Addr().String(), func() int { return len(n) }
}

// requireIsolation skips (fails under CI=true) where this system cannot
// make a network namespace.
func requireIsolation(t *testing.T) {
	t.Helper()
	if _, err := sandbox.New(sandbox.Policy{Network: sandbox.NetworkNone}); errors.Is(err, sandbox.ErrUnavailable) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: network isolation must work in CI: %v", err)
		}
		t.Skipf("network isolation not permitted here: %v", err)
	}
}

// TestRunNetwork: mlattest run --network none and allow=... through the
// binary: the stage reaches exactly what the policy allows, and its link
// records the policy, the forwarded connections and the refused attempts.
func TestRunNetwork(t *testing.T) {
	requireIsolation(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if r := mlattest(t, dir, nil, "keygen", "--output-key-prefix", "ci", "--no-passphrase"); r.code != 0 {
		t.Fatalf("keygen: %v", r)
	}
	writeFile(t, filepath.Join(dir, "data.txt"), "data\n")
	allowed, acceptedAllowed := echoListener(t)
	other, acceptedOther := echoListener(t)
	const name = "mlattest-e2e.example.com"

	for i, tc := range []struct {
		name      string
		network   []string // the --network flag, if any
		actions   []string
		wantOut   []string // lines the stage prints
		wantIso   bool
		iso       string // want in the link's isolation byproduct (JSON substrings, ;-separated)
		wantConns [2]int // connections accepted by allowed, other
	}{
		{
			name:    "no policy: the stage connects",
			actions: []string{"dial " + allowed},
			wantOut: []string{"dial " + allowed + ": connected: hello"}, wantConns: [2]int{1, 0},
		},
		{
			name: "none", network: []string{"--network", "none"},
			actions: []string{"dial " + allowed, "lookup " + name},
			wantOut: []string{"dial " + allowed + ": failed", "lookup " + name + ": lookup " + name},
			wantIso: true,
			iso:     `"network":"none";"enforced":true;{"count":1,"proto":"tcp","to":"` + allowed + `"};"proto":"udp","to":`,
		},
		{
			name: "allow-list", network: []string{"--network", "allow=" + allowed},
			actions: []string{"dial " + allowed, "dial " + other},
			wantOut: []string{"dial " + allowed + ": connected: hello", "dial " + other + ": failed"},
			wantIso: true, wantConns: [2]int{1, 0},
			iso: `"network":"allow";"allow":["` + allowed + `"];"connections":[{"count":1,"proto":"tcp","to":"` + allowed + `"}];"refused":[{"count":1,"proto":"tcp","to":"` + other + `"}]`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a0, o0 := acceptedAllowed(), acceptedOther()
			out := fmt.Sprintf("att%d", i)
			args := append([]string{"run", "--step", "fetch", "--run-id", "net-1", "--key", "ci.key", "--offline",
				"--out", out, "--materials", "data.txt"}, tc.network...)
			args = append(append(args, "--", self), tc.actions...)
			r := mlattest(t, dir, []string{envNetHelper + "=1", "GODEBUG=netdns=go"}, args...)
			if r.code != 0 {
				t.Fatalf("run: %v", r)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stage output lacks %q:\n%s", w, r.stdout)
				}
			}
			if got := [2]int{acceptedAllowed() - a0, acceptedOther() - o0}; got != tc.wantConns {
				t.Errorf("connections accepted (allowed, other) = %v, want %v", got, tc.wantConns)
			}
			link := payload(t, filepath.Join(dir, out, "fetch.link.sigstore.json"))
			iso, ok := link["predicate"].(map[string]any)["byproducts"].(map[string]any)["mlattest.dev/isolation"]
			if ok != tc.wantIso {
				t.Fatalf("link isolation byproduct = %v, want present %v", iso, tc.wantIso)
			}
			if !ok {
				return
			}
			raw := string(mustJSON(t, iso))
			for _, w := range strings.Split(tc.iso, ";") {
				if !strings.Contains(raw, w) {
					t.Errorf("isolation record %s lacks %s", raw, w)
				}
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRunNetworkUnprivileged: as an unprivileged user, --network none runs
// the stage in a user and network namespace; where the kernel refuses
// unprivileged user namespaces, run exits 125 before the command starts and
// never runs it unisolated.
func TestRunNetworkUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the binary as another user")
	}
	cred := &syscall.Credential{Uid: 65534, Gid: 65534}
	dir, err := os.MkdirTemp("", "mlattest-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	helper := filepath.Join(dir, "helper")
	if err := os.WriteFile(helper, b, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "data.txt"), "data\n")
	env := []string{"HOME=" + dir}
	if r := mlattestAs(t, cred, dir, env, "keygen", "--output-key-prefix", "ci", "--no-passphrase"); r.code != 0 {
		t.Fatalf("keygen: %v", r)
	}
	addr, accepted := echoListener(t)
	r := mlattestAs(t, cred, dir, append(env, envNetHelper+"=1"), "run", "--step", "fetch", "--run-id", "net-2",
		"--key", "ci.key", "--offline", "--out", "att", "--materials", "data.txt", "--network", "none", "--", helper, "dial "+addr)
	if r.code == exitRunError && strings.Contains(r.stderr, "network isolation is not available") {
		if strings.Contains(r.stdout, "dial ") || accepted() != 0 {
			t.Fatalf("the command ran unisolated: %v", r)
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: unprivileged user namespaces must work in CI: %v", r)
		}
		t.Skipf("unprivileged user namespaces are disabled here; run refused as it must: %s", r.stderr)
	}
	if r.code != 0 || !strings.Contains(r.stdout, "dial "+addr+": failed") || accepted() != 0 {
		t.Fatalf("run as nobody: %v (connections accepted: %d)", r, accepted())
	}
	iso := string(mustJSON(t, payload(t, filepath.Join(dir, "att", "fetch.link.sigstore.json"))["predicate"].(map[string]any)["byproducts"].(map[string]any)["mlattest.dev/isolation"]))
	for _, w := range []string{`"mechanism":"userns+netns"`, `"enforced":true`, `{"count":1,"proto":"tcp","to":"` + addr + `"}`} {
		if !strings.Contains(iso, w) {
			t.Errorf("isolation record %s lacks %s", iso, w)
		}
	}
}
