package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPinAndRunWithPins(t *testing.T) {
	keys := t.TempDir()
	for _, k := range []string{"owner", "other"} {
		if r := mlattest(t, keys, nil, "keygen", "--output-key-prefix", k, "--no-passphrase"); r.code != 0 {
			t.Fatalf("keygen: %v", r)
		}
	}
	dir := t.TempDir()
	write := func(p, s string) {
		t.Helper()
		p = filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("base/model.safetensors", string(safetensorsFile()))
	write("base/config.json", "{}")
	sum := sha256.Sum256(safetensorsFile())
	write("ptr/model.safetensors", "version https://git-lfs.github.com/spec/v1\noid sha256:"+hex.EncodeToString(sum[:])+"\nsize 80\n")
	write("ptr/config.json", "{}")
	write("in.txt", "x")
	rev := strings.Repeat("0123456789", 4)
	uri := "hf://org/base@" + rev
	pinFile := filepath.Join(dir, "base.pin.sigstore.json")

	// Usage: a branch is not a commit.
	if r := mlattest(t, dir, nil, "pin", "--base-model", "hf://org/base@main=base", "--key", filepath.Join(keys, "owner.key"), "--offline", "--out", pinFile); r.code != 2 || !strings.Contains(r.stderr, "40-hex") {
		t.Fatalf("branch: %v", r)
	}
	// The LFS cross-check catches a download that differs from the commit.
	write("ptr2/model.safetensors", "version https://git-lfs.github.com/spec/v1\noid sha256:"+strings.Repeat("e", 64)+"\nsize 80\n")
	write("ptr2/config.json", "{}")
	if r := mlattest(t, dir, nil, "pin", "--base-model", uri+"=base", "--lfs-pointers", "ptr2", "--key", filepath.Join(keys, "owner.key"), "--offline", "--out", pinFile); r.code != 1 || !strings.Contains(r.stderr, "model.safetensors") {
		t.Fatalf("lfs mismatch: %v", r)
	}
	if r := mlattest(t, dir, nil, "pin", "--base-model", uri+"=base", "--lfs-pointers", "ptr", "--key", filepath.Join(keys, "owner.key"), "--offline", "--out", pinFile); r.code != 0 {
		t.Fatalf("pin: %v", r)
	}
	p := payload(t, pinFile)
	if p["predicate"].(map[string]any)["lfsCrossChecked"] != true {
		t.Fatalf("pin %v", p)
	}

	run := func(pubKey string, extra ...string) cliResult {
		out := filepath.Join(t.TempDir(), "att")
		args := append([]string{"run", "--step", "train", "--key", filepath.Join(keys, "owner.key"), "--offline", "--out", out,
			"--materials", "in.txt", "--base-model", uri + "=base", "--pin", pinFile, "--pin-key", pubKey}, extra...)
		return mlattest(t, dir, nil, append(args, "--", "touch", "ran")...)
	}
	if r := run(filepath.Join(keys, "owner.pub")); r.code != 0 {
		t.Fatalf("pinned run: %v", r)
	}
	os.Remove(filepath.Join(dir, "ran"))
	// A pin signed by someone else does not count.
	if r := run(filepath.Join(keys, "other.pub")); r.code != 125 {
		t.Fatalf("wrong signer: %v", r)
	}
	// A changed file stops the stage, named.
	write("base/config.json", `{"evil": true}`)
	if r := run(filepath.Join(keys, "owner.pub")); r.code != 125 || !strings.Contains(r.stderr, "file config.json has sha256") {
		t.Fatalf("changed file: %v", r)
	}
	write("base/config.json", "{}")
	write("base/extra.py", "import os")
	if r := run(filepath.Join(keys, "owner.pub")); r.code != 125 || !strings.Contains(r.stderr, "extra file extra.py") {
		t.Fatalf("extra file: %v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Fatal("the command ran against an unpinned base model")
	}
}
