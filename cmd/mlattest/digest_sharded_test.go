package main

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1000000000": 1e9, "1GB": 1e9, "512MiB": 512 << 20, "4 KiB": 4096, "10B": 10, "2kB": 2000} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-1", "1TB", "GB", "1.5GB", "99999999999GiB"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}

func TestDigestSharded(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"m/a.bin": "0123456789", "m/empty": ""})
	r := digestCLI(t, dir, "--sharded", "4B", "m")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := hexSum("0123") + "  m/a.bin:0:4\n" + hexSum("4567") + "  m/a.bin:4:8\n" + hexSum("89") + "  m/a.bin:8:10\n" + hexSum("") + "  m/empty:0:0\n"
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	h := sha256.New()
	for _, s := range []string{"0123", "4567", "89", ""} {
		d := sha256.Sum256([]byte(s))
		h.Write(d[:])
	}
	if !strings.Contains(r.stderr, "sha256-sharded-4 manifest of 4 shards: sha256:"+hex.EncodeToString(h.Sum(nil))) {
		t.Errorf("stderr %q", r.stderr)
	}
	r = digestCLI(t, dir, "--sharded", "4B", "--json", "m/a.bin")
	if r.code != 0 || !strings.Contains(r.stdout, `{"name":"m/a.bin","start":0,"end":4,"sha256":"`+hexSum("0123")+`","algorithm":"sha256-sharded-4"}`) {
		t.Errorf("json: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := digestCLI(t, dir, "--sharded", "0", "m"); r.code != exitUsage {
		t.Errorf("--sharded 0: exit %d", r.code)
	}
}

func TestDigestHashCache(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"m/a": "alpha"})
	for range 2 {
		r := digestCLI(t, dir, "--hash-cache", dir+"/cache", "m")
		if r.code != 0 || r.stdout != hexSum("alpha")+"  m/a\n" {
			t.Fatalf("exit %d: %q %s", r.code, r.stdout, r.stderr)
		}
	}
}
