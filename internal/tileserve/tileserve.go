// Package tileserve serves a tile-based transparency log's storage directory
// (C2SP tlog-tiles: checkpoint, tile/<L>/<N>, tile/entries/<N>) read-only over
// HTTP. rekor-tiles' POSIX backend writes exactly that tree and leaves serving
// it to a static web server; this is that server for the local stack and for
// tests that serve a copy of the directory (e.g. to tamper with it).
package tileserve

import (
	"net/http"
	"os"
	"path"
	"strings"
)

// Handler serves the log files under dir: GET and HEAD of the checkpoint and
// of tile paths only. Anything else (directory listings, the backend's
// .state/ locks, paths outside tile/) is not found, so the server publishes
// exactly what the tlog-tiles read API names.
func Handler(dir string) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "read-only", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		if !servable(p) {
			http.NotFound(w, r)
			return
		}
		// http.FileServer would list a directory; a tile path never names one.
		if st, err := os.Stat(dir + p); err != nil || !st.Mode().IsRegular() {
			http.NotFound(w, r)
			return
		}
		// Checkpoints change; tiles (full or partial) never do once written.
		if p == "/checkpoint" {
			w.Header().Set("Cache-Control", "no-store")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		files.ServeHTTP(w, r)
	})
}

// servable reports whether a cleaned URL path is the checkpoint or a path
// under tile/ with no hidden segment.
func servable(p string) bool {
	if p == "/checkpoint" {
		return true
	}
	if !strings.HasPrefix(p, "/tile/") {
		return false
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || strings.HasPrefix(seg, ".") {
			return false
		}
	}
	return true
}
