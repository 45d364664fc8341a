package main

// Issue 11's "should fix" promises, run as a user would: the built binary,
// a fresh directory per case, offline key signing (no stack needed).

import (
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/trust"
)

// polishCase is one command line with bad (or once-refused) input.
type polishCase struct {
	name  string
	setup func(t *testing.T, dir string) // prepares dir (the working directory)
	args  []string                       // "{ext}" is replaced by a directory outside dir
	env   []string
	cred  *syscall.Credential // run as another user (nil: the test's own)
	code  int
	// msg: the one "mlattest:" error line must contain each (after "{ext}"
	// replacement); none for a success.
	msg   []string
	usage bool // the usage line follows the message
	quiet bool // nothing on stdout: the failure was found before any work
	// check asserts more (stdout, files written); nil for failures, which
	// must leave dir exactly as setup left it.
	check func(t *testing.T, dir, ext string, r cliResult)
}

// nobody is the unprivileged user the permission cases run as (we run as root).
var nobody = &syscall.Credential{Uid: 65534, Gid: 65534}

const polishPass = "MLATTEST_KEY_PASSPHRASE=pw"

func TestCLIPromisesPolish(t *testing.T) {
	cases := []polishCase{
		{
			name: "digest a file outside the current directory names it as given",
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "in.txt"), "in\n")
			},
			args: []string{"digest", "{ext}/big.bin", "in.txt", "{ext}/tree"},
			code: 0,
			check: func(t *testing.T, dir, ext string, r cliResult) {
				// Sorted by name, as always.
				want := hexSum("big\n") + "  " + ext + "/big.bin\n" +
					hexSum("sub-file\n") + "  " + ext + "/tree/sub/f\n" +
					hexSum("in\n") + "  in.txt\n"
				if r.stdout != want {
					t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
				}
				// sha256sum -c reads the names back from the same directory.
				writeFile(t, filepath.Join(dir, "sums"), r.stdout)
				cmd := exec.Command("sha256sum", "-c", "sums")
				cmd.Dir = dir
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("sha256sum -c: %v\n%s", err, out)
				}
			},
		},
		{
			name: "digest --workers 0 is a usage error",
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "in.txt"), "in\n")
			},
			args:  []string{"digest", "--workers", "0", "in.txt"},
			code:  exitUsage,
			msg:   []string{"--workers 0"},
			usage: true,
		},
		{
			name: "digest of a missing file shows no system-call names",
			args: []string{"digest", "nope.bin"},
			code: exitUsage,
			msg:  []string{`digest "nope.bin": no such file or directory`},
		},
		{
			name:  "scan model --out DIR is a directory",
			setup: modelAndOutDir,
			args:  []string{"scan", "model", "--out", "outdir", "m.safetensors"},
			code:  exitUsage,
			msg:   []string{"--out outdir: is a directory"},
		},
		{
			name: "scan model --out in a directory the user cannot write",
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "m.safetensors"), "not really")
				mkdir(t, filepath.Join(dir, "ro"))
			},
			args: []string{"scan", "model", "--out", "ro/scan.json", "m.safetensors"},
			cred: nobody,
			code: exitUsage, msg: []string{"scan model: cannot write ro/scan.json: permission denied"},
		},
		{
			name: "scan model bytesRead never exceeds the file size",
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "notmodel.bin"), "\x00\x01hello world, not a model\n")
			},
			args: []string{"scan", "model", "--json", "notmodel.bin"},
			code: exitRejected,
			msg:  []string{"not safe"},
			check: func(t *testing.T, dir, ext string, r cliResult) {
				var line struct {
					Size      int64 `json:"size"`
					BytesRead int64 `json:"bytesRead"`
				}
				if err := json.Unmarshal([]byte(r.stdout), &line); err != nil {
					t.Fatalf("stdout %q: %v", r.stdout, err)
				}
				if line.BytesRead < 1 || line.BytesRead > line.Size {
					t.Fatalf("bytesRead %d of a %d-byte file", line.BytesRead, line.Size)
				}
			},
		},
		{
			name: "pin --out DIR is a directory",
			setup: func(t *testing.T, dir string) {
				keygen(t, dir, "step")
				writeFile(t, filepath.Join(dir, "base/model.safetensors"), "weights")
				mkdir(t, filepath.Join(dir, "pins"))
			},
			args: []string{"pin", "--base-model", "hf://org/base@" + strings.Repeat("ab", 20) + "=base",
				"--out", "pins", "--key", "step.key", "--offline"},
			code: exitUsage,
			msg:  []string{"--out pins: is a directory"},
		},
		{
			name: "pin with a missing --lfs-pointers directory is refused before hashing",
			setup: func(t *testing.T, dir string) {
				keygen(t, dir, "step")
				writeFile(t, filepath.Join(dir, "base/model.safetensors"), "weights")
			},
			args: []string{"pin", "--base-model", "hf://org/base@" + strings.Repeat("ab", 20) + "=base",
				"--lfs-pointers", "pointers", "--out", "base.pin.sigstore.json", "--key", "step.key", "--offline"},
			code: exitUsage,
			msg:  []string{"pin: --lfs-pointers: pointers: no such file or directory"},
		},
		{
			name: "keygen with an empty prefix writes nothing",
			args: []string{"keygen", "--no-passphrase", "--output-key-prefix", ""},
			code: exitUsage, msg: []string{`--output-key-prefix ""`}, usage: true,
		},
		{
			name:  "keygen with a directory prefix writes nothing",
			setup: func(t *testing.T, dir string) { mkdir(t, filepath.Join(dir, "keys")) },
			args:  []string{"keygen", "--no-passphrase", "--output-key-prefix", "keys/"},
			code:  exitUsage, msg: []string{`--output-key-prefix "keys/"`}, usage: true,
		},
		{
			name: "keygen with a prefix that is a directory name writes nothing",
			args: []string{"keygen", "--no-passphrase", "--output-key-prefix", ".."},
			code: exitUsage, msg: []string{`--output-key-prefix ".."`}, usage: true,
		},
		{
			name: "keygen without a terminal names the variable and --no-passphrase",
			args: []string{"keygen", "--output-key-prefix", "k"},
			code: exitUsage, msg: []string{"$MLATTEST_KEY_PASSPHRASE", "--no-passphrase"},
		},
		{
			name:  "keygen into a directory the user cannot write",
			setup: func(t *testing.T, dir string) { mkdir(t, filepath.Join(dir, "ro")) },
			args:  []string{"keygen", "--no-passphrase", "--output-key-prefix", "ro/k"},
			cred:  nobody,
			code:  exitUsage, msg: []string{"cannot write ro/k.key: permission denied"},
		},
		{
			name: "an encrypted key without a terminal names $MLATTEST_KEY_PASSPHRASE",
			setup: func(t *testing.T, dir string) {
				keygenEncrypted(t, dir, "step")
				writeFile(t, filepath.Join(dir, "in.txt"), "in\n")
			},
			args: []string{"run", "--step", "s", "--run-id", "r1", "--key", "step.key", "--offline", "--out", "att",
				"--materials", "in.txt", "--", "touch", "ran"},
			code: exitRunError, msg: []string{"key step.key is encrypted", "set $MLATTEST_KEY_PASSPHRASE"},
		},
		{
			name: "a cosign key without a terminal also names $COSIGN_PASSWORD",
			setup: func(t *testing.T, dir string) {
				cosignKey(t, dir)
				writeFile(t, filepath.Join(dir, "in.txt"), "in\n")
			},
			args: []string{"attest", "--step", "s", "--run-id", "r1", "--key", "cosign.key", "--offline", "--out", "att", "--materials", "in.txt"},
			code: exitUsage, msg: []string{"key cosign.key is encrypted", "$MLATTEST_KEY_PASSPHRASE or $COSIGN_PASSWORD"},
		},
		{
			name: "a cosign key takes $COSIGN_PASSWORD",
			setup: func(t *testing.T, dir string) {
				cosignKey(t, dir)
				writeFile(t, filepath.Join(dir, "in.txt"), "in\n")
			},
			args: []string{"attest", "--step", "s", "--run-id", "r1", "--key", "cosign.key", "--offline", "--out", "att", "--materials", "in.txt"},
			env:  []string{"COSIGN_PASSWORD=cosign-pw"},
			code: 0,
			check: func(t *testing.T, dir, ext string, r cliResult) {
				if _, err := os.Stat(filepath.Join(dir, "att", "s.link.sigstore.json")); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "attest --exit-code -1 is a usage error",
			setup: func(t *testing.T, dir string) {
				keygen(t, dir, "step")
				writeFile(t, filepath.Join(dir, "in.txt"), "in\n")
			},
			args: []string{"attest", "--step", "s", "--run-id", "r1", "--key", "step.key", "--offline", "--out", "att",
				"--materials", "in.txt", "--exit-code", "-1"},
			code: exitUsage, msg: []string{"--exit-code -1"}, usage: true,
		},
		{
			name: "run --products . skips --out, --hash-cache and the key",
			setup: func(t *testing.T, dir string) {
				keygen(t, dir, "step")
				writeFile(t, filepath.Join(dir, "in.txt"), "in\n")
				// An earlier step of the pipeline already wrote into att/.
				r := mlattest(t, dir, nil, "attest", "--step", "s1", "--run-id", "r1", "--key", "step.key", "--offline",
					"--out", "att", "--materials", "in.txt")
				if r.code != 0 {
					t.Fatalf("attest s1: %v", r)
				}
			},
			args: []string{"run", "--step", "s2", "--run-id", "r1", "--key", "step.key", "--offline", "--out", "att",
				"--hash-cache", "cache", "--materials", ".", "--products", ".", "--", "cp", "in.txt", "out.txt"},
			code: 0,
			check: func(t *testing.T, dir, ext string, r cliResult) {
				materials, products := linkNames(t, filepath.Join(dir, "att", "s2.link.sigstore.json"))
				// step.pub is an ordinary file; step.key, att/ and cache/ are not recorded.
				if want := []string{"in.txt", "step.pub"}; !slices.Equal(materials, want) {
					t.Errorf("materials %v, want %v", materials, want)
				}
				if want := []string{"in.txt", "out.txt", "step.pub"}; !slices.Equal(products, want) {
					t.Errorf("products %v, want %v", products, want)
				}
			},
		},
		{
			name: "verify-bundle of an empty file",
			setup: func(t *testing.T, dir string) {
				keygen(t, dir, "owner")
				writeFile(t, filepath.Join(dir, "b.sigstore.json"), "")
			},
			args: []string{"verify-bundle", "--bundle", "b.sigstore.json", "--key", "owner.pub", "--digest", "sha256:" + strings.Repeat("0", 64)},
			code: exitRejected, msg: []string{"bundle b.sigstore.json: rejected: file is empty"},
		},
		{
			name:  "verify-bundle with a key that did not sign",
			setup: signedBundle,
			args:  []string{"verify-bundle", "--bundle", "att/s.link.sigstore.json", "--key", "owner.pub", "--artifact", "in.txt"},
			code:  exitRejected, msg: []string{"att/s.link.sigstore.json: rejected: signature does not match key owner.pub (sha256:"},
		},
		{
			name:  "verify-bundle quotes the user's own regexp",
			setup: signedBundle,
			args: []string{"verify-bundle", "--bundle", "att/s.link.sigstore.json", "--artifact", "in.txt",
				"--certificate-identity-regexp", "(", "--certificate-oidc-issuer", "https://issuer.example"},
			code: exitUsage, msg: []string{"--certificate-identity-regexp '(': missing closing )"}, usage: true,
		},
		{
			name:  "verify-bundle with an argument prints the usage line",
			setup: signedBundle,
			args:  []string{"verify-bundle", "att/s.link.sigstore.json"},
			code:  exitUsage, msg: []string{`"att/s.link.sigstore.json"`}, usage: true,
		},
		{
			name: "keygen --json names the files and the key id",
			args: []string{"keygen", "--json", "--no-passphrase", "--output-key-prefix", "k"},
			code: 0,
			check: func(t *testing.T, dir, ext string, r cliResult) {
				var got keygenJSON
				decodeJSON(t, r.stdout, &got)
				pub, err := trust.LoadPublicKey(filepath.Join(dir, "k.pub"))
				if err != nil {
					t.Fatal(err)
				}
				id, _ := trust.KeyID(pub)
				if want := (keygenJSON{PrivateKey: "k.key", PublicKey: "k.pub", KeyID: id}); got != want {
					t.Errorf("got %+v, want %+v", got, want)
				}
			},
		},
		{
			name: "attest --json lists the bundle written, its digest and the run id",
			setup: func(t *testing.T, dir string) {
				keygen(t, dir, "step")
				writeFile(t, filepath.Join(dir, "in.txt"), "in\n")
			},
			args: []string{"attest", "--json", "--step", "s", "--run-id", "r1", "--key", "step.key", "--offline", "--out", "att", "--materials", "in.txt"},
			code: 0,
			check: func(t *testing.T, dir, ext string, r cliResult) {
				checkStepJSON(t, dir, r.stdout, "s", 0)
			},
		},
		{
			name: "run --json prints its object after the command's output",
			setup: func(t *testing.T, dir string) {
				keygen(t, dir, "step")
				writeFile(t, filepath.Join(dir, "in.txt"), "in\n")
			},
			args: []string{"run", "--json", "--step", "s", "--run-id", "r1", "--key", "step.key", "--offline", "--out", "att",
				"--materials", "in.txt", "--", "echo", "from the command"},
			code: 0,
			check: func(t *testing.T, dir, ext string, r cliResult) {
				first, last, ok := strings.Cut(r.stdout, "\n")
				if !ok || first != "from the command" {
					t.Fatalf("stdout %q", r.stdout)
				}
				checkStepJSON(t, dir, last, "s", 0)
			},
		},
		{
			name: "sign --json lists the bundles it wrote",
			setup: func(t *testing.T, dir string) {
				signedBundle(t, dir)
				// The same statement, as a run whose signing failed keeps it.
				writeFile(t, filepath.Join(dir, "pending", "s.link.UNSIGNED.intoto.json"), string(statementOf(t, filepath.Join(dir, "att", "s.link.sigstore.json"))))
			},
			args: []string{"sign", "--json", "pending", "--key", "step.key", "--offline"},
			code: 0,
			check: func(t *testing.T, dir, ext string, r cliResult) {
				var got signJSON
				decodeJSON(t, r.stdout, &got)
				if len(got.Files) != 1 || len(got.Failed) != 0 || got.Dir != "pending" {
					t.Fatalf("got %+v", got)
				}
				checkWritten(t, dir, got.Files[0], "pending/s.link.sigstore.json", predicates.LinkV03)
			},
		},
		{
			name: "pin --json lists the bundle and the pinned digests",
			setup: func(t *testing.T, dir string) {
				keygen(t, dir, "step")
				writeFile(t, filepath.Join(dir, "base/model.safetensors"), "weights")
			},
			args: []string{"pin", "--json", "--base-model", "hf://org/base@" + strings.Repeat("ab", 20) + "=base",
				"--out", "base.pin.sigstore.json", "--key", "step.key", "--offline"},
			code: 0,
			check: func(t *testing.T, dir, ext string, r cliResult) {
				var got pinJSON
				decodeJSON(t, r.stdout, &got)
				checkWritten(t, dir, got.Bundle, "base.pin.sigstore.json", predicates.ModelPinV1)
				if want := []predicates.ModelPinFile{{Path: "model.safetensors", SHA256: hexSum("weights")}}; !slices.Equal(got.Files, want) {
					t.Errorf("files %+v, want %+v", got.Files, want)
				}
			},
		},
		{
			name:  "digest --sharded --json ends with the manifest digest",
			setup: func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "a.bin"), "0123456789") },
			args:  []string{"digest", "--sharded", "4B", "--json", "a.bin"},
			code:  0,
			check: func(t *testing.T, dir, ext string, r cliResult) {
				lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
				h := sha256.New()
				for _, s := range []string{"0123", "4567", "89"} {
					d := sha256.Sum256([]byte(s))
					h.Write(d[:])
				}
				want := `{"algorithm":"sha256-sharded-4","manifest":"sha256:` + hex.EncodeToString(h.Sum(nil)) + `","shards":3}`
				if len(lines) != 4 || lines[3] != want {
					t.Fatalf("stdout %q, want 3 shard lines then %s", r.stdout, want)
				}
			},
		},
		{
			name:  "verify-bundle --type link accepts a link",
			setup: signedBundle,
			args:  []string{"verify-bundle", "--type", "link", "--bundle", "att/s.link.sigstore.json", "--key", "step.pub", "--artifact", "in.txt"},
			code:  0,
			check: func(t *testing.T, dir, ext string, r cliResult) {
				if !strings.HasPrefix(r.stdout, "Verified: ") {
					t.Fatalf("stdout %q", r.stdout)
				}
			},
		},
		{
			name:  "verify-bundle --type slsaprovenance1 rejects a link",
			setup: signedBundle,
			args:  []string{"verify-bundle", "--type", "slsaprovenance1", "--bundle", "att/s.link.sigstore.json", "--key", "step.pub", "--artifact", "in.txt"},
			code:  exitRejected,
			msg:   []string{"att/s.link.sigstore.json: rejected: type: predicate type is " + predicates.LinkV03 + ", not " + predicates.ProvenanceV1},
		},
		{
			name:  "verify-bundle --type with an unknown name",
			setup: signedBundle,
			args:  []string{"verify-bundle", "--type", "provenance", "--bundle", "att/s.link.sigstore.json", "--key", "step.pub", "--artifact", "in.txt"},
			code:  exitUsage, msg: []string{`--type "provenance": want a predicate type URI or one of`}, usage: true,
		},
		{
			name: "sign of a missing directory",
			args: []string{"sign", "nope", "--key", "step.key", "--offline"},
			code: exitUsage, msg: []string{"mlattest: nope: no such file or directory"},
		},
		{
			name: "attest with a time that is not RFC 3339",
			setup: func(t *testing.T, dir string) {
				keygen(t, dir, "step")
				writeFile(t, filepath.Join(dir, "in.txt"), "in\n")
			},
			args: []string{"attest", "--step", "s", "--run-id", "r1", "--key", "step.key", "--offline", "--out", "att",
				"--materials", "in.txt", "--started", "yesterday", "--finished", "2026-11-20T11:42:00Z"},
			code: exitUsage, msg: []string{`--started "yesterday": want an RFC 3339 time such as 2026-11-20T08:00:00Z`}, usage: true,
		},
		{
			name: "attest with a missing material",
			setup: func(t *testing.T, dir string) {
				keygen(t, dir, "step")
			},
			args: []string{"attest", "--step", "s", "--run-id", "r1", "--key", "step.key", "--offline", "--out", "att", "--materials", "nope.txt"},
			code: exitUsage, msg: []string{`material "nope.txt": no such file or directory`},
		},
		{
			name: "scan model of a missing file",
			args: []string{"scan", "model", "nope.bin"},
			code: exitUsage, msg: []string{"scan model: nope.bin: no such file or directory"},
		},
		{
			name:  "verify-bundle with a missing artifact",
			setup: signedBundle,
			args:  []string{"verify-bundle", "--bundle", "att/s.link.sigstore.json", "--key", "step.pub", "--artifact", "nope.bin"},
			code:  exitUsage, msg: []string{"artifact nope.bin: no such file or directory"},
		},
		{
			name: "verify-bundle with a trusted root that is not one",
			setup: func(t *testing.T, dir string) {
				signedBundle(t, dir)
				writeFile(t, filepath.Join(dir, "root.json"), "data\n")
			},
			args: []string{"verify-bundle", "--bundle", "att/s.link.sigstore.json", "--key", "step.pub", "--artifact", "in.txt", "--trusted-root", "root.json"},
			code: exitUsage, msg: []string{"trusted root root.json: not a Sigstore trusted_root.json: syntax error (line 1:1): invalid value data"},
		},
		{
			name:  "digest --hash-cache under a file",
			setup: func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "in.txt"), "in\n") },
			args:  []string{"digest", "--hash-cache", "in.txt/cache", "in.txt"},
			code:  exitUsage, msg: []string{"hash cache in.txt/cache: not a directory"},
		},
		{
			name: "layout check of an oversized layout says the limit verify uses",
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "big.yaml"), strings.Repeat("#", 5<<20))
			},
			args: []string{"layout", "check", "big.yaml"},
			code: exitUsage, msg: []string{"layout big.yaml: larger than 1048576 bytes, the limit for a layout"},
		},
		{
			name: "verify of an oversized layout says what layout check says",
			setup: func(t *testing.T, dir string) {
				keygen(t, dir, "owner")
				writeFile(t, filepath.Join(dir, "big.yaml"), strings.Repeat("#", 5<<20))
				writeFile(t, filepath.Join(dir, "model/m.bin"), "weights")
				mkdir(t, filepath.Join(dir, "att"))
			},
			args: []string{"verify", "--layout", "big.yaml", "--layout-key", "owner.pub", "--attestations", "att", "--model", "model"},
			code: exitUsage, msg: []string{"layout big.yaml: larger than 1048576 bytes, the limit for a layout"},
		},
		{
			name: "verify with a missing attestations directory",
			setup: func(t *testing.T, dir string) {
				keygen(t, dir, "owner")
				writeFile(t, filepath.Join(dir, "layout.yaml"), "serial: 1\n")
				writeFile(t, filepath.Join(dir, "model/m.bin"), "weights")
			},
			args: []string{"verify", "--layout", "layout.yaml", "--layout-key", "owner.pub", "--attestations", "att", "--model", "model"},
			code: exitUsage, msg: []string{"attestations att: no such file or directory"},
		},
		{
			name: "verify --vsa in a directory the user cannot write is refused before verifying",
			setup: func(t *testing.T, dir string) {
				keygen(t, dir, "owner")
				if err := os.Chmod(filepath.Join(dir, "owner.key"), 0o644); err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(dir, "layout.yaml"), "serial: 1\n")
				writeFile(t, filepath.Join(dir, "model/m.bin"), "weights")
				mkdir(t, filepath.Join(dir, "att"))
				mkdir(t, filepath.Join(dir, "ro"))
			},
			args: []string{"verify", "--layout", "layout.yaml", "--layout-key", "owner.pub", "--attestations", "att", "--model", "model",
				"--vsa", "ro/model.vsa.sigstore.json", "--key", "owner.key", "--offline"},
			cred: nobody,
			code: exitUsage, msg: []string{"cannot write ro/model.vsa.sigstore.json: permission denied"}, quiet: true,
		},
		{
			name: "run with an unknown flag prints the usage line (exit 125, not the command's 2)",
			args: []string{"run", "--step", "s", "--bogus", "--", "touch", "ran"},
			code: exitRunError, msg: []string{"unknown flag: --bogus"}, usage: true,
		},
		{
			name: "--offline without --key prints the usage line",
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "in.txt"), "in\n")
			},
			args: []string{"attest", "--step", "s", "--run-id", "r1", "--offline", "--out", "att", "--materials", "in.txt"},
			code: exitUsage, msg: []string{"--offline needs --key"}, usage: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, ext := worldDir(t), worldDir(t)
			writeFile(t, filepath.Join(ext, "big.bin"), "big\n")
			writeFile(t, filepath.Join(ext, "tree/sub/f"), "sub-file\n")
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			before := tree(t, dir)
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.ReplaceAll(a, "{ext}", ext)
			}
			r := mlattestAs(t, tc.cred, dir, tc.env, args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%v", r.code, tc.code, r)
			}
			// No temporary file names and no system calls or decoder
			// steps: the user's input and the cause, nothing else.
			for _, internal := range []string{".tmp-", "open ", "stat ", "mkdir ", "rename ", "proto:", "failed to "} {
				if strings.Contains(r.stderr, internal) {
					t.Errorf("stderr shows %q:\n%v", internal, r)
				}
			}
			errLines := errorLines(r.stderr)
			switch {
			case len(tc.msg) == 0 && len(errLines) > 0:
				t.Errorf("error lines on success: %q", errLines)
			case len(tc.msg) > 0 && len(errLines) != 1:
				t.Errorf("want one mlattest: error line, got %q\n%v", errLines, r)
			case len(tc.msg) > 0:
				for _, m := range tc.msg {
					if !strings.Contains(errLines[0], m) {
						t.Errorf("message %q does not say %q", errLines[0], m)
					}
				}
			}
			if tc.quiet && r.stdout != "" {
				t.Errorf("stdout %q: the work ran before the input was refused", r.stdout)
			}
			if got := strings.Contains(r.stderr, "\nusage: mlattest "); got != tc.usage {
				t.Errorf("usage line printed: %v, want %v\n%v", got, tc.usage, r)
			}
			if tc.check != nil {
				tc.check(t, dir, ext, r)
				return
			}
			if after := tree(t, dir); !slices.Equal(before, after) {
				t.Errorf("files left behind: before %v, after %v", before, after)
			}
		})
	}
}

