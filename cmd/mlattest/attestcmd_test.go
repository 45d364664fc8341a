package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/sign"
)

// `mlattest attest` records a pickle-format product, then fails the step
// (exit 1) unless --allow-pickle, as `mlattest run` does (with its 125).
func TestAttestPickleProductFailsTheStep(t *testing.T) {
	dir := t.TempDir()
	priv, _, err := sign.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "k.key")
	if err := os.WriteFile(key, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	// Protocol 4: PROTO 4, BININT1 1, STOP — a pickle stream, harmless but code-bearing by format.
	if err := os.WriteFile(filepath.Join(dir, "model.pkl"), []byte("\x80\x04K\x01."), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, tc := range []struct {
		name     string
		extra    []string
		wantCode int
	}{
		{"refused by default", nil, exitRejected},
		{"accepted with --allow-pickle", []string{"--allow-pickle"}, exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "att")
			args := append([]string{"attest", "--step", "export", "--out", out, "--products", "model.pkl",
				"--key", key, "--offline"}, tc.extra...)
			r := runCLI(t, args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%v", r.code, tc.wantCode, r)
			}
			if tc.wantCode != exitOK && !strings.Contains(r.stderr, "pickle-format") {
				t.Fatalf("the failure does not say why: %v", r)
			}
			// Either way the product scan is recorded and signed beside the link.
			for _, f := range []string{"export.link.sigstore.json", "export.product-scan.sigstore.json"} {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Fatalf("%s not written: %v", f, err)
				}
			}
		})
	}
}
