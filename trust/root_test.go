package trust

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadTrustedRootErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		path, want string
	}{
		{filepath.Join(dir, "missing.json"), "trusted root " + filepath.Join(dir, "missing.json") + ": no such file or directory"},
		{write("text.json", "data\n"), "trusted root " + filepath.Join(dir, "text.json") + ": not a Sigstore trusted_root.json: syntax error (line 1:1): invalid value data"},
		{write("media.json", `{"mediaType":"x"}`), "trusted root " + filepath.Join(dir, "media.json") + ": unsupported TrustedRoot media type: x"},
		{dir, "trusted root " + dir + ": not a regular file"},
	} {
		_, err := ReadTrustedRoot(tc.path)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: err = %v\nwant %s", tc.path, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "proto") {
			t.Errorf("%s: decoder internals in %q", tc.path, err)
		}
	}
}