// TestCLIOneLinePerFailingFile: `sign DIR` with two statements it refuses
// says so in one prefixed line each.
func TestCLIOneLinePerFailingFile(t *testing.T) {
	dir := worldDir(t)
	keygen(t, dir, "step")
	for _, n := range []string{"a", "b"} {
		writeFile(t, filepath.Join(dir, "att", n+".link.UNSIGNED.intoto.json"), `{"not":"a statement"}`)
	}
	r := mlattest(t, dir, nil, "sign", "att", "--key", "step.key", "--offline")
	if r.code != exitRejected {
		t.Fatalf("exit %d, want 1\n%v", r.code, r)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", lines)
	}
	for i, n := range []string{"a", "b"} {
		if !strings.HasPrefix(lines[i], "mlattest: att/"+n+".link.UNSIGNED.intoto.json: ") {
			t.Errorf("line %d: %q", i, lines[i])
		}
	}
}

// errorLines are stderr's "mlattest:" lines that are not warnings or news.
func errorLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(l, "mlattest: ") {
			continue
		}
		rest := strings.TrimPrefix(l, "mlattest: ")
		if strings.HasPrefix(rest, "warning: ") || strings.HasPrefix(rest, "wrote ") || strings.HasPrefix(rest, "new run id") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// worldDir is a temporary directory other users can enter (t.TempDir's
