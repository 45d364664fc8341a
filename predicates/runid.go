package predicates

import (
	"net/url"
	"strings"
)

// RunIDFromInvocationURI derives the run id a pipeline run is bound to from
// the CI run invocation URI that Fulcio puts in the signing certificate
// (extension 1.3.6.1.4.1.57264.1.21).
//
// For a GitHub Actions run attempt,
// https://HOST/OWNER/REPO/actions/runs/ID/attempts/N, it returns
// "OWNER/REPO/ID-N": exactly the id `mlattest run` derives in GitHub Actions
// (attest.ResolveRunID), so a statement's self-asserted run id can be checked
// against the CI-issued one. Any other URI is returned unchanged (the URI
// itself is then the run id).
func RunIDFromInvocationURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return uri
	}
	parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	// OWNER REPO actions runs ID attempts N
	if len(parts) != 7 || parts[2] != "actions" || parts[3] != "runs" || parts[5] != "attempts" {
		return uri
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return uri
		}
	}
	if !allDigits(parts[4]) || !allDigits(parts[6]) {
		return uri
	}
	return parts[0] + "/" + parts[1] + "/" + parts[4] + "-" + parts[6]
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
