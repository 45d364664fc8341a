package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunEnvironmentRecord: run records the host, the interpreter, its pip
// freeze, the framework versions and the lock files in the link's
// environment, names the secret-looking variables it saw without their
// values, and no secret value reaches any file it writes or its output.
func TestRunEnvironmentRecord(t *testing.T) {
	dir := t.TempDir()
	if r := mlattest(t, dir, nil, "keygen", "--output-key-prefix", "ci", "--no-passphrase"); r.code != 0 {
		t.Fatalf("keygen: %v", r)
	}
	const freeze = "numpy==1.26.4\ntorch==2.3.1\nTransformers==4.44.0\nrequests==2.32.0\n"
	writeFile(t, filepath.Join(dir, "python"), "#!/bin/sh\ncase \"$1\" in\n--version) echo 'Python 3.11.9';;\n-m) printf '"+strings.ReplaceAll(freeze, "\n", `\n`)+"';;\nesac\n")
	if err := os.Chmod(filepath.Join(dir, "python"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "requirements.txt"), "torch==2.3.1\n")
	writeFile(t, filepath.Join(dir, "data.txt"), "data\n")
	secrets := map[string]string{
		"AWS_SECRET_ACCESS_KEY": "aws-secret-value-5f1e",
		"HF_TOKEN":              "hf_secretvalue6a2b",
		"GITHUB_TOKEN":          "ghs_secretvalue7c3d",
	}
	var env []string
	for k, v := range secrets {
		env = append(env, k+"="+v)
	}
	image := "ghcr.io/acme/trainer:v1@sha256:" + strings.Repeat("0f", 32)
	run := func(out string, extra ...string) cliResult {
		args := append([]string{"run", "--step", "train", "--run-id", "env-1", "--key", "ci.key", "--offline", "--json",
			"--out", out, "--materials", "data.txt", "--products", "model"}, extra...)
		return mlattest(t, dir, env, append(args, "--", "sh", "-c", `mkdir -p model && echo "w $HF_TOKEN" | sha256sum > model/m.bin`)...)
	}
	r := run("att", "--image", image, "--python", "./python", "--pip-freeze", "--lock-file", "requirements.txt")
	if r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	link := payload(t, filepath.Join(dir, "att", "train.link.sigstore.json"))
	got, _ := link["predicate"].(map[string]any)["environment"].(map[string]any)
	sum := func(b string) string { s := sha256.Sum256([]byte(b)); return "sha256:" + hex.EncodeToString(s[:]) }
	for k, want := range map[string]string{
		"mlattest.dev/secret-env":                 "AWS_SECRET_ACCESS_KEY,GITHUB_TOKEN,HF_TOKEN",
		"mlattest.dev/python":                     "Python 3.11.9",
		"mlattest.dev/pip-freeze":                 sum(freeze),
		"mlattest.dev/framework/torch":            "2.3.1",
		"mlattest.dev/framework/transformers":     "4.44.0",
		"mlattest.dev/framework/numpy":            "1.26.4",
		"mlattest.dev/lock-file/requirements.txt": sum("torch==2.3.1\n"),
	} {
		if got[k] != want {
			t.Errorf("environment[%s] = %v, want %q", k, got[k], want)
		}
	}
	if _, ok := got["mlattest.dev/framework/requests"]; ok {
		t.Error("a package that is no ML framework was recorded")
	}
	if k, _ := got["mlattest.dev/kernel"].(string); k == "" {
		t.Errorf("no kernel recorded: %v", got)
	}
	prov := string(payloadBytes(t, filepath.Join(dir, "att", "train.provenance.sigstore.json")))
	if !strings.Contains(prov, `"digest":{"sha256":"`+strings.Repeat("0f", 32)+`"}`) || !strings.Contains(prov, `"uri":"oci://ghcr.io/acme/trainer:v1"`) {
		t.Errorf("provenance lacks the image digest: %s", prov)
	}
	// No secret value anywhere: the files written, their decoded
	// statements, the command line's output.
	texts := []string{r.stdout, r.stderr}
	err := filepath.WalkDir(filepath.Join(dir, "att"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		texts = append(texts, string(b))
		if strings.HasSuffix(p, ".sigstore.json") {
			texts = append(texts, string(payloadBytes(t, p)))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, txt := range texts {
		for name, v := range secrets {
			if strings.Contains(txt, v) {
				t.Errorf("the value of %s was written: %.200s", name, txt)
			}
		}
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"mutable image tag", []string{"--image", "ghcr.io/acme/trainer:v1"}, "a tag does not pin an image"},
		{"pip freeze without python", []string{"--pip-freeze"}, "--pip-freeze needs --python"},
		{"missing lock file", []string{"--lock-file", "uv.lock"}, "lock file uv.lock"},
		{"failing interpreter", []string{"--python", "./nope"}, "python interpreter ./nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := "bad-" + strings.ReplaceAll(tc.name, " ", "-")
			if err := os.RemoveAll(filepath.Join(dir, "model")); err != nil {
				t.Fatal(err)
			}
			r := run(out, tc.args...)
			if r.code != exitRunError || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("got %v; want exit %d naming %q", r, exitRunError, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "model")); err == nil {
				t.Error("the command ran")
			}
			if _, err := os.Stat(filepath.Join(dir, out)); err == nil {
				t.Errorf("%s was written", out)
			}
		})
	}
}
