package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The built binary, signing offline with a key: 256 random binary products,
// one per possible first byte, are recorded and never fail the step as
// pickle-format files (before the gate parsed pickles, 10 of them did, exit
// 125); a real pickle among them still does.
func TestRunRandomBinaryProductsAreNotPickles(t *testing.T) {
	dir := t.TempDir()
	if r := mlattest(t, dir, noNetwork, "keygen", "--output-key-prefix", "ci", "--no-passphrase"); r.code != 0 {
		t.Fatalf("keygen: %v", r)
	}
	rng := rand.New(rand.NewPCG(256, 2))
	for first := range 256 {
		b := make([]byte, 1024+rng.IntN(1024))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		b[0] = byte(first)
		writeFile(t, filepath.Join(dir, "src", fmt.Sprintf("state-%02x.bin", first)), string(b))
	}
	writeFile(t, filepath.Join(dir, "in.txt"), "x")
	run := func(out, cmd string) cliResult {
		return mlattest(t, dir, noNetwork, "run", "--step", "train", "--run-id", "r1", "--key", "ci.key", "--offline",
			"--out", out, "--materials", "in.txt,src", "--products", "out", "--", "sh", "-c", cmd)
	}
	r := run("att", "cp -r src out")
	if r.code != 0 {
		t.Fatalf("random products: %v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "att", "train.product-scan.sigstore.json")); err == nil {
		t.Fatal("a product scan was written: some random product was taken for a pickle")
	}
	r = run("att2", `rm -rf out && cp -r src out && printf '\200\002ccollections\nOrderedDict\n)R.' > out/model.bin`)
	if r.code != 125 || !strings.Contains(r.stderr, "out/model.bin") || strings.Contains(r.stderr, "state-") {
		t.Fatalf("a pickle among them: %v", r)
	}
}
