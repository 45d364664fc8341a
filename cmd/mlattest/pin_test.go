package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPinAndRunWithPins(t *testing.T) {
	keys := t.TempDir()
	for _, k := range []string{"owner", "other"} {
		if r := mlattest(t, keys, nil, "keygen", "--output-key-prefix", k, "--no-passphrase"); r.code != 0 {
			t.Fatalf("keygen: %v", r)
		}
	}
	dir := t.TempDir()
	write := func(p, s string) { t.Helper(); writeFile(t, filepath.Join(dir, p), s) }
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

// TestRunWithLayoutPins: with --layout, the signed layout decides which pins
// count: its own allow-list, and pin bundles its pinSigners signed.
func TestRunWithLayoutPins(t *testing.T) {
	keys := t.TempDir()
	for _, k := range []string{"owner", "pinner", "other"} {
		if r := mlattest(t, keys, nil, "keygen", "--output-key-prefix", k, "--no-passphrase"); r.code != 0 {
			t.Fatalf("keygen: %v", r)
		}
	}
	key := func(name string) string { return filepath.Join(keys, name) }
	dir := t.TempDir()
	write := func(p, s string) { t.Helper(); writeFile(t, filepath.Join(dir, p), s) }
	write("base/model.safetensors", string(safetensorsFile()))
	write("base/config.json", "{}")
	write("in.txt", "x")
	rev := strings.Repeat("0123456789", 4)
	uri := "hf://org/base@" + rev
	other := "hf://org/other@" + strings.Repeat("a", 40)
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	indent := func(pub string) string {
		data, err := os.ReadFile(key(pub))
		if err != nil {
			t.Fatal(err)
		}
		return "      " + strings.ReplaceAll(strings.TrimSpace(string(data)), "\n", "\n      ")
	}
	// layout writes and signs (as the owner) a layout whose baseModels
	// section is given; serial and expiry are fixed.
	layout := func(name, expires, baseModels string) string {
		p := filepath.Join(dir, name)
		write(name, "serial: 1\nexpires: \""+expires+"\"\nfunctionaries:\n"+
			"  ci:\n    key: |\n"+indent("owner.pub")+"\n"+
			"  pinner:\n    key: |\n"+indent("pinner.pub")+"\n"+
			"steps:\n  - name: train\n    functionaries: [ci]\nsubject:\n  step: train\n"+baseModels)
		if r := mlattest(t, dir, nil, "layout", "sign", p, "--key", key("owner.key"), "--offline"); r.code != 0 {
			t.Fatalf("layout sign: %v", r)
		}
		return p
	}
	bySigner := layout("signers.yaml", "2099-01-01T00:00:00Z", "baseModels:\n  pinSigners: [pinner]\n")
	inline := layout("inline.yaml", "2099-01-01T00:00:00Z", "baseModels:\n  pins:\n    - model: "+uri+"\n      files:\n"+
		"        config.json: "+sum("{}")+"\n        model.safetensors: "+sum(string(safetensorsFile()))+"\n")
	otherModel := layout("other.yaml", "2099-01-01T00:00:00Z", "baseModels:\n  pins:\n    - model: "+other+"\n      files: {config.json: "+sum("{}")+"}\n")
	// layout sign refuses an expired layout: sign one that expires in a
	// moment, and use it once it has.
	soon := time.Now().Add(2 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
	expired := layout("expired.yaml", soon.Format(time.RFC3339), "baseModels:\n  pinSigners: [pinner]\n")
	none := layout("none.yaml", "2099-01-01T00:00:00Z", "")

	time.Sleep(time.Until(soon))
	pins := map[string]string{}
	for _, signer := range []string{"pinner", "other"} {
		pins[signer] = filepath.Join(dir, signer+".pin.sigstore.json")
		if r := mlattest(t, dir, nil, "pin", "--base-model", uri+"=base", "--key", key(signer+".key"), "--offline", "--out", pins[signer]); r.code != 0 {
			t.Fatalf("pin: %v", r)
		}
	}

	run := func(layoutFile string, extra ...string) (cliResult, string) {
		out := filepath.Join(t.TempDir(), "att")
		args := append([]string{"run", "--step", "train", "--key", key("owner.key"), "--offline", "--out", out,
			"--materials", "in.txt", "--base-model", uri + "=base", "--layout", layoutFile, "--layout-key", key("owner.pub")}, extra...)
		return mlattest(t, dir, nil, append(args, "--", "touch", "ran")...), out
	}
	ran := func() bool {
		_, err := os.Stat(filepath.Join(dir, "ran"))
		os.Remove(filepath.Join(dir, "ran"))
		return err == nil
	}

	// A pin signed by the layout's pin signer: the step runs, and the pin
	// is kept with the attestations for verify.
	r, out := run(bySigner, "--pin", pins["pinner"])
	if r.code != 0 || !ran() {
		t.Fatalf("pinned by the pin signer: %v", r)
	}
	if kept, _ := filepath.Glob(filepath.Join(out, "pin-*.sigstore.json")); len(kept) != 1 {
		t.Fatalf("pin bundle not kept in --out: %v", kept)
	}
	// The layout's own allow-list needs no pin bundle.
	if r, _ := run(inline); r.code != 0 || !ran() {
		t.Fatalf("pinned by the layout: %v", r)
	}

	for _, tc := range []struct {
		name   string
		layout string
		extra  []string
		want   string
	}{
		{"pin signed by a key the layout does not name", bySigner, []string{"--pin", pins["other"]}, "no functionary key"},
		{"pin signers only, no pin given", bySigner, nil, "pins no base model"},
		{"model not on the allow-list", otherModel, nil, "base model " + uri + " has no signed pin"},
		{"expired layout", expired, []string{"--pin", pins["pinner"]}, "layout expired"},
		{"layout without baseModels", none, []string{"--pin", pins["pinner"]}, "no baseModels section"},
		{"pin flags beside a layout", bySigner, []string{"--pin", pins["pinner"], "--pin-key", key("pinner.pub")}, "layout names who may sign pins"},
		{"step not in the layout", bySigner, []string{"--pin", pins["pinner"], "--step", "evaluate"}, `defines no step "evaluate"`},
		{"layout owner key wrong", bySigner, []string{"--pin", pins["pinner"], "--layout-key", key("other.pub")}, "does not verify for the layout owner"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := run(tc.layout, tc.extra...)
			if r.code != 125 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("want 125 with %q; got %v", tc.want, r)
			}
			if ran() {
				t.Fatal("the command ran")
			}
		})
	}

	// A changed file stops the stage, named, whichever way it is pinned.
	write("base/config.json", `{"evil": true}`)
	for _, l := range []struct{ file, pin string }{{bySigner, pins["pinner"]}, {inline, ""}} {
		extra := []string{}
		if l.pin != "" {
			extra = []string{"--pin", l.pin}
		}
		if r, _ := run(l.file, extra...); r.code != 125 || !strings.Contains(r.stderr, "file config.json has sha256") || ran() {
			t.Fatalf("changed file, %s: %v", l.file, r)
		}
	}
}
