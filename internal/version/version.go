// Package version says which mlattest built a statement or ran a command:
// the module version, the commit and the Go version, from the binary's
// build information (runtime/debug.ReadBuildInfo).
package version

import (
	"runtime/debug"
	"strings"
)

// Module is mlattest's module path.
const Module = "github.com/mlattest/mlattest"

// Info is the build of the mlattest module in the running binary.
type Info struct {
	// Version is the module version: a release tag (v1.2.3), a
	// pseudo-version, or "(devel)" for a build from a work tree.
	Version string `json:"version"`
	// Commit is the VCS revision the binary was built from and CommitTime
	// its time (RFC 3339); empty when the build did not record them
	// (go install of a module version, go test, -buildvcs=false).
	Commit     string `json:"commit,omitempty"`
	CommitTime string `json:"commitTime,omitempty"`
	// Modified says the work tree had uncommitted changes.
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"goVersion"`
}

// Get reads the build information. When mlattest is a dependency of the
// running program, Version is the dependency's (and no commit is known).
func Get() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "(unknown)", GoVersion: "(unknown)"}
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: "(unknown)", GoVersion: bi.GoVersion}
	if bi.Main.Path == Module {
		info.Version = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Commit = s.Value
			case "vcs.time":
				info.CommitTime = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	} else {
		for _, d := range bi.Deps {
			if d.Path == Module {
				info.Version = d.Version
				if d.Replace != nil && d.Replace.Version != "" {
					info.Version = d.Replace.Version
				}
			}
		}
	}
	if info.Version == "" {
		info.Version = "(devel)"
	}
	return info
}

// String is one line: "mlattest VERSION (commit C[, modified], GO)".
func (i Info) String() string {
	var b strings.Builder
	b.WriteString("mlattest " + i.Version + " (")
	if i.Commit != "" {
		b.WriteString("commit " + i.Commit)
		if i.Modified {
			b.WriteString(", modified")
		}
		b.WriteString(", ")
	}
	b.WriteString(i.GoVersion + ")")
	return b.String()
}

// Map is the version as a SLSA builder.version / verifier.version map
// (component → version): "mlattest", "go", and "commit" (with "-modified"
// appended for a changed work tree) when known.
func (i Info) Map() map[string]string {
	m := map[string]string{"mlattest": i.Version, "go": i.GoVersion}
	if i.Commit != "" {
		m["commit"] = i.Commit
		if i.Modified {
			m["commit"] += "-modified"
		}
	}
	return m
}
