package version

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	tests := []struct {
		name    string
		bi      debug.BuildInfo
		want    Info
		str     string
		wantMap map[string]string
	}{
		{
			name: "release install",
			bi:   debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: Module, Version: "v1.2.3"}},
			want: Info{Version: "v1.2.3", GoVersion: "go1.26.8"},
			str:  "mlattest v1.2.3 (go1.26.8)", wantMap: map[string]string{"mlattest": "v1.2.3", "go": "go1.26.8"},
		},
		{
			name: "work tree with changes",
			bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: Module, Version: "(devel)"},
				Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}},
			want:    Info{Version: "(devel)", Commit: "abc123", CommitTime: "2026-12-01T10:00:00Z", Modified: true, GoVersion: "go1.26.8"},
			str:     "mlattest (devel) (commit abc123, modified, go1.26.8)",
			wantMap: map[string]string{"mlattest": "(devel)", "commit": "abc123-modified", "go": "go1.26.8"},
		},
		{
			name: "mlattest as a dependency",
			bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "example.com/tool", Version: "v0.1.0"},
				Deps: []*debug.Module{{Path: "golang.org/x/term", Version: "v0.30.0"}, {Path: Module, Version: "v1.4.0"}}},
			want: Info{Version: "v1.4.0", GoVersion: "go1.26.8"},
			str:  "mlattest v1.4.0 (go1.26.8)", wantMap: map[string]string{"mlattest": "v1.4.0", "go": "go1.26.8"},
		},
		{
			name: "not linked at all",
			bi:   debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "example.com/tool"}},
			want: Info{Version: "(unknown)", GoVersion: "go1.26.8"},
			str:  "mlattest (unknown) (go1.26.8)", wantMap: map[string]string{"mlattest": "(unknown)", "go": "go1.26.8"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := fromBuildInfo(&tc.bi)
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if s := got.String(); s != tc.str {
				t.Errorf("String() = %q, want %q", s, tc.str)
			}
			m := got.Map()
			if len(m) != len(tc.wantMap) {
				t.Fatalf("Map() = %v, want %v", m, tc.wantMap)
			}
			for k, v := range tc.wantMap {
				if m[k] != v {
					t.Errorf("Map()[%q] = %q, want %q", k, m[k], v)
				}
			}
		})
	}
}
