package attest

import (
	"errors"
	"strings"
	"testing"
)

func TestParseInput(t *testing.T) {
	tests := []struct {
		in      string
		want    Input
		wantErr string
	}{
		{in: "hf://org/model@abc=models/base", want: Input{URI: "hf://org/model@abc", Path: "models/base"}},
		{in: "https://example.com/m.bin=/abs/m.bin", want: Input{URI: "https://example.com/m.bin", Path: "/abs/m.bin"}},
		{in: "hf://org/model=a=b", want: Input{URI: "hf://org/model", Path: "a=b"}},
		{in: "models/base", wantErr: "want URI=PATH"},
		{in: "=models/base", wantErr: "empty URI"},
		{in: "hf://org/model=", wantErr: "empty PATH"},
		{in: "org/model=models/base", wantErr: "has no scheme"},
		{in: "hf://org/my model=x", wantErr: "white space"},
		{in: "https://user:tok@host/m=x", wantErr: "user information"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseInput(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseInput(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), tt.in) {
					t.Errorf("error %q should wrap ErrInput and name the value", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseInput(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseDataset(t *testing.T) {
	tests := []struct {
		in      string
		want    DatasetInput
		wantErr string
	}{
		{in: "hf://datasets/o/d@r=data/train.jsonl", want: DatasetInput{Input: Input{"hf://datasets/o/d@r", "data/train.jsonl"}}},
		{
			in:   "hf://datasets/o/d@r=data,collected=2024-05-01,source=web",
			want: DatasetInput{Input: Input{"hf://datasets/o/d@r", "data"}, CollectedAt: "2024-05-01", SourceClass: "web"},
		},
		{
			in:   "s3://b/k=d,source=synthetic,collected=2024-05-01T10:00:00Z",
			want: DatasetInput{Input: Input{"s3://b/k", "d"}, CollectedAt: "2024-05-01T10:00:00Z", SourceClass: "synthetic"},
		},
		{in: "s3://b/k=d,source=scraped", wantErr: `source class "scraped" is not one of`},
		{in: "s3://b/k=d,collected=01/05/2024", wantErr: "not an RFC 3339 date"},
		{in: "s3://b/k=d,collected=2024-13-01", wantErr: "not an RFC 3339 date"},
		{in: "s3://b/k=d,source=web,source=crowd", wantErr: "given twice"},
		{in: "s3://b/k=d,license=mit", wantErr: `unknown option "license"`},
		{in: "s3://b/k=d,web", wantErr: `option "web"`},
		{in: "d,source=web", wantErr: "want URI=PATH"},
		{in: "s3://b/k=,source=web", wantErr: "empty PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDataset(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseDataset(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "dataset \"") || !strings.Contains(err.Error(), tt.in) {
					t.Errorf("error %q should wrap ErrInput and name the flag and value", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseDataset(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseImage(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	tests := []struct {
		in      string
		want    Image
		wantErr string
	}{
		{in: "ghcr.io/org/trainer@sha256:" + hex, want: Image{"ghcr.io/org/trainer", hex}},
		{in: "oci://localhost:5000/t:v1@sha256:" + hex, want: Image{"localhost:5000/t:v1", hex}},
		{in: "ghcr.io/org/trainer:v1", wantErr: "a tag does not pin"},
		{in: "ghcr.io/org/trainer@sha256:" + strings.ToUpper(hex), wantErr: "64 lowercase hex"},
		{in: "ghcr.io/org/trainer@sha256:abc", wantErr: "64 lowercase hex"},
		{in: "ghcr.io/org/trainer@sha512:" + hex, wantErr: "not sha256:"},
		{in: "@sha256:" + hex, wantErr: "not a valid registry"},
		{in: "ghcr.io/org/trai ner@sha256:" + hex, wantErr: "not a valid registry"},
		{in: "a@b@sha256:" + hex, wantErr: "not sha256:"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseImage(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseImage(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "image \"") {
					t.Errorf("error %q should wrap ErrInput and name the flag", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseImage(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if got.URI() != "oci://"+tt.want.Ref {
				t.Errorf("URI() = %q", got.URI())
			}
		})
	}
}

func TestGitURI(t *testing.T) {
	tests := map[string]string{
		"https://github.com/org/repo.git":               "git+https://github.com/org/repo",
		"https://x-access-token:ghs_abc@github.com/o/r": "git+https://github.com/o/r",
		"git@github.com:org/repo.git":                   "git+https://github.com/org/repo",
		"ssh://git@github.com:22/org/repo":              "git+https://github.com/org/repo",
		"https://gitlab.example.com:8443/g/s/p.git":     "git+https://gitlab.example.com:8443/g/s/p",
		"/srv/git/repo.git":                             "",
		"file:///srv/git/repo.git":                      "",
		"../other":                                      "",
		"":                                              "",
	}
	for in, want := range tests {
		if got := gitURI(in); got != want {
			t.Errorf("gitURI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEnvironmentExcludesSecrets(t *testing.T) {
	env := map[string]string{
		"CI": "true", "GITHUB_RUN_ID": "42", "GITHUB_REPOSITORY": "o/r", "RUNNER_OS": "Linux",
		"GITHUB_TOKEN": "ghs_secret", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "secret", "AWS_SECRET_ACCESS_KEY": "secret",
		"HOME": "/home/me", "PATH": "/bin", "MY_VAR": "x", "API_KEY": "secret", "DB_PASSWORD": "secret",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	got := environment(lookup, []string{"MY_VAR"})
	for _, k := range []string{"CI", "GITHUB_RUN_ID", "GITHUB_REPOSITORY", "RUNNER_OS", "MY_VAR", EnvKeyOS, EnvKeyArch} {
		if _, ok := got[k]; !ok {
			t.Errorf("environment lacks %s: %v", k, got)
		}
	}
	for k, v := range got {
		if v == "secret" || v == "ghs_secret" || k == "HOME" || k == "PATH" {
			t.Errorf("environment records %s=%s", k, v)
		}
	}
	// Asking for a secret explicitly is refused, not silently dropped.
	for _, name := range []string{"GITHUB_TOKEN", "API_KEY", "db_password", "MY_SECRET", "HF_TOKEN"} {
		if _, err := newConfig([]RunOption{WithExtraEnv(name)}); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), name) {
			t.Errorf("WithExtraEnv(%s): err = %v, want ErrInput naming it", name, err)
		}
	}
	// Even a lookup that bypasses WithExtraEnv never records one.
	if got := environment(lookup, []string{"API_KEY"}); got["API_KEY"] != "" {
		t.Errorf("environment recorded API_KEY")
	}
}

func TestResolveRunIDAndBuilder(t *testing.T) {
	gh := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "123", "GITHUB_RUN_ATTEMPT": "2",
		"GITHUB_REPOSITORY": "org/repo", "GITHUB_WORKFLOW_REF": "org/repo/.github/workflows/train.yml@refs/heads/main",
	}
	tests := []struct {
		name, explicit string
		env            map[string]string
		want           string
		builder, invoc string
	}{
		{name: "explicit", explicit: "run-7", env: gh, want: "run-7",
			builder: "https://github.com/org/repo/.github/workflows/train.yml@refs/heads/main",
			invoc:   "https://github.com/org/repo/actions/runs/123/attempts/2"},
		{name: "env", env: map[string]string{"MLATTEST_RUN_ID": "pipeline-9"}, want: "pipeline-9", builder: LocalBuilderID},
		{name: "github", env: gh, want: "org/repo/123-2",
			builder: "https://github.com/org/repo/.github/workflows/train.yml@refs/heads/main",
			invoc:   "https://github.com/org/repo/actions/runs/123/attempts/2"},
		{name: "local", env: map[string]string{"GITHUB_RUN_ID": "1"}, builder: LocalBuilderID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			id, err := ResolveRunID(tt.explicit, lookup)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != "" && id != tt.want {
				t.Errorf("run id = %q, want %q", id, tt.want)
			}
			if tt.want == "" {
				id2, _ := ResolveRunID("", lookup)
				if len(id) != 32 || id == id2 {
					t.Errorf("random run ids %q, %q: want 32 hex digits, distinct", id, id2)
				}
			}
			b, inv := builder(lookup)
			if b != tt.builder || inv != tt.invoc {
				t.Errorf("builder = %q, %q; want %q, %q", b, inv, tt.builder, tt.invoc)
			}
		})
	}
	if _, err := ResolveRunID("bad id\n", func(string) (string, bool) { return "", false }); !errors.Is(err, ErrInput) {
		t.Errorf("bad run id: err = %v", err)
	}
}
