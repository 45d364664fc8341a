package digest

import (
	"fmt"
	"path"
	"strings"
)

// ignorePattern is one compiled ignore pattern; see the package doc.
type ignorePattern struct {
	glob    string // path.Match pattern, without the trailing or leading "/"
	dirOnly bool   // pattern ended in "/"
	full    bool   // pattern contained "/": match the full relative name
	// anyDepth: the pattern started with "**/": match the name's last
	// components, as many as the glob has, at any depth.
	anyDepth bool
}

type ignoreList []ignorePattern

func compileIgnore(patterns []string) (ignoreList, error) {
	var l ignoreList
	for _, p := range patterns {
		ip, err := parseIgnore(p)
		if err != nil {
			return nil, err
		}
		l = append(l, ip)
	}
	return l, nil
}

func parseIgnore(p string) (ignorePattern, error) {
	var ip ignorePattern
	g := p
	if strings.HasSuffix(g, "/") {
		ip.dirOnly = true
		g = strings.TrimSuffix(g, "/")
	}
	if rest, ok := strings.CutPrefix(g, "**/"); ok {
		ip.anyDepth, g = true, rest
	}
	ip.full = strings.Contains(g, "/") && !ip.anyDepth
	g = strings.TrimPrefix(g, "/")
	if g == "" || strings.HasSuffix(g, "/") || strings.HasPrefix(g, "/") {
		return ip, fmt.Errorf("digest: ignore pattern %q: empty name", p)
	}
	// path.Match reports a malformed pattern whatever the name.
	if _, err := path.Match(g, ""); err != nil {
		return ip, fmt.Errorf("digest: ignore pattern %q: %w", p, err)
	}
	ip.glob = g
	return ip, nil
}

// match reports whether the entry with slash-separated relative name rel is
// ignored by the pattern.
func (ip ignorePattern) match(rel string, isDir bool) bool {
	if ip.dirOnly && !isDir {
		return false
	}
	subject := rel
	switch {
	case ip.anyDepth && !strings.Contains(ip.glob, "/"):
		// One component at any depth is a base-name pattern.
		subject = path.Base(rel)
	case ip.anyDepth:
		n := strings.Count(ip.glob, "/") + 1
		parts := strings.Split(strings.TrimRight(rel, "/"), "/")
		if len(parts) < n {
			return false
		}
		subject = strings.Join(parts[len(parts)-n:], "/")
	case !ip.full:
		subject = path.Base(rel)
	}
	ok, _ := path.Match(ip.glob, subject) // validated in parseIgnore
	return ok
}

func (l ignoreList) match(rel string, isDir bool) bool {
	for _, ip := range l {
		if ip.match(rel, isDir) {
			return true
		}
	}
	return false
}
