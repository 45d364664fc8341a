package model

import (
	"bytes"
	"os/exec"
	"testing"

	"github.com/ulikunitz/xz"
)

func xzOf(t *testing.T, b []byte) []byte {
	var o bytes.Buffer
	w, err := xz.NewWriter(&o)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	w.Close()
	return o.Bytes()
}

func TestCompressedPickles(t *testing.T) {
	evil := newPB(2).global("os", "system").str("id").op(0x85).reduce().stop()
	cases := []sample{
		{"xz benign", xzOf(t, numpyPkl()), Safe, "", "xz/pickle"},
		{"xz malicious", xzOf(t, evil), Malicious, "dangerous-import", "xz/pickle"},
		{"xz truncated", xzOf(t, evil)[:30], Error, "", ""},
		{"gzip in gzip", gz(gz(evil)), Malicious, "dangerous-import", "gzip/gzip/pickle"},
		{"zlib torch zip", zl(torchZip(t, evil)), Malicious, "dangerous-import", "zlib/pytorch-zip"},
	}
	if _, err := exec.LookPath("bzip2"); err == nil {
		bz := func(b []byte) []byte {
			c := exec.Command("bzip2", "-c")
			c.Stdin = bytes.NewReader(b)
			out, err := c.Output()
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		cases = append(cases,
			sample{"bzip2 benign", bz(torchDataPkl()), Safe, "", "bzip2/pickle"},
			sample{"bzip2 malicious", bz(evil), Malicious, "dangerous-import", "bzip2/pickle"})
	}
	check(t, cases)
}
