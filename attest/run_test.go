package attest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/predicates"
)

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name         string
		args         []string
		wantCode     int
		wantProducts []string // product names recorded
		wantWarning  string
	}{
		{name: "success", args: []string{"touch", "out.txt"}, wantCode: 0, wantProducts: []string{"out.txt"}},
		{name: "exit 3 with product", args: []string{"touch", "out.txt", "3"}, wantCode: 3, wantProducts: []string{"out.txt"}},
		{name: "exit 3 without product", args: []string{"exit", "3"}, wantCode: 3, wantWarning: "out.txt does not exist after the command failed (exit 3)"},
		{name: "killed by SIGKILL", args: []string{"kill-self"}, wantCode: 128 + 9, wantWarning: "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "in.txt", "input\n")
			var cap captured
			s := &Step{Name: "train", RunID: "run-1", Dir: dir, Materials: []string{"in.txt"}, Products: []string{"out.txt"}, Command: helperCmd(t, tt.args...)}
			rec, err := Run(context.Background(), s, testOpts(t, &cap)...)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if rec.ExitCode != tt.wantCode {
				t.Errorf("ExitCode = %d, want %d", rec.ExitCode, tt.wantCode)
			}
			var names []string
			for _, p := range rec.Products {
				names = append(names, p.Name)
			}
			if !slices.Equal(names, tt.wantProducts) {
				t.Errorf("products = %v, want %v", names, tt.wantProducts)
			}
			if tt.wantWarning != "" && !strings.Contains(strings.Join(rec.Warnings, "\n"), tt.wantWarning) {
				t.Errorf("warnings %q lack %q", rec.Warnings, tt.wantWarning)
			}
			if len(rec.Statements) != 1 || rec.Statements[0].Kind != KindLink || len(rec.Statements[0].JSON) == 0 {
				t.Fatalf("statements = %+v, want one rendered link", rec.Statements)
			}
			checkStatements(t, rec)
			link := rec.Statements[0].Statement
			// The failure is recorded, never a success.
			if got := byproduct(t, link, predicates.ByproductExitCode); got != float64(tt.wantCode) {
				t.Errorf("link byproducts return-value = %v, want %d", got, tt.wantCode)
			}
			if got := byproduct(t, link, predicates.ByproductRunID); got != "run-1" {
				t.Errorf("link run id = %v", got)
			}
			if cap.link.ExitCode != tt.wantCode || cap.link.Step != "train" || !slices.Equal(cap.link.Command, s.Command) {
				t.Errorf("link input = %+v", cap.link)
			}
			// Without products, the subject is what the step acted on.
			wantSubject := "out.txt"
			if len(tt.wantProducts) == 0 {
				wantSubject = "in.txt"
			}
			if subj := link.GetSubject(); len(subj) != 1 || subj[0].GetName() != wantSubject || subj[0].GetDigest()["sha256"] == "" {
				t.Errorf("subjects = %v, want %s", subj, wantSubject)
			}
			if !rec.FinishedOn.After(rec.StartedOn) || rec.StartedOn.Location() != time.UTC {
				t.Errorf("times %v .. %v", rec.StartedOn, rec.FinishedOn)
			}
		})
	}
}

func TestRunStdio(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.txt", "x")
	tests := []struct {
		name                 string
		args                 []string
		stdin                string
		wantStdout, wantErrs string
	}{
		{name: "stdout and stderr", args: []string{"echo", "hello"}, wantStdout: "hello", wantErrs: "err:hello"},
		{name: "stdin", args: []string{"cat"}, stdin: "line 1\nline 2\n", wantStdout: "line 1\nline 2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errw bytes.Buffer
			s := &Step{Name: "s", RunID: "r", Dir: dir, Materials: []string{"in.txt"}, Command: helperCmd(t, tt.args...)}
			rec, err := Run(context.Background(), s, testOpts(t, nil, WithStdio(strings.NewReader(tt.stdin), &out, &errw))...)
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.wantStdout || errw.String() != tt.wantErrs {
				t.Errorf("stdout %q stderr %q, want %q %q", out.String(), errw.String(), tt.wantStdout, tt.wantErrs)
			}
			if rec.Stdout != "sha256:"+sha(tt.wantStdout) || rec.Stderr != "sha256:"+sha(tt.wantErrs) {
				t.Errorf("digests %s %s", rec.Stdout, rec.Stderr)
			}
			link := rec.Statements[0].Statement
			if byproduct(t, link, predicates.ByproductStdout) != rec.Stdout || byproduct(t, link, predicates.ByproductStderr) != rec.Stderr {
				t.Errorf("link byproducts lack stream digests: %v", link.GetPredicate())
			}
		})
	}
}

