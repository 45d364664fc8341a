package attest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/mlattest/mlattest/predicates"
)

var commitRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// errNotGit says the directory is not in a git work tree (or git is missing).
var errNotGit = errors.New("not a git work tree")

// gitFacts reads the training script's repository state with the git
// binary: HEAD commit, whether the work tree is dirty (uncommitted or
// untracked changes), and the origin remote as a git+https URI.
func gitFacts(ctx context.Context, gitBin, dir string) (*predicates.GitSource, error) {
	run := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, gitBin, append([]string{"-C", dir}, args...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
		}
		return out.String(), nil
	}
	out, err := run("rev-parse", "--is-inside-work-tree")
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return nil, fmt.Errorf("%w (%s not found)", errNotGit, gitBin)
	case err != nil && strings.Contains(err.Error(), "not a git repository"):
		return nil, errNotGit
	case err != nil:
		// E.g. "detected dubious ownership": a repository git refuses to read.
		return nil, err
	case strings.TrimSpace(out) != "true":
		return nil, errNotGit // inside a .git directory or a bare repository
	}
	head, err := run("rev-parse", "--verify", "HEAD^{commit}")
	if err != nil {
		// A repository without commits has no script version to record.
		return nil, fmt.Errorf("reading HEAD in %s: %w", dir, err)
	}
	head = strings.TrimSpace(head)
	if !commitRE.MatchString(head) {
		return nil, fmt.Errorf("git HEAD in %s is %q, not a commit id", dir, head)
	}
	status, err := run("status", "--porcelain", "--untracked-files=normal")
	if err != nil {
		return nil, err
	}
	uri := ""
	if remote, err := run("config", "--get", "remote.origin.url"); err == nil {
		uri = gitURI(strings.TrimSpace(remote))
	}
	if uri == "" {
		top, err := run("rev-parse", "--show-toplevel")
		if err != nil {
			return nil, err
		}
		uri = "git+file://" + filepath.ToSlash(strings.TrimSpace(top))
	}
	return &predicates.GitSource{URI: uri, Commit: head, Dirty: strings.TrimSpace(status) != ""}, nil
}

var scpLikeRE = regexp.MustCompile(`^(?:[^@/]+@)?([^:/]+):(.+)$`)

// gitURI turns a remote URL into a git+https URI without credentials or a
// trailing ".git": https://tok@github.com/o/r.git, git@github.com:o/r.git
// and ssh://git@github.com/o/r all become git+https://github.com/o/r.
// Local paths and unknown schemes give "".
func gitURI(remote string) string {
	if remote == "" {
		return ""
	}
	var host, path string
	if u, err := url.Parse(remote); err == nil && u.Scheme != "" && u.Host != "" {
		switch u.Scheme {
		case "https", "http", "ssh", "git", "git+ssh", "ssh+git":
		default:
			return ""
		}
		host, path = u.Hostname(), u.Path
		if u.Scheme == "http" || u.Scheme == "https" {
			host = u.Host // keep an explicit web port; user info is dropped
		}
	} else if strings.Contains(remote, "://") {
		return "" // a URL with a scheme we do not map (file://, ...)
	} else if m := scpLikeRE.FindStringSubmatch(remote); m != nil && !strings.Contains(m[1], `\`) && len(m[1]) > 1 {
		host, path = m[1], m[2]
	} else {
		return ""
	}
	path = strings.TrimSuffix(strings.Trim(path, "/"), ".git")
	if host == "" || path == "" {
		return ""
	}
	return "git+https://" + host + "/" + path
}
