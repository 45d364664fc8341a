package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/stacktest"
)

// signModelFolder writes the small model of modelsig's golden test (its
// manifest digest was computed by hand: signModelRoot).
func signModelFolder(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	for name, content := range map[string]string{
		"a.txt": "hello\n", "dir/b.bin": "\x00\x01\x02", "dir-x": "dash\n",
		"skip/x": "ignored\n", ".git/config": "git\n", "sub/.gitignore": "nested\n",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a.txt", filepath.Join(dir, "lnk")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// signModelRoot: sha256 over the raw SHA-256s of a.txt, dir/b.bin, dir-x,
// lnk (a.txt's bytes) and sub/.gitignore, in that order (by hand).
const signModelRoot = "sha256:ba6c847c26f71576f73bc1da7c75201d913b0b3f22ae889b87244d6a78e15f20"

// keyShape is the nested key structure of a JSON value (objects by key,
// arrays by their first element): what the model_signing tool's reader
// depends on.
func keyShape(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			out[k] = keyShape(e)
		}
		return out
	case []any:
		if len(v) == 0 {
			return []any{}
		}
		return []any{keyShape(v[0])}
	}
	return nil
}

func bundlePayload(t *testing.T, path string) (map[string]any, map[string]any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	env := b["dsseEnvelope"].(map[string]any)
	if env["payloadType"] != "application/vnd.in-toto+json" {
		t.Fatalf("%s: payloadType %v", path, env["payloadType"])
	}
	raw, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	return b, st
}

// TestSignModelKey: sign-model with a key writes MODEL/model.sig whose
// manifest digest is the one computed by hand, whose statement has the
// shape of the model_signing tool's own (v1.1.0 conformance signature),
// with the signature file, git's paths and --ignore-paths recorded; it
// verifies with verify-model --key, and fails once a file changes or is
// added. A link is refused without --allow-symlinks (exit 1).
func TestSignModelKey(t *testing.T) {
	dir := signModelFolder(t)
	keys := t.TempDir()
	if r := runCLI(t, "keygen", "--output-key-prefix", filepath.Join(keys, "k"), "--no-passphrase"); r.code != 0 {
		t.Fatalf("keygen: %s", r)
	}
	signArgs := []string{"sign-model", dir, "--key", filepath.Join(keys, "k.key"), "--offline", "--ignore-paths", "skip", "--json"}
	if r := runCLI(t, signArgs...); r.code != exitRejected || !strings.Contains(r.stderr, "--allow-symlinks") {
		t.Fatalf("a link without --allow-symlinks: %s", r)
	}
	r := runCLI(t, append(signArgs, "--allow-symlinks")...)
	if r.code != 0 {
		t.Fatalf("sign-model: %s", r)
	}
	var out struct{ ManifestDigest string }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.ManifestDigest != signModelRoot {
		t.Fatalf("manifest digest %q (%v), want %s", out.ManifestDigest, err, signModelRoot)
	}
	sig := filepath.Join(dir, "model.sig")

	b, st := bundlePayload(t, sig)
	_, theirs := bundlePayload(t, filepath.Join(omsDir(t), "v1.1.0-elliptic-key", "model.sig"))
	ours, _ := json.Marshal(keyShape(st))
	want, _ := json.Marshal(keyShape(theirs))
	if string(ours) != string(want) {
		t.Errorf("statement shape\n%s\nwant the model_signing tool's\n%s", ours, want)
	}
	if _, ok := b["verificationMaterial"].(map[string]any)["publicKey"].(map[string]any)["hint"]; !ok {
		t.Errorf("key-signed bundle without a publicKey hint: %v", b["verificationMaterial"])
	}
	ser := st["predicate"].(map[string]any)["serialization"].(map[string]any)
	var ignore []string
	for _, p := range ser["ignore_paths"].([]any) {
		ignore = append(ignore, p.(string))
	}
	if !slices.Equal(ignore, []string{".git", ".gitattributes", ".github", ".gitignore", "model.sig", "skip"}) || ser["allow_symlinks"] != true {
		t.Errorf("serialization %v", ser)
	}

	verifyArgs := []string{"verify-model", dir, "--key", filepath.Join(keys, "k.pub"), "--json"}
	if r := runCLI(t, verifyArgs...); r.code != 0 || !strings.Contains(r.stdout, signModelRoot) {
		t.Fatalf("verify-model: %s", r)
	}
	if r := runCLI(t, signArgs...); r.code != exitUsage || !strings.Contains(r.stderr, "--force") {
		t.Errorf("signing over an existing signature: %s", r)
	}
	if err := os.WriteFile(filepath.Join(dir, "new.bin"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, verifyArgs...); r.code != exitRejected || !strings.Contains(r.stderr, "unsigned files present: new.bin") {
		t.Errorf("added file: %s", r)
	}
	os.Remove(filepath.Join(dir, "new.bin"))
	if err := os.WriteFile(filepath.Join(dir, "dir", "b.bin"), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, verifyArgs...); r.code != exitRejected || !strings.Contains(r.stderr, "changed: dir/b.bin") {
		t.Errorf("changed file: %s", r)
	}
}

// TestSignModelKeyless: sign-model keylessly on the private stack (Fulcio
// certificate, Rekor v2 entry, TSA timestamp); verify-model accepts it for
// the signer's identity and rejects another identity.
func TestSignModelKeyless(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local Sigstore stack")
	}
	s := stacktest.Get(t)
	dir := signModelFolder(t)
	os.Remove(filepath.Join(dir, "lnk"))
	sig := filepath.Join(t.TempDir(), "bert.sig")
	r := runCLI(t, "sign-model", dir, "--signature", sig, "--identity-token", s.Token(t, 1, "modeler@example.com"),
		"--signing-config", s.SigningConfig, "--trusted-root", s.TrustedRoot)
	if r.code != 0 {
		t.Fatalf("sign-model: %s", r)
	}
	for _, tc := range []struct {
		who  string
		code int
	}{{"modeler@example.com", 0}, {"mallory@example.com", exitRejected}} {
		r := runCLI(t, "verify-model", dir, "--signature", sig, "--json", "--trusted-root", s.TrustedRoot,
			"--certificate-identity", tc.who, "--certificate-oidc-issuer", s.Issuer1)
		if r.code != tc.code {
			t.Errorf("%s: %s", tc.who, r)
		}
		if tc.code == 0 && (!strings.Contains(r.stdout, `"logEntries":1`) || !strings.Contains(r.stdout, `"kind":"tsa"`)) {
			t.Errorf("keyless verification without log entry or timestamp: %s", r.stdout)
		}
	}
}