// parent is private), removed after the test.
func worldDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mlattest-polish-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tree lists every path under dir with its mode and size.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, fmt.Sprintf("%s %v %d", rel, fi.Mode(), fi.Size()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func modelAndOutDir(t *testing.T, dir string) {
	writeFile(t, filepath.Join(dir, "m.safetensors"), "not really")
	mkdir(t, filepath.Join(dir, "outdir"))
}

// keygen writes an unencrypted PREFIX.key/.pub pair in dir.
func keygen(t *testing.T, dir, prefix string) {
	t.Helper()
	if r := mlattest(t, dir, nil, "keygen", "--no-passphrase", "--output-key-prefix", prefix); r.code != 0 {
		t.Fatalf("keygen: %v", r)
	}
}

// keygenEncrypted writes PREFIX.key encrypted with the passphrase "pw".
func keygenEncrypted(t *testing.T, dir, prefix string) {
	t.Helper()
	if r := mlattest(t, dir, []string{polishPass}, "keygen", "--output-key-prefix", prefix); r.code != 0 {
		t.Fatalf("keygen: %v", r)
	}
}

// cosignKey writes cosign.key in cosign's encrypted format ("cosign-pw").
func cosignKey(t *testing.T, dir string) {
	t.Helper()
	priv, _, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte("cosign-pw")))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "cosign.key"), string(priv))
}

