package handoff

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{}
	h := Handoff{Step: "scan-model", RunID: "r1", Dir: dir}
	for _, kv := range h.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	got, ok := FromEnv(func(k string) string { return env[k] })
	if !ok || got != h {
		t.Fatalf("FromEnv = %+v, %v; want %+v", got, ok, h)
	}
	if err := got.Write("model-scan", []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := got.Write("b/../weird name", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := got.Write("model-scan", []byte(`{}`)); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second write of a name: err = %v, want ErrExist", err)
	}
	items, err := Collect(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].Name != "b_.._weird_name" || items[1].Name != "model-scan" || string(items[1].JSON) != `{"a":1}` {
		t.Fatalf("Collect = %+v", items)
	}
}

func TestFromEnvIncomplete(t *testing.T) {
	if _, ok := FromEnv(func(k string) string {
		if k == EnvDir {
			return ""
		}
		return "x"
	}); ok {
		t.Fatal("FromEnv accepted a handoff without a directory")
	}
}

func TestCollectRefusesStrayFiles(t *testing.T) {
	for name, setup := range map[string]func(dir string) error{
		"other file": func(dir string) error { return os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o600) },
		"directory":  func(dir string) error { return os.Mkdir(filepath.Join(dir, "x"+Suffix), 0o700) },
		"symlink":    func(dir string) error { return os.Symlink("/etc/passwd", filepath.Join(dir, "x"+Suffix)) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := setup(dir); err != nil {
				t.Fatal(err)
			}
			if _, err := Collect(dir); err == nil {
				t.Fatal("Collect accepted a stray entry")
			}
		})
	}
}

func TestWriteNew(t *testing.T) {
	h := Handoff{Step: "s", RunID: "r", Dir: t.TempDir()}
	for _, want := range []string{"model-scan", "model-scan-2", "model-scan-3"} {
		got, err := h.WriteNew("model-scan", []byte(`{}`))
		if err != nil || got != want {
			t.Fatalf("WriteNew = %q, %v; want %q", got, err, want)
		}
	}
}