// TestSignModelSingleFile: a model that is one file is signed as the
// format's single resource "." (as the tool's elliptic-key cases before
// v1.0.1 are); --signature is then required, and the signature verifies
// only for that file's bytes.
func TestSignModelSingleFile(t *testing.T) {
	dir := t.TempDir()
	if r := runCLI(t, "keygen", "--output-key-prefix", filepath.Join(dir, "k"), "--no-passphrase"); r.code != 0 {
		t.Fatalf("keygen: %s", r)
	}
	model := filepath.Join(dir, "model.safetensors")
	writeFile(t, model, "weights")
	sig := filepath.Join(dir, "model.safetensors.sig")
	if r := runCLI(t, "sign-model", model, "--key", filepath.Join(dir, "k.key"), "--offline"); r.code != exitUsage || !strings.Contains(r.stderr, "--signature is required") {
		t.Fatalf("no --signature for a file: %s", r)
	}
	if r := runCLI(t, "sign-model", model, "--signature", sig, "--key", filepath.Join(dir, "k.key"), "--offline"); r.code != 0 {
		t.Fatalf("sign-model: %s", r)
	}
	_, st := bundlePayload(t, sig)
	res := st["predicate"].(map[string]any)["resources"].([]any)
	if len(res) != 1 || res[0].(map[string]any)["name"] != "." {
		t.Errorf("resources %v, want the one resource \".\"", res)
	}
	args := []string{"verify-model", model, "--signature", sig, "--key", filepath.Join(dir, "k.pub")}
	if r := runCLI(t, args...); r.code != 0 {
		t.Fatalf("verify-model: %s", r)
	}
	writeFile(t, model, "weightz")
	if r := runCLI(t, args...); r.code != exitRejected || !strings.Contains(r.stderr, "changed: .") {
		t.Errorf("changed file: %s", r)
	}
}
