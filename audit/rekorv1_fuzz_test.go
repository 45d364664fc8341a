package audit

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/rekorv1replay"
	"github.com/sigstore/rekor/pkg/generated/models"
)

// v1EntryFiles are the recorded Rekor v1 entry answers (models.LogEntry)
// of every recording.
func v1EntryFiles(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for name := range rekorv1replay.Recordings {
		files, _ := filepath.Glob(filepath.Join(rekorv1replay.Conformance(t, name), "entries", "*.json"))
		if len(files) == 0 {
			t.Fatalf("recording %s has no entries", name)
		}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, raw)
		}
	}
	return out
}

// v1Bodies are the entry bodies of the recorded answers.
func v1Bodies(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, raw := range v1EntryFiles(t) {
		var le models.LogEntry
		if err := json.Unmarshal(raw, &le); err != nil {
			t.Fatal(err)
		}
		for _, e := range le {
			body, err := base64.StdEncoding.DecodeString(e.Body.(string))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, body)
		}
	}
	return out
}

func TestParseRekorV1EntryRefuses(t *testing.T) {
	var hr string
	for _, b := range v1Bodies(t) {
		if strings.Contains(string(b), `"kind":"hashedrekord"`) {
			hr = string(b)
		}
	}
	var spec map[string]any
	if err := json.Unmarshal([]byte(hr), &spec); err != nil {
		t.Fatal(err)
	}
	pk := spec["spec"].(map[string]any)["signature"].(map[string]any)["publicKey"].(map[string]any)["content"].(string)
	tests := map[string]struct{ body, reason string }{
		"not json":             {"{", "not a Rekor v1 entry"},
		"unknown kind":         {`{"apiVersion":"0.0.1","kind":"helm","spec":{}}`, `kind "helm"`},
		"kind nobody knows":    {`{"apiVersion":"0.0.1","kind":"zzz","spec":{}}`, "not a Rekor v1 entry"},
		"unknown version":      {`{"apiVersion":"9.9.9","kind":"hashedrekord","spec":{}}`, `kind "hashedrekord"`},
		"rekord kind":          {`{"apiVersion":"0.0.1","kind":"rekord","spec":{}}`, `kind "rekord"`},
		"verifier not PEM":     {strings.Replace(hr, pk, base64.StdEncoding.EncodeToString([]byte("junk")), 1), "PEM"},
		"verifier private key": {strings.Replace(hr, pk, base64.StdEncoding.EncodeToString([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")), 1), "PRIVATE KEY"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseRekorV1Entry(5, []byte(tc.body))
			if !errors.Is(err, ErrEntry) || !strings.Contains(err.Error(), "unreadable log entry 5") || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("err %v, want ErrEntry naming %q", err, tc.reason)
			}
		})
	}
}

func FuzzParseRekorV1Entry(f *testing.F) {
	for _, b := range v1Bodies(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := ParseRekorV1Entry(1, body)
		if err != nil {
			if !errors.Is(err, ErrEntry) {
				t.Fatalf("error not ErrEntry: %v", err)
			}
			return
		}
		if len(e.Signers) == 0 || len(e.Digest.Hex) < 64 || e.Kind == "" {
			t.Fatalf("accepted entry %+v", e)
		}
	})
}

// FuzzRekorV1VerifyEntry: whatever a log answers for an entry, verifyEntry
// returns an error or an entry whose body hashes to the UUID it was served
// under, never panics.
func FuzzRekorV1VerifyEntry(f *testing.F) {
	for _, raw := range v1EntryFiles(f) {
		f.Add(raw)
	}
	l, err := OpenRekorV1("http://127.0.0.1:1", publicGood(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var le models.LogEntry
		if json.Unmarshal(raw, &le) != nil {
			return
		}
		for id, e := range le {
			got, _, err := l.verifyEntry(context.Background(), id, e)
			if err != nil {
				continue
			}
			if uuid, _ := entryUUID(id); hex.EncodeToString(got.LeafHash) != uuid {
				t.Fatalf("entry %s accepted with leaf hash %x", id, got.LeafHash)
			}
		}
	})
}