// signedBundle leaves att/s.link.sigstore.json over in.txt signed offline by
// step.key, and an unrelated owner key pair.
func signedBundle(t *testing.T, dir string) {
	t.Helper()
	keygen(t, dir, "step")
	keygen(t, dir, "owner")
	writeFile(t, filepath.Join(dir, "in.txt"), "in\n")
	r := mlattest(t, dir, nil, "attest", "--step", "s", "--run-id", "r1", "--key", "step.key", "--offline",
		"--out", "att", "--products", "in.txt")
	if r.code != 0 {
		t.Fatalf("attest: %v", r)
	}
}

// linkNames reads a link bundle's material names and subject names.
func linkNames(t *testing.T, bundlePath string) (materials, subjects []string) {
	t.Helper()
	payload := statementOf(t, bundlePath)
	var st struct {
		Subject []struct {
			Name string `json:"name"`
		} `json:"subject"`
		Predicate struct {
			Materials []struct {
				Name string `json:"name"`
			} `json:"materials"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	for _, m := range st.Predicate.Materials {
		materials = append(materials, m.Name)
	}
	for _, s := range st.Subject {
		subjects = append(subjects, s.Name)
	}
	return materials, subjects
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout %q: %v", s, err)
	}
}

// checkStepJSON checks run's or attest's --json object for a key-signed
// link of step in att/.
func checkStepJSON(t *testing.T, dir, stdout, step string, exit int) {
	t.Helper()
	var got stepJSON
	decodeJSON(t, stdout, &got)
	if got.Step != step || got.RunID != "r1" || got.ExitCode != exit || !strings.HasPrefix(got.Signer, "key sha256:") || got.Materials != 1 || len(got.Files) != 1 {
		t.Fatalf("got %+v", got)
	}
	checkWritten(t, dir, got.Files[0], "att/"+step+".link.sigstore.json", predicates.LinkV03)
}

// checkWritten checks one listed file against the file on disk.
func checkWritten(t *testing.T, dir string, w writtenFile, path, predicateType string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, path))
	if err != nil {
		t.Fatal(err)
	}
	if w.Path != path || w.PredicateType != predicateType || !w.Signed || w.SHA256 != hexSum(string(data)) {
		t.Errorf("listed %+v; want %s, %s, signed, sha256 %s", w, path, predicateType, hexSum(string(data)))
	}
}

// statementOf returns the in-toto statement a DSSE bundle signs.
func statementOf(t *testing.T, bundlePath string) []byte {
	t.Helper()
	data, err := os.ReadFile(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		DSSEEnvelope struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	payload, err := base64.StdEncoding.DecodeString(b.DSSEEnvelope.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

// TestExcludePatterns: paths inside the working directory become ignore
// patterns that match them literally (glob characters escaped); paths
// outside it add nothing; the user's patterns stay first.
func TestExcludePatterns(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mkdir(t, filepath.Join(dir, "a[1]*"))
	writeFile(t, filepath.Join(dir, "k?.key"), "key")
	got, err := excludePatterns([]string{"*.tmp"}, dir, []string{
		filepath.Join(dir, "a[1]*"),          // an existing directory
		filepath.Join(dir, "k?.key"),         // a file
		filepath.Join(dir, "att"),            // not yet created: a directory to be
		filepath.Join(dir, "sub", "..", "c"), // cleaned
		dir,                                  // the working directory itself
		filepath.Dir(dir),                    // outside
		"",                                   // not given
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"*.tmp", `/a\[1]\*/`, `/k\?.key`, "/att/", "/c/"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	// A relative path is relative to the shell's directory, like the flag.
	got, err = excludePatterns(nil, "", []string{"out"})
	if err != nil || !slices.Equal(got, []string{"/out/"}) {
		t.Fatalf("relative to %s: %q, %v", cwd, got, err)
	}
}

// TestDigestGroups: without --root a PATH outside the current directory is
// its own group named as typed; with --root there is one group.
func TestDigestGroups(t *testing.T) {
	cwd := t.TempDir()
	ext := t.TempDir()
	writeFile(t, filepath.Join(ext, "f.bin"), "x")
	mkdir(t, filepath.Join(ext, "d"))
	rel, err := filepath.Rel(cwd, filepath.Join(ext, "d"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := digestGroups(cwd, "", []string{"a", filepath.Join(ext, "f.bin"), rel, filepath.Join(cwd, "b")})
	if err != nil {
		t.Fatal(err)
	}
	want := []digestGroup{
		{root: cwd, paths: []string{filepath.Join(cwd, "a"), filepath.Join(cwd, "b")}},
		{root: ext, prefix: ext, paths: []string{filepath.Join(ext, "f.bin")}},
		{root: filepath.Join(ext, "d"), prefix: rel, paths: []string{filepath.Join(ext, "d")}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i].root != want[i].root || got[i].prefix != want[i].prefix || !slices.Equal(got[i].paths, want[i].paths) {
			t.Errorf("group %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if g := want[2]; g.name("x/y") != rel+"/x/y" {
		t.Errorf("name: %s", g.name("x/y"))
	}
	got, err = digestGroups(cwd, "r", []string{filepath.Join(ext, "f.bin")})
	if err != nil || len(got) != 1 || got[0].root != "r" || got[0].prefix != "" {
		t.Errorf("with --root: %+v, %v", got, err)
	}
	if _, err := digestGroups(cwd, "", []string{""}); err == nil {
		t.Error("empty PATH accepted")
	}
}
