package cicheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/repotest"
)

const (
	goodSum  = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	download = `{
	"Path": "github.com/mlattest/mlattest",
	"Version": "v1.2.3",
	"Sum": "` + goodSum + `",
	"GoModSum": "h1:BBBB="
}`
	buildInfo = `x: go1.26.8\n\tpath\tgithub.com/mlattest/mlattest/cmd/mlattest\n\tmod\tgithub.com/mlattest/mlattest\tv1.2.3\t` + goodSum + `\n\tdep\tgithub.com/spf13/cobra\tv1.10.1\th1:x=\n`
)

// TestActionScript runs the composite action's steps (scripts/action.sh)
// against a stand-in go: the version must be immutable, the checksum
// database must be in force and agree with module-sum, and the installed
// binary's build information must name exactly the verified version.
func TestActionScript(t *testing.T) {
	root := repotest.Root(t)
	script := filepath.Join(root, "scripts/action.sh")
	fakeGo, err := filepath.Abs("testdata/fakego")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		step    string
		env     map[string]string
		wantErr string            // in stderr; empty: must succeed
		wantOut map[string]string // GITHUB_OUTPUT entries
		wantGo  string            // in the fake go's log
	}{
		{name: "release tag", step: "resolve", env: map[string]string{"MLATTEST_VERSION": "v1.2.3"},
			wantOut: map[string]string{"mode": "module", "version": "v1.2.3", "sum": goodSum},
			wantGo:  "mod download -json github.com/mlattest/mlattest@v1.2.3 GOSUMDB=sum.golang.org GONOSUMDB=unset GOFLAGS=unset"},
		{name: "action ref is a full commit", step: "resolve", env: map[string]string{"MLATTEST_ACTION_REF": strings.Repeat("ab", 20)},
			wantOut: map[string]string{"mode": "module"}, wantGo: "@" + strings.Repeat("ab", 20)},
		{name: "no ref: local build", step: "resolve", env: map[string]string{},
			wantOut: map[string]string{"mode": "local", "version": "(devel)", "key": ""}},
		{name: "matching module-sum", step: "resolve", env: map[string]string{"MLATTEST_VERSION": "v1.2.3", "MLATTEST_MODULE_SUM": goodSum},
			wantOut: map[string]string{"sum": goodSum}},
		{name: "exemptions in the environment are dropped", step: "resolve",
			env:    map[string]string{"MLATTEST_VERSION": "v1.2.3", "GONOSUMDB": "github.com/mlattest", "GOFLAGS": "-insecure"},
			wantGo: "GONOSUMDB=unset GOFLAGS=unset"},
		{name: "branch refused", step: "resolve", env: map[string]string{"MLATTEST_VERSION": "main"}, wantErr: "refusing mutable version 'main'"},
		{name: "latest refused", step: "resolve", env: map[string]string{"MLATTEST_VERSION": "latest"}, wantErr: "refusing mutable version"},
		{name: "short commit refused", step: "resolve", env: map[string]string{"MLATTEST_ACTION_REF": "abcdef1"}, wantErr: "refusing mutable version"},
		{name: "major tag refused", step: "resolve", env: map[string]string{"MLATTEST_VERSION": "v1"}, wantErr: "refusing mutable version"},
		{name: "checksum database off", step: "resolve", env: map[string]string{"MLATTEST_VERSION": "v1.2.3", "GOSUMDB": "off"}, wantErr: "GOSUMDB=off"},
		{name: "module-sum mismatch", step: "resolve", env: map[string]string{"MLATTEST_VERSION": "v1.2.3", "MLATTEST_MODULE_SUM": "h1:other="},
			wantErr: "checksum mismatch for github.com/mlattest/mlattest@v1.2.3"},
		{name: "download error", step: "resolve", env: map[string]string{"MLATTEST_VERSION": "v9.9.9", "FAKE_DOWNLOAD_JSON": `{"Path": "github.com/mlattest/mlattest", "Error": "verifying module: checksum mismatch"}`},
			wantErr: "verifying module: checksum mismatch"},
		{name: "install checks the build", step: "install", env: map[string]string{"MLATTEST_MODE": "module", "MLATTEST_VERSION": "v1.2.3", "MLATTEST_MODULE_SUM": goodSum},
			wantGo: "install github.com/mlattest/mlattest/cmd/mlattest@v1.2.3 GOSUMDB=sum.golang.org"},
		{name: "binary of another version", step: "install", env: map[string]string{"MLATTEST_MODE": "module", "MLATTEST_VERSION": "v1.2.3", "MLATTEST_MODULE_SUM": goodSum,
			"FAKE_BUILDINFO": strings.Replace(buildInfo, "v1.2.3", "v1.2.2", 1)},
			wantErr: "the built binary is not the requested module version"},
		{name: "binary with another sum", step: "install", env: map[string]string{"MLATTEST_MODE": "module", "MLATTEST_VERSION": "v1.2.3", "MLATTEST_MODULE_SUM": "h1:other="},
			wantErr: "the built binary is not the requested module version"},
		{name: "another command", step: "install", env: map[string]string{"MLATTEST_MODE": "module", "MLATTEST_VERSION": "v1.2.3", "MLATTEST_MODULE_SUM": goodSum,
			"FAKE_BUILDINFO": strings.Replace(buildInfo, "cmd/mlattest", "cmd/other", 1)},
			wantErr: "the built binary is not the requested module version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			env := []string{
				"PATH=" + fakeGo + ":" + os.Getenv("PATH"), "HOME=" + dir,
				"GITHUB_OUTPUT=" + filepath.Join(dir, "output"), "GITHUB_PATH=" + filepath.Join(dir, "path"),
				"FAKE_GO_LOG=" + filepath.Join(dir, "go.log"), "FAKE_DOWNLOAD_JSON=" + download, "FAKE_BUILDINFO=" + buildInfo,
				"MLATTEST_BIN_DIR=" + filepath.Join(dir, "bin"), "MLATTEST_ACTION_PATH=" + root,
			}
			for k, v := range tc.env {
				env = append(env, k+"="+v)
			}
			cmd := exec.Command(script, tc.step)
			cmd.Env = env
			var stderr strings.Builder
			cmd.Stderr = &stderr
			stdout, err := cmd.Output()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(stderr.String(), tc.wantErr) {
					t.Fatalf("err = %v, stderr %q; want a failure saying %q", err, stderr.String(), tc.wantErr)
				}
				if _, err := os.Stat(filepath.Join(dir, "bin/mlattest")); err == nil {
					t.Error("a binary that failed the check was left installed")
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\nstdout %s\nstderr %s", err, stdout, stderr.String())
			}
			out := readOutputs(t, filepath.Join(dir, "output"))
			for k, v := range tc.wantOut {
				if got, ok := out[k]; !ok || got != v {
					t.Errorf("output %s = %q (set %v), want %q", k, got, ok, v)
				}
			}
			if tc.wantGo != "" {
				log, _ := os.ReadFile(filepath.Join(dir, "go.log"))
				if !strings.Contains(string(log), tc.wantGo) {
					t.Errorf("go was run as\n%s\nwant a call containing %q", log, tc.wantGo)
				}
			}
			if tc.step == "install" {
				if p, _ := os.ReadFile(filepath.Join(dir, "path")); strings.TrimSpace(string(p)) != filepath.Join(dir, "bin") {
					t.Errorf("GITHUB_PATH = %q, want the bin folder", p)
				}
				if !strings.Contains(string(stdout), "fake mlattest version") {
					t.Errorf("install did not run mlattest version: %s", stdout)
				}
			}
		})
	}
}

// TestActionScriptArgs: the run step passes each line of args as one
// argument, unsplit and unexpanded.
func TestActionScriptArgs(t *testing.T) {
	root := repotest.Root(t)
	dir := t.TempDir()
	fake := "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done\n"
	if err := os.WriteFile(filepath.Join(dir, "mlattest"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(root, "scripts/action.sh"), "run")
	cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "GITHUB_OUTPUT=" + filepath.Join(dir, "o"),
		"MLATTEST_ARGS=verify\n--layout=my layout.yaml\n\n$(touch pwned)\n*"}
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if want := "[verify]\n[--layout=my layout.yaml]\n[$(touch pwned)]\n[*]\n"; string(out) != want {
		t.Errorf("arguments\n%s\nwant\n%s", out, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Error("an argument was run as a command")
	}
	cmd = exec.Command(filepath.Join(root, "scripts/action.sh"), "run")
	cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "MLATTEST_ARGS="}
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "args is empty") {
		t.Errorf("empty args: err %v, output %s", err, out)
	}
}

func readOutputs(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		out[k] = v
	}
	return out
}