func TestRunLingeringProcess(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.txt", "x")
	s := &Step{Name: "s", RunID: "r", Dir: dir, Materials: []string{"in.txt"}, Command: helperCmd(t, "linger")}
	start := time.Now()
	rec, err := Run(context.Background(), s, testOpts(t, nil)...)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 2500*time.Millisecond {
		t.Errorf("Run waited %v for a background process", time.Since(start))
	}
	if rec.ExitCode != 0 || !strings.Contains(strings.Join(rec.Warnings, "\n"), "kept its output open") {
		t.Errorf("exit %d, warnings %q", rec.ExitCode, rec.Warnings)
	}
}

func TestRunForwardsSignals(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.txt", "x")
	ready := filepath.Join(dir, "ready")
	s := &Step{Name: "s", RunID: "r", Dir: dir, Materials: []string{"in.txt"}, Command: helperCmd(t, "wait-signal", ready)}
	type result struct {
		rec *Record
		err error
	}
	done := make(chan result, 1)
	go func() {
		rec, err := Run(context.Background(), s, testOpts(t, nil)...)
		done <- result{rec, err}
	}()
	// Run subscribes to SIGTERM before starting the child, so once the child
	// is ready the signal goes to Run, not to the test's default handler.
	deadline := time.Now().Add(15 * time.Second)
	for !exists(ready) {
		if time.Now().After(deadline) {
			t.Fatal("helper never became ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.rec.ExitCode != 42 {
		t.Errorf("ExitCode = %d, want 42 (the child's SIGTERM handler)", r.rec.ExitCode)
	}
}

func TestRunInputErrorsBeforeCommand(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, outside, "secret.txt", "outside")
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		step    func(s *Step)
		opts    []RunOption
		wantErr string
	}{
		{name: "missing material", step: func(s *Step) { s.Materials = []string{"nope.txt"} }, wantErr: `material "nope.txt"`},
		{name: "material outside dir", step: func(s *Step) { s.Materials = []string{filepath.Join(outside, "secret.txt")} }, wantErr: "outside the working directory"},
		{name: "material dot-dot", step: func(s *Step) { s.Materials = []string{"../x"} }, wantErr: "outside the working directory"},
		{name: "product outside dir", step: func(s *Step) { s.Products = []string{"../out"} }, wantErr: `product "../out"`},
		{
			name: "unreadable material",
			setup: func(t *testing.T, dir string) {
				if os.Geteuid() == 0 {
					t.Skip("root reads everything")
				}
				p := writeFile(t, dir, "locked.txt", "x")
				if err := os.Chmod(p, 0); err != nil {
					t.Fatal(err)
				}
			},
			step:    func(s *Step) { s.Materials = []string{"locked.txt"} },
			wantErr: "permission denied",
		},
		{
			name: "symlink escaping the root",
			setup: func(t *testing.T, dir string) {
				if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(dir, "data", "link")); err != nil {
					t.Fatal(err)
				}
			},
			step: func(s *Step) {
				s.Materials = []string{"data"}
				s.DigestOptions = []digest.Option{digest.WithSymlinks(digest.SymlinksFollowInside)}
			},
			wantErr: "digesting materials: digest \"data/link\": symbolic link",
		},
		{
			name: "FIFO material",
			setup: func(t *testing.T, dir string) {
				if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
					t.Skip(err)
				}
			},
			step:    func(s *Step) { s.Materials = []string{"pipe"} },
			wantErr: "not a regular file or directory",
		},
		{name: "bad step name", step: func(s *Step) { s.Name = "../evil" }, wantErr: `step name "../evil"`},
		{name: "bad run id", step: func(s *Step) { s.RunID = "a b" }, wantErr: `run id "a b"`},
		{name: "no subject possible", step: func(s *Step) { s.Materials, s.Products = nil, nil }, wantErr: "neither materials nor products"},
		{name: "materials hold no file and no products", setup: func(t *testing.T, dir string) {
			if err := os.MkdirAll(filepath.Join(dir, "empty", ".git"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, dir, "empty/.git/HEAD", "ignored by default")
		}, step: func(s *Step) { s.Materials, s.Products = []string{"empty"}, nil },
			wantErr: `step "s": its materials (empty) hold no file to digest and it names no products`},
		{name: "command not found", step: func(s *Step) { s.Command = []string{"mlattest-no-such-command-xyz"} }, wantErr: `command "mlattest-no-such-command-xyz"`},
		{name: "relative command missing", step: func(s *Step) { s.Command = []string{"./train.sh"} }, wantErr: `command "./train.sh"`},
		{name: "no command", step: func(s *Step) { s.Command = nil }, wantErr: "no command"},
		{name: "missing base model", step: func(s *Step) {
			s.BaseModels = []Input{{URI: "hf://o/m@0123456789abcdef0123456789abcdef01234567", Path: "models/none"}}
		}, wantErr: `base model "hf://o/m@0123456789abcdef0123456789abcdef01234567"`},
		{name: "bad dataset class", step: func(s *Step) {
			s.Datasets = []DatasetInput{{Input: Input{URI: "hf://d", Path: "in.txt"}, SourceClass: "stolen"}}
		}, wantErr: `dataset "hf://d": source class "stolen"`},
		{name: "bad dataset date", step: func(s *Step) {
			s.Datasets = []DatasetInput{{Input: Input{URI: "hf://d", Path: "in.txt"}, CollectedAt: "yesterday"}}
		}, wantErr: `collected date "yesterday"`},
		{name: "bad image", step: func(s *Step) { s.Image = "ghcr.io/o/i:latest" }, wantErr: `image "ghcr.io/o/i:latest"`},
		{name: "missing config", step: func(s *Step) { s.Config = "cfg.yaml" }, wantErr: "config"},
		{name: "config is a directory", setup: func(t *testing.T, dir string) {
			if err := os.Mkdir(filepath.Join(dir, "cfg"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, step: func(s *Step) { s.Config = "cfg" }, wantErr: "not a regular file"},
		{name: "secret env requested", opts: []RunOption{WithExtraEnv("HF_TOKEN")}, wantErr: "HF_TOKEN may hold a secret"},
		{name: "clean git required outside a repo", opts: []RunOption{RequireCleanGit()}, wantErr: "clean git tree is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "in.txt", "input")
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			marker := filepath.Join(dir, "marker")
			s := &Step{Name: "s", RunID: "r", Dir: dir, Materials: []string{"in.txt"}, Products: []string{"marker"}, Command: helperCmd(t, "touch", marker)}
			if tt.step != nil {
				tt.step(s)
			}
			rec, err := Run(context.Background(), s, testOpts(t, nil, tt.opts...)...)
			if err == nil || !errors.Is(err, ErrInput) || errors.Is(err, ErrRecord) {
				t.Fatalf("Run error = %v, want ErrInput", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if rec != nil {
				t.Errorf("Record = %+v, want nil", rec)
			}
			if exists(marker) {
				t.Error("the command ran despite the input error")
			}
		})
	}
}

func TestRunMissingProductAfterSuccess(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.txt", "x")
	s := &Step{Name: "s", RunID: "r", Dir: dir, Materials: []string{"in.txt"}, Products: []string{"model.bin"}, Command: helperCmd(t, "exit", "0")}
	rec, err := Run(context.Background(), s, testOpts(t, nil)...)
	if !errors.Is(err, ErrRecord) || errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "model.bin") {
		t.Fatalf("err = %v, want ErrRecord naming model.bin", err)
	}
	if rec == nil || rec.ExitCode != 0 || len(rec.Statements) != 0 {
		t.Errorf("record = %+v, want exit code and no statements", rec)
	}
}

// gitRepo makes dir a git repository with one commit of its current files.
func gitRepo(t *testing.T, dir string, origin string) {
	t.Helper()
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "."},
		{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "init"},
	} {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if origin != "" {
		if out, err := exec.Command("git", "-C", dir, "remote", "add", "origin", origin).CombinedOutput(); err != nil {
			t.Fatalf("git remote: %v\n%s", err, out)
		}
	}
}

func TestRunTraining(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	models := t.TempDir() // base model outside the work tree
	writeFile(t, models, "config.json", `{"a":1}`)
	writeFile(t, models, "weights/model.safetensors", "weights")
	tests := []struct {
		name      string
		dirty     bool
		opts      []RunOption
		env       map[string]string
		wantErr   bool
		wantBuild string
		wantInvoc string
	}{
		{name: "clean tree, local", wantBuild: LocalBuilderID},
		{name: "dirty tree recorded", dirty: true, wantBuild: LocalBuilderID},
		{name: "dirty tree refused", dirty: true, opts: []RunOption{RequireCleanGit()}, wantErr: true},
		{name: "clean tree required and clean", opts: []RunOption{RequireCleanGit()}, wantBuild: LocalBuilderID},
		{name: "github actions", env: map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "77", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_REPOSITORY": "o/r",
			"GITHUB_WORKFLOW_REF": "o/r/.github/workflows/train.yml@refs/heads/main", "GITHUB_TOKEN": "ghs_secret",
		}, wantBuild: "https://github.com/o/r/.github/workflows/train.yml@refs/heads/main", wantInvoc: "https://github.com/o/r/actions/runs/77/attempts/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "train.py", "print('train')\n")
			writeFile(t, dir, "cfg.yaml", "lr: 0.1\n")
			writeFile(t, dir, "data/train.jsonl", "{}\n")
			writeFile(t, dir, ".gitignore", "out/\n")
			gitRepo(t, dir, "https://x-access-token:ghs_abc@github.com/o/r.git")
			if tt.dirty {
				writeFile(t, dir, "train.py", "print('changed')\n")
			}
			marker := filepath.Join(dir, "out", "model.bin")
			if err := os.MkdirAll(filepath.Dir(marker), 0o755); err != nil {
				t.Fatal(err)
			}
			var cap captured
			s := &Step{
				Name: "train", Dir: dir,
				Materials:       []string{"train.py"},
				Products:        []string{"out"},
				BaseModels:      []Input{{URI: "hf://org/base@0123456789abcdef0123456789abcdef01234567", Path: models}},
				Datasets:        []DatasetInput{{Input: Input{URI: "hf://datasets/org/d@r2", Path: "data/train.jsonl"}, CollectedAt: "2024-05-01", SourceClass: "curated"}},
				Config:          "cfg.yaml",
				Image:           "ghcr.io/o/trainer@sha256:" + strings.Repeat("0f", 32),
				Hyperparameters: map[string]any{"lr": 0.1},
				Command:         helperCmd(t, "touch", marker),
			}
			env := tt.env
			opts := testOpts(t, &cap, append(tt.opts, WithLookupEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }))...)
			rec, err := Run(context.Background(), s, opts...)
			if tt.wantErr {
				if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "uncommitted changes") {
					t.Fatalf("err = %v, want dirty-tree ErrInput", err)
				}
				if exists(marker) {
					t.Error("the command ran despite a dirty tree")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.Statements) != 2 || rec.Statements[1].Kind != KindProvenance || rec.Statements[1].PredicateType != predicates.ProvenanceV1 {
				t.Fatalf("statements = %+v", rec.Statements)
			}
			checkStatements(t, rec)
			in := cap.training
			if in.Script == nil || len(in.Script.Commit) != 40 || in.Script.URI != "git+https://github.com/o/r" || in.Script.Dirty != tt.dirty {
				t.Errorf("script = %+v (dirty %v)", in.Script, tt.dirty)
			}
			if dirtyWarned := strings.Contains(strings.Join(rec.Warnings, "\n"), "uncommitted"); dirtyWarned != tt.dirty {
				t.Errorf("warnings = %q", rec.Warnings)
			}
			wantModel := []predicates.Resource{
				{URI: "hf://org/base@0123456789abcdef0123456789abcdef01234567/config.json", SHA256: sha(`{"a":1}`)},
				{URI: "hf://org/base@0123456789abcdef0123456789abcdef01234567/weights/model.safetensors", SHA256: sha("weights")},
			}
			if !slices.Equal(in.BaseModel, wantModel) {
				t.Errorf("base model = %+v", in.BaseModel)
			}
			wantData := []predicates.Dataset{{Resource: predicates.Resource{URI: "hf://datasets/org/d@r2", SHA256: sha("{}\n")}, CollectedAt: "2024-05-01", SourceClass: "curated"}}
			if !slices.Equal(in.Datasets, wantData) {
				t.Errorf("datasets = %+v", in.Datasets)
			}
			if in.Config == nil || *in.Config != (predicates.Resource{URI: "cfg.yaml", SHA256: sha("lr: 0.1\n")}) {
				t.Errorf("config = %+v", in.Config)
			}
			if in.Image == nil || *in.Image != (predicates.Resource{URI: "oci://ghcr.io/o/trainer", SHA256: strings.Repeat("0f", 32)}) {
				t.Errorf("image = %+v", in.Image)
			}
			if in.BuilderID != tt.wantBuild || in.InvocationURI != tt.wantInvoc {
				t.Errorf("builder %q invocation %q", in.BuilderID, in.InvocationURI)
			}
			if in.RunID != rec.RunID || cap.link.RunID != rec.RunID || (tt.env != nil && rec.RunID != "o/r/77-1") {
				t.Errorf("run ids: record %q training %q link %q", rec.RunID, in.RunID, cap.link.RunID)
			}
			if len(in.Subjects) != 1 || in.Subjects[0].Name != "out/model.bin" || in.StartedOn.IsZero() || !in.FinishedOn.After(in.StartedOn) {
				t.Errorf("subjects %+v times %v %v", in.Subjects, in.StartedOn, in.FinishedOn)
			}
			if in.Hyperparameters["lr"] != 0.1 || !slices.Equal(in.EntryPoint, s.Command) {
				t.Errorf("hyperparameters %v entry point %v", in.Hyperparameters, in.EntryPoint)
			}
			for k, v := range rec.Environment {
				if strings.Contains(v, "ghs_") || strings.Contains(k, "TOKEN") {
					t.Errorf("environment records %s", k)
				}
			}
			if tt.env != nil && rec.Environment["GITHUB_RUN_ID"] != "77" {
				t.Errorf("environment = %v", rec.Environment)
			}
		})
	}
}

