package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mlattest/mlattest/audit"
)

const searchAPIHelp = `Rekor v1 (the public-good log most existing bundles point to): with
--log-api auto (the default) --log is read as a Rekor v1 REST API when
GET --log/api/v1/log answers with a Rekor v1 tree head, else as a tile log;
--log-api v1 or v2 skips that probe. A Rekor v1 log cannot be scanned: search
asks the log's index for an exact identity (--identity, or --email for an
email SAN) and/or a digest (--digest, or --sha256 HEX), fetches every entry
the index returns, proves each included in its signed tree head (the tree
head's signature and the signed entry timestamp checked with the log key of
the trusted root), and lists those matching every selector (the regexps,
--issuer and --key-id narrow what the index returned). --from and --to do not
apply, and the result is only as complete as the log's index.`

const entryAPIHelp = `Which log API: with --log-api auto (the default) the bundle decides. A
hashedrekord or dsse 0.0.2 entry is Rekor v2's: --log is a tile log. Any other
(hashedrekord or dsse 0.0.1, intoto 0.0.2) is Rekor v1's: --log is the log's
REST API (for example the public-good log's URL); the entry is fetched by its
index, proven included in the log's signed tree head (signature and signed
entry timestamp checked with the log key of the trusted root), and the tree
head the bundle was issued with proven consistent with it by the log's
consistency proof. Without --log, a Rekor v1 entry is read from the URL the
trusted root gives its log ($MLATTEST_REKOR_READ_URL names a tile log).`

func (f *logFlags) registerAPI(fs *pflag.FlagSet) {
	fs.StringVar(&f.api, "log-api", "auto", "the log's API: v2 (tile log: checkpoint and tiles under --log), v1 (Rekor v1 REST API at --log), or auto")
}

// openV1 returns a Rekor v1 reader when --log is one (--log-api v1, or auto
// and the probe says so), nil when it is a tile log.
func (f *logFlags) openV1(ctx context.Context) (*audit.RekorV1, error) {
	if f.url == "" {
		f.url = os.Getenv(envRekorReadURL)
	}
	switch f.api {
	case "v2":
		return nil, nil
	case "auto":
		if f.url == "" || !isRekorV1(ctx, f.url) {
			return nil, nil
		}
	case "v1":
	default:
		return nil, usage(fmt.Errorf("--log-api %q: want auto, v1 or v2", f.api))
	}
	tr, opts, err := f.resolve()
	if err != nil {
		return nil, err
	}
	r, err := audit.OpenRekorV1(f.url, tr, opts...)
	if err != nil {
		return nil, usage(err)
	}
	return r, nil
}

// isRekorV1 probes url: a Rekor v1 server answers GET /api/v1/log with its
// log info. Anything else (a tile log's 404, no answer) is left to the tile
// log reader, which reports it.
func isRekorV1(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(url, "/")+"/api/v1/log", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var info struct {
		TreeSize       *int64  `json:"treeSize"`
		SignedTreeHead *string `json:"signedTreeHead"`
	}
	return resp.StatusCode == http.StatusOK &&
		json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&info) == nil &&
		info.TreeSize != nil && info.SignedTreeHead != nil
}

// bundleLog is what audit entry needs of a log of either version.
type bundleLog interface {
	URL() string
	VerifyBundle(ctx context.Context, b *bundle.Bundle) (*audit.BundleEntry, error)
}

// openForBundle opens --log as the log the bundle's entry is in.
func (f *logFlags) openForBundle(ctx context.Context, b *bundle.Bundle) (bundleLog, error) {
	v1 := f.api == "v1"
	switch f.api {
	case "v1", "v2":
	case "auto":
		// A bundle without one entry is refused by either reader.
		v, _ := audit.BundleRekorVersion(b)
		v1 = v == 1
	default:
		return nil, usage(fmt.Errorf("--log-api %q: want auto, v1 or v2", f.api))
	}
	if !v1 {
		return f.open()
	}
	f.api = "v1"
	if f.url == "" {
		// No --log: the bundle's log as the trusted root names it
		// ($MLATTEST_REKOR_READ_URL is a tile log's).
		tm, err := f.root()
		if err != nil {
			return nil, err
		}
		tles := b.GetVerificationMaterial().GetTlogEntries()
		if len(tles) == 1 {
			if tl, ok := tm.RekorLogs()[hex.EncodeToString(tles[0].GetLogId().GetKeyId())]; ok {
				f.url = tl.BaseURL
			}
		}
	}
	return f.openV1(ctx)
}

// searchV1Flags are search's selectors named after a Rekor v1 index's
// queries; they mean the same for a tile log.
type searchV1Flags struct{ email, sha256 string }

func (s *searchV1Flags) register(fs *pflag.FlagSet) {
	fs.StringVar(&s.email, "email", "", "certificate email SAN, exact (--identity for an email)")
	fs.StringVar(&s.sha256, "sha256", "", "signed SHA-256 digest, hex (--digest sha256:HEX)")
}

func (s *searchV1Flags) apply(q *audit.Query) error {
	if s.email != "" {
		if !strings.Contains(s.email, "@") || strings.Contains(s.email, ":") {
			return usage(fmt.Errorf("--email %q is not an email address (--identity takes any SAN)", s.email))
		}
		if q.Subject != "" && q.Subject != s.email {
			return usage(errors.New("--email and --identity name two identities"))
		}
		q.Subject = s.email
	}
	if s.sha256 != "" {
		if q.Digest != "" {
			return usage(errors.New("give one of --digest and --sha256"))
		}
		q.Digest = "sha256:" + strings.TrimPrefix(strings.ToLower(s.sha256), "sha256:")
	}
	return nil
}

// searchV1 is audit search on a Rekor v1 log: its index, every entry it
// returns proven.
func searchV1(cmd *cobra.Command, r *audit.RekorV1, lf *logFlags, q audit.Query) error {
	if cmd.Flags().Changed("from") || cmd.Flags().Changed("to") {
		return usage(errors.New("--from and --to select index ranges of a tile log; a Rekor v1 log is searched through its index"))
	}
	if q == (audit.Query{}) {
		return usage(errors.New("give --identity or --email, and/or --digest or --sha256 (a Rekor v1 log is searched through its index)"))
	}
	res, err := r.Search(cmd.Context(), q)
	if errors.Is(err, audit.ErrQuery) {
		return usage(err)
	}
	if err != nil {
		return auditExit(err)
	}
	return writeSearch(cmd, lf.json, searchJSON{Log: r.URL(), API: "rekor-v1"}, res,
		fmt.Sprintf("log %s (Rekor v1): tree head %s size %d verified; the index's entries proven included; %d match",
			r.URL(), res.Checkpoint.Origin, res.Checkpoint.Size, len(res.Matches)))
}
