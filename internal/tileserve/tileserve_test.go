package tileserve

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestHandler(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, body string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("checkpoint", "cp")
	write("tile/0/000", "t0")
	write("tile/entries/000.p/3", "e3")
	write(".state/treeState", "secret")
	write("tile/.hidden", "h")
	write("other", "o")
	srv := httptest.NewServer(Handler(dir))
	defer srv.Close()

	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/checkpoint", 200, "cp"},
		{"GET", "/tile/0/000", 200, "t0"},
		{"GET", "/tile/entries/000.p/3", 200, "e3"},
		{"HEAD", "/tile/0/000", 200, ""},
		{"GET", "/tile/0/001", 404, ""},
		{"GET", "/tile/0/", 404, ""},
		{"GET", "/tile/", 404, ""},
		{"GET", "/", 404, ""},
		{"GET", "/.state/treeState", 404, ""},
		{"GET", "/tile/../.state/treeState", 404, ""},
		{"GET", "/tile/.hidden", 404, ""},
		{"GET", "/other", 404, ""},
		{"PUT", "/checkpoint", 405, ""},
		{"POST", "/tile/0/000", 405, ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%q)", resp.StatusCode, tc.status, b)
			}
			if tc.status == 200 && string(b) != tc.body {
				t.Fatalf("body %q, want %q", b, tc.body)
			}
		})
	}
}