func TestAttest(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.txt", "input")
	writeFile(t, dir, "out/model.bin", "model")
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name     string
		step     Step
		exit     int
		opts     []RunOption
		wantErr  string
		wantKind []string
	}{
		{name: "link only", step: Step{Materials: []string{"in.txt"}, Products: []string{"out"}, Command: []string{"python", "clean.py"}}, wantKind: []string{KindLink}},
		{name: "failure recorded, product missing", step: Step{Materials: []string{"in.txt"}, Products: []string{"absent"}}, exit: 2, wantKind: []string{KindLink}},
		{name: "training needs times", step: Step{Products: []string{"out"}, Config: "in.txt", Command: []string{"python"}}, wantErr: "needs the times"},
		{name: "times reversed", step: Step{Products: []string{"out"}}, opts: []RunOption{WithTimes(start, start.Add(-time.Hour))}, wantErr: "before start time"},
		{name: "training needs command", step: Step{Products: []string{"out"}, Config: "in.txt"}, opts: []RunOption{WithTimes(start, start.Add(time.Hour))}, wantErr: "needs the command"},
		{name: "training", step: Step{Products: []string{"out"}, Config: "in.txt", Command: []string{"python", "train.py"}}, opts: []RunOption{WithTimes(start, start.Add(time.Hour))}, wantKind: []string{KindLink, KindProvenance}},
		{name: "missing material", step: Step{Materials: []string{"gone"}, Products: []string{"out"}}, wantErr: `material "gone"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.step
			s.Name, s.RunID, s.Dir = "package", "run-2", dir
			var cap captured
			rec, err := Attest(context.Background(), &s, tt.exit, testOpts(t, &cap, tt.opts...)...)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrInput containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkStatements(t, rec)
			var kinds []string
			for _, st := range rec.Statements {
				kinds = append(kinds, st.Kind)
			}
			if !slices.Equal(kinds, tt.wantKind) {
				t.Errorf("kinds = %v, want %v", kinds, tt.wantKind)
			}
			if rec.ExitCode != tt.exit || byproduct(t, rec.Statements[0].Statement, predicates.ByproductExitCode) != float64(tt.exit) {
				t.Errorf("exit code not recorded: %d", rec.ExitCode)
			}
			if rec.Stdout != "" || cap.link.Stdout != "" {
				t.Errorf("Attest recorded a stdout digest")
			}
			if cap.training != nil && (!cap.training.StartedOn.Equal(start) || cap.training.StartedOn.Location() != time.UTC) {
				t.Errorf("started = %v", cap.training.StartedOn)
			}
		})
	}
}

// WithOnExit hears the command's status before the recording starts, with
// the times the record then carries.
func TestRunOnExit(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.txt", "input")
	var got []Exit
	s := &Step{Name: "s", RunID: "r", Dir: dir, Materials: []string{"in.txt"}, Command: helperCmd(t, "exit", "3")}
	rec, err := Run(context.Background(), s, testOpts(t, nil, WithOnExit(func(e Exit) { got = append(got, e) }))...)
	if err != nil {
		t.Fatal(err)
	}
	want := Exit{Code: 3, Started: rec.StartedOn, Finished: rec.FinishedOn}
	if len(got) != 1 || got[0] != want || want.Started.IsZero() {
		t.Fatalf("onExit saw %+v, want once %+v", got, want)
	}
}
