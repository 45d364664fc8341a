// Package rekorv1replay serves recorded Rekor v1 REST answers on 127.0.0.1
// for tests (no live network), and builds such recordings from the real
// Rekor v1 log entries Sigstore bundles carry.
//
// A recording is a directory:
//
//	log.json                  GET  /api/v1/log (models.LogInfo)
//	entries/ENTRYID.json      GET  /api/v1/log/entries/{uuid or entry id},
//	                          GET  /api/v1/log/entries?logIndex=N (models.LogEntry)
//	index.json                POST /api/v1/index/retrieve: index key -> entry ids
//	proofs/TREE-FIRST-LAST.json GET /api/v1/log/proof (models.ConsistencyProof)
//
// Files are read on every request, so a test may edit a copy to tamper with
// what the log serves.
package rekorv1replay

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Handler serves the recording in dir the way a Rekor v1 server answers.
func Handler(dir string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/log", func(w http.ResponseWriter, _ *http.Request) {
		serveFile(w, filepath.Join(dir, "log.json"))
	})
	mux.HandleFunc("GET /api/v1/log/entries/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := strings.ToLower(r.PathValue("id"))
		if len(id) < 64 || strings.ContainsAny(id, "./") {
			apiError(w, http.StatusBadRequest, "invalid entry id")
			return
		}
		names, _ := filepath.Glob(filepath.Join(dir, "entries", "*"+id[len(id)-64:]+".json"))
		if len(names) != 1 || (len(id) == 80 && filepath.Base(names[0]) != id+".json") {
			apiError(w, http.StatusNotFound, "entry not found")
			return
		}
		serveFile(w, names[0])
	})
	mux.HandleFunc("GET /api/v1/log/entries", func(w http.ResponseWriter, r *http.Request) {
		idx, err := strconv.ParseInt(r.URL.Query().Get("logIndex"), 10, 64)
		if err != nil || idx < 0 {
			apiError(w, http.StatusBadRequest, "invalid logIndex")
			return
		}
		names, _ := filepath.Glob(filepath.Join(dir, "entries", "*.json"))
		for _, n := range names {
			raw, err := os.ReadFile(n)
			if err != nil {
				continue
			}
			var le map[string]struct {
				LogIndex *int64 `json:"logIndex"`
			}
			if json.Unmarshal(raw, &le) != nil {
				continue
			}
			for _, e := range le {
				if e.LogIndex != nil && *e.LogIndex == idx {
					serveFile(w, n)
					return
				}
			}
		}
		apiError(w, http.StatusNotFound, "entry not found")
	})
	mux.HandleFunc("POST /api/v1/index/retrieve", func(w http.ResponseWriter, r *http.Request) {
		var q struct {
			Email, Hash, Subject, Operator string
		}
		if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
			apiError(w, http.StatusBadRequest, "invalid query")
			return
		}
		raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
		if err != nil {
			apiError(w, http.StatusInternalServerError, "no index")
			return
		}
		var index map[string][]string
		if err := json.Unmarshal(raw, &index); err != nil {
			apiError(w, http.StatusInternalServerError, "bad index")
			return
		}
		var keys []string
		if q.Hash != "" {
			h := strings.ToLower(q.Hash)
			if !strings.Contains(h, ":") {
				h = "sha256:" + h
			}
			keys = append(keys, h)
		}
		for _, k := range []string{q.Email, q.Subject} {
			if k != "" {
				keys = append(keys, strings.ToLower(k))
			}
		}
		var out []string
		for i, k := range keys {
			ids := index[k]
			if q.Operator == "and" && i > 0 {
				out = slices.DeleteFunc(out, func(id string) bool { return !slices.Contains(ids, id) })
				continue
			}
			out = append(out, ids...)
		}
		slices.Sort(out)
		writeJSON(w, http.StatusOK, slices.Compact(out))
	})
	mux.HandleFunc("GET /api/v1/log/proof", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		first, last, tree := q.Get("firstSize"), q.Get("lastSize"), q.Get("treeID")
		for _, v := range []string{first, last, tree} {
			if _, err := strconv.ParseUint(v, 10, 64); err != nil {
				apiError(w, http.StatusBadRequest, "invalid proof request")
				return
			}
		}
		p := filepath.Join(dir, "proofs", fmt.Sprintf("%s-%s-%s.json", tree, first, last))
		if _, err := os.Stat(p); err != nil {
			apiError(w, http.StatusBadRequest, "no consistency proof recorded for these sizes")
			return
		}
		serveFile(w, p)
	})
	return mux
}

func serveFile(w http.ResponseWriter, path string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		apiError(w, http.StatusNotFound, "not recorded")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(raw)
}

// apiError answers as rekor does (models.Error).
func apiError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"code": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
