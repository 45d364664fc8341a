package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/mlattest/mlattest/digest"
)

// Keys of the host facts Environment records (link environment entries).
const (
	EnvKeyKernel     = "mlattest.dev/kernel"     // uname release and version
	EnvKeyCPU        = "mlattest.dev/cpu"        // CPU model, with the count
	EnvKeyGPU        = "mlattest.dev/gpu"        // nvidia-smi: name, driver; one line per GPU
	EnvKeyPython     = "mlattest.dev/python"     // the interpreter's --version
	EnvKeyPipFreeze  = "mlattest.dev/pip-freeze" // sha256: of `python -m pip freeze`
	EnvKeySecretEnv  = "mlattest.dev/secret-env" // names (never values) of set secret-looking variables
	EnvPrefixLock    = "mlattest.dev/lock-file/" // + the file's name: sha256:HEX
	EnvPrefixPackage = "mlattest.dev/framework/" // + the package's name: its version
)

// Frameworks are the Python packages whose versions Environment records
// from pip freeze.
var Frameworks = []string{"torch", "transformers", "peft", "accelerate", "datasets", "tokenizers", "safetensors", "trl", "deepspeed", "bitsandbytes", "jax", "tensorflow", "numpy", "vllm"}

// EnvOptions says which environment facts to collect beyond the host's.
type EnvOptions struct {
	// Python is the interpreter the step uses; its version is recorded and,
	// with PipFreeze, the digest of `Python -m pip freeze` and the versions
	// of Frameworks found in it.
	Python    string
	PipFreeze bool
	// LockFiles are digested (names as given, relative to the working
	// directory).
	LockFiles []string
	// LooksSecret says whether an environment variable's name may hold a
	// secret: the names of those set are recorded, never their values.
	LooksSecret func(name string) bool
	// Environ is the environment to scan (default os.Environ()).
	Environ []string
}

// commandTimeout bounds each probe (nvidia-smi, python): a hung tool must
// not hold the step.
const commandTimeout = 20 * time.Second

// Environment collects the facts of the host a step runs on, in dir: the
// kernel, the CPU model, the GPUs and driver (when nvidia-smi is on PATH),
// and what o asks for. Facts that cannot be read are left out; an asked-for
// lock file or interpreter that fails is an error.
func Environment(ctx context.Context, dir string, o EnvOptions) (map[string]string, error) {
	env := map[string]string{}
	if k := kernel(); k != "" {
		env[EnvKeyKernel] = k
	}
	if c := cpuModel(); c != "" {
		env[EnvKeyCPU] = c
	}
	if smi, err := exec.LookPath("nvidia-smi"); err == nil {
		if out, err := probeOutput(ctx, dir, smi, argsGPUQuery...); err == nil {
			env[EnvKeyGPU] = strings.TrimSpace(string(out))
		}
	}
	if o.Python != "" {
		out, err := probeOutput(ctx, dir, o.Python, argsVersion...)
		if err != nil {
			return nil, fmt.Errorf("python interpreter %s: %w", o.Python, err)
		}
		env[EnvKeyPython] = strings.TrimSpace(string(out))
		if o.PipFreeze {
			out, err := probeOutput(ctx, dir, o.Python, argsPipFreeze...)
			if err != nil {
				return nil, fmt.Errorf("%s -m pip freeze: %w", o.Python, err)
			}
			sum := sha256.Sum256(out)
			env[EnvKeyPipFreeze] = "sha256:" + hex.EncodeToString(sum[:])
			for name, v := range frameworkVersions(out) {
				env[EnvPrefixPackage+name] = v
			}
		}
	}
	for _, f := range o.LockFiles {
		p := f
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		a, err := digest.File(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("lock file %s: %w", f, err)
		}
		env[EnvPrefixLock+filepath.ToSlash(f)] = "sha256:" + a.SHA256
	}
	if o.LooksSecret != nil {
		environ := o.Environ
		if environ == nil {
			environ = os.Environ()
		}
		var names []string
		for _, kv := range environ {
			if n, _, _ := strings.Cut(kv, "="); n != "" && o.LooksSecret(n) {
				names = append(names, n)
			}
		}
		if len(names) > 0 {
			slices.Sort(names)
			env[EnvKeySecretEnv] = strings.Join(slices.Compact(names), ",")
		}
	}
	return env, nil
}

// probeOutput runs a tool for its standard output, bounded in time.
func probeOutput(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if s := strings.TrimSpace(stderr.String()); s != "" {
			return nil, fmt.Errorf("%w: %s", err, firstLine(s))
		}
		return nil, err
	}
	if len(bytes.TrimSpace(out)) == 0 {
		// Python 2 printed its version on stderr.
		out = stderr.Bytes()
	}
	return out, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// frameworkVersions reads NAME==VERSION lines of pip freeze output for the
// packages of Frameworks (names compared as pip normalises them).
func frameworkVersions(freeze []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(freeze))
	for sc.Scan() {
		name, version, ok := strings.Cut(strings.TrimSpace(sc.Text()), "==")
		if !ok {
			continue
		}
		n := strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(strings.TrimSpace(name)))
		if slices.Contains(Frameworks, n) {
			out[n] = strings.TrimSpace(version)
		}
	}
	return out
}

// cpuModel is the first "model name" of /proc/cpuinfo with the CPU count.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return fmt.Sprintf("%s (%d CPUs)", strings.TrimSpace(v), runtime.NumCPU())
		}
	}
	return ""
}
