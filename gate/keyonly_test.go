package gate

// The air-gapped release gate: a layout whose owner and functionaries are
// keys, signed offline (no log, no timestamp), verified with and without a
// trusted root, with and without requireTransparencyLog.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/sign"
	"github.com/mlattest/mlattest/verify"
)

// keyRun is an offline two-step run (prep -> train) on disk.
type keyRun struct {
	dir, layout, att, model string
	owner, ci, other        *ecdsa.PrivateKey
}

// setLayout writes layout y and its bundle, signed by the owner.
func (r *keyRun) setLayout(t *testing.T, y string) {
	t.Helper()
	r.layout = writeFile(t, r.dir, "layout.yaml", []byte(y))
	writeFile(t, r.dir, "layout.yaml.sigstore.json", offlineBundle(t, r.owner, nil, []byte(y)))
}

// makeDirs creates the run's empty attestation and model directories.
func (r *keyRun) makeDirs(t *testing.T) {
	t.Helper()
	r.att, r.model = filepath.Join(r.dir, "att"), filepath.Join(r.dir, "model")
	for _, d := range []string{r.att, r.model} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

var (
	koData  = []byte("training data\n")
	koModel = []byte("weights\n")
)

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pemIndented(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	p := strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	return "      " + strings.ReplaceAll(p, "\n", "\n      ")
}

// offlineBundle signs a statement (or, for a layout, the blob) offline with k.
func offlineBundle(t *testing.T, k crypto.Signer, st *intoto.Statement, blob []byte) []byte {
	t.Helper()
	sg, err := sign.New(sign.WithKey(k), sign.WithOffline())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "b.sigstore.json")
	if st != nil {
		payload, err := predicates.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		pb, err := sg.SignStatement(ctx, payload)
		if err != nil {
			t.Fatal(err)
		}
		err = sign.WriteBundle(path, pb)
		if err != nil {
			t.Fatal(err)
		}
	} else {
		pb, err := sg.SignBlob(ctx, blob)
		if err != nil {
			t.Fatal(err)
		}
		if err := sign.WriteBundle(path, pb); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// extra is added to the layout's top level (e.g. requireTransparencyLog);
// keyless adds a keyless functionary.
func newKeyRun(t *testing.T, extra string, keyless bool) *keyRun {
	t.Helper()
	r := &keyRun{dir: t.TempDir(), owner: newKey(t), ci: newKey(t), other: newKey(t)}
	y := "serial: 1\nexpires: \"2099-01-01T00:00:00Z\"\nfunctionaries:\n  ci:\n    key: |\n" + pemIndented(t, r.ci.Public()) + "\n"
	if keyless {
		y += "  release:\n    keyless:\n      issuer: https://issuer.example\n      subject: release@example.com\n"
	}
	y += `steps:
  - name: prep
    functionaries: [ci]
    expectedMaterials: [DISALLOW *]
    expectedProducts: [CREATE data.txt, DISALLOW *]
  - name: train
    functionaries: [ci]
    expectedMaterials: [MATCH data.txt WITH PRODUCTS FROM prep, DISALLOW *]
    expectedProducts: [CREATE model/m.bin, DISALLOW *]
subject:
  step: train
  patterns: ["model/*"]
` + extra
	r.setLayout(t, y)
	r.att = filepath.Join(r.dir, "att")
	if err := os.Mkdir(r.att, 0o755); err != nil {
		t.Fatal(err)
	}
	r.put(t, "prep.link", r.ci, koLink(t, "prep", nil, []digest.Artifact{art("data.txt", koData)}))
	r.put(t, "train.link", r.ci, koTrain(t))
	r.model = filepath.Join(r.dir, "model")
	if err := os.Mkdir(r.model, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, r.model, "m.bin", koModel)
	return r
}

func koTrain(t *testing.T) *intoto.Statement {
	return koLink(t, "train", []digest.Artifact{art("data.txt", koData)}, []digest.Artifact{art("model/m.bin", koModel)})
}

func koLink(t *testing.T, step string, mats, prods []digest.Artifact) *intoto.Statement {
	t.Helper()
	return linkStmt(t, step, "r1", []string{step}, mats, prods, 0)
}

func (r *keyRun) put(t *testing.T, name string, k crypto.Signer, st *intoto.Statement) {
	t.Helper()
	writeFile(t, r.att, name+".sigstore.json", offlineBundle(t, k, st, nil))
}

// tamper changes the signed payload of a bundle in the run, keeping its
// signature.
func (r *keyRun) tamper(t *testing.T, name string) {
	t.Helper()
	path := filepath.Join(r.att, name+".sigstore.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	other, err := predicates.Marshal(koLink(t, "train", nil, []digest.Artifact{art("model/m.bin", []byte("evil"))}))
	if err != nil {
		t.Fatal(err)
	}
	b["dsseEnvelope"].(map[string]any)["payload"] = other
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, r.att, name+".sigstore.json", out)
}

func (r *keyRun) opts(tm root.TrustedMaterial) LayoutOptions {
	return LayoutOptions{LayoutFile: r.layout, LayoutKey: r.owner.Public(), AttestationsDir: r.att, Model: r.model, TrustedRoot: tm}
}

func publicGoodRoot(t *testing.T) root.TrustedMaterial {
	t.Helper()
	tr, err := root.NewTrustedRootFromPath(filepath.Join(conformanceDir(t), "..", "trusted_root.public-good.json"))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestVerifyLayoutKeyOnly(t *testing.T) {
	pg := publicGoodRoot(t)
	const required = "requireTransparencyLog: true\n"
	for _, tc := range []struct {
		name    string
		extra   string
		root    bool
		mutate  func(t *testing.T, r *keyRun)
		codes   []FailureCode // nil = passes
		substr  string
		checked bool
	}{
		{name: "key-only: signatures only, passes"},
		{name: "trusted root, offline bundles accepted on their signature", root: true, checked: true},
		{name: "requireTransparencyLog: offline bundles fail for the missing entry", extra: required, root: true, checked: true,
			codes: []FailureCode{FailNoLogEntry}, substr: "bundle prep.link.sigstore.json: no transparency-log entry: bundle signed offline (signed by key sha256:"},
		{name: "key-only: a bundle signed by another key", mutate: func(t *testing.T, r *keyRun) { r.put(t, "train.link", r.other, koTrain(t)) },
			codes: []FailureCode{FailBundle}, substr: "bundle train.link.sigstore.json: does not verify"},
		{name: "key-only: a tampered payload", mutate: func(t *testing.T, r *keyRun) { r.tamper(t, "train.link") },
			codes: []FailureCode{FailBundle}, substr: "signature"},
		// The first real cause: the signature is checked before the log.
		{name: "requireTransparencyLog: a tampered payload fails its signature, not the log", extra: required, root: true, checked: true,
			mutate: func(t *testing.T, r *keyRun) { r.tamper(t, "train.link") },
			codes:  []FailureCode{FailNoLogEntry, FailBundle}, substr: "bundle prep.link.sigstore.json"},
		{name: "key-only: the model swapped", mutate: func(t *testing.T, r *keyRun) { writeFile(t, r.model, "m.bin", []byte("swapped")) },
			codes: []FailureCode{FailSubject}},
		{name: "key-only: the layout signed by another key", mutate: func(t *testing.T, r *keyRun) {
			data, err := os.ReadFile(r.layout)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, r.dir, "layout.yaml.sigstore.json", offlineBundle(t, r.other, nil, data))
		}, codes: []FailureCode{FailLayoutSignature}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newKeyRun(t, tc.extra, false)
			if tc.mutate != nil {
				tc.mutate(t, r)
			}
			var tm root.TrustedMaterial
			if tc.root {
				tm = pg
			}
			opts := r.opts(tm)
			opts.TrustedRootFunc = func() (root.TrustedMaterial, error) {
				t.Error("TrustedRootFunc called for a layout that does not need it")
				return nil, errors.New("no")
			}
			rep, err := VerifyLayout(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if tc.codes == nil {
				if !rep.Passed {
					t.Fatalf("want pass:\n%s", failureList(rep))
				}
			} else if got := rep.FailureCodes(); rep.Passed || !sameCodes(got, tc.codes) || !rep.HasFailure(tc.codes[0], tc.substr) {
				t.Fatalf("want %v with %q, got %v:\n%s", tc.codes, tc.substr, got, failureList(rep))
			}
			lg := rep.TransparencyLog
			if rep.Layout.Signer == nil {
				if lg != nil {
					t.Errorf("transparency-log summary for a refused layout: %+v", lg)
				}
				return
			}
			if lg == nil || lg.Checked != tc.checked || lg.Required != (tc.extra == required) {
				t.Fatalf("TransparencyLog = %+v, want checked=%v", lg, tc.checked)
			}
			if tc.extra == required {
				// The owner's offline layout bundle is accepted and listed;
				// the refused bundles are not.
				if len(lg.Unlogged) != 1 || !strings.HasSuffix(lg.Unlogged[0], "layout.yaml.sigstore.json") {
					t.Errorf("Unlogged = %v, want the layout bundle only", lg.Unlogged)
				}
				return
			}
			if !rep.Passed {
				return
			}
			// Every bundle is unlogged, the layout's own included, and the
			// notice says so once.
			if strings.Join(lg.Unlogged, ",") != filepath.Join(r.dir, "layout.yaml.sigstore.json")+",prep.link.sigstore.json,train.link.sigstore.json" {
				t.Errorf("Unlogged = %v", lg.Unlogged)
			}
			if wantNotice := tc.checked == false; (lg.Notice == NoLogNotice) != wantNotice || lg.Notice == "" {
				t.Errorf("Notice = %q", lg.Notice)
			}
			var text strings.Builder
			if err := rep.WriteText(&text); err != nil || strings.Count(text.String(), "⚠ transparency log: ") != 1 {
				t.Errorf("text report should say once that logs were not checked:\n%s", text.String())
			}
			for _, b := range rep.Bundles {
				if b.Logged {
					t.Errorf("bundle %s reported logged", b.File)
				}
			}
		})
	}
}

// sameCodes: want are the first codes got (later ones are consequences).
func sameCodes(got, want []FailureCode) bool {
	if len(got) < len(want) {
		return false
	}
	for i := range want {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// A trusted root is needed for keyless functionaries and for
// requireTransparencyLog: without one (and no TrustedRootFunc) it is an input
// error naming why; with TrustedRootFunc it is fetched then, once.
func TestVerifyLayoutNeedsTrustedRoot(t *testing.T) {
	for _, tc := range []struct {
		name    string
		extra   string
		keyless bool
		want    string
	}{
		{name: "keyless functionary", keyless: true, want: "keyless functionaries (release) need it"},
		{name: "requireTransparencyLog", extra: "requireTransparencyLog: true\n", want: "the layout requires transparency-log entries (requireTransparencyLog)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newKeyRun(t, tc.extra, tc.keyless)
			_, err := VerifyLayout(context.Background(), r.opts(nil))
			if !errors.Is(err, ErrNoTrustedRoot) || errors.Is(err, verify.ErrRejected) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrNoTrustedRoot naming %q", err, tc.want)
			}
			calls := 0
			opts := r.opts(nil)
			opts.TrustedRootFunc = func() (root.TrustedMaterial, error) { calls++; return publicGoodRoot(t), nil }
			rep, err := VerifyLayout(context.Background(), opts)
			if err != nil || calls != 1 {
				t.Fatalf("with TrustedRootFunc: %v, %d calls", err, calls)
			}
			if !rep.TransparencyLog.Checked {
				t.Errorf("the fetched root was not used: %+v", rep.TransparencyLog)
			}
			if tc.extra != "" && !rep.HasFailure(FailNoLogEntry, "bundle prep.link.sigstore.json: no transparency-log entry") {
				t.Errorf("an offline bundle passed requireTransparencyLog:\n%s", failureList(rep))
			}
			opts.TrustedRootFunc = func() (root.TrustedMaterial, error) { return nil, errors.New("offline") }
			if _, err := VerifyLayout(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "offline") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("a failing TrustedRootFunc: %v", err)
			}
		})
	}
}

// verify-bundle (Verifier with a key), run --layout (LayoutPins) and verify
// (VerifyAttestations) give one answer for one bundle.
func TestKeySignedBundleOneAnswer(t *testing.T) {
	pg := publicGoodRoot(t)
	ctx := context.Background()
	r := newKeyRun(t, "baseModels:\n  pinSigners: [ci]\n", false)
	pin, err := predicates.NewModelPinStatement(predicates.ModelPin{Repository: "hf://acme/base", Revision: "0123456789abcdef0123456789abcdef01234567",
		Files: []predicates.ModelPinFile{{Path: "model.safetensors", SHA256: hexSum([]byte("base"))}}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := LoadLayout(ctx, r.opts(nil))
	if err != nil || len(l.Failures) > 0 {
		t.Fatal(err, l.Failures)
	}
	lreq := parseLayout(t, strings.Replace(mustRead(t, r.layout), "baseModels:", "requireTransparencyLog: true\nbaseModels:", 1))
	for _, tc := range []struct {
		name   string
		signer *ecdsa.PrivateKey
		tamper bool
		strict bool // trusted root, and log entries required
		want   verify.Stage
	}{
		{name: "good", signer: r.ci},
		{name: "wrong key", signer: r.other, want: verify.StageSignature},
		{name: "tampered", signer: r.ci, tamper: true, want: verify.StageSignature},
		{name: "offline, log required", signer: r.ci, strict: true, want: verify.StageLog},
		{name: "tampered, log required", signer: r.ci, tamper: true, strict: true, want: verify.StageSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			data := offlineBundle(t, tc.signer, pin, nil)
			if tc.tamper {
				var b map[string]any
				if err := json.Unmarshal(data, &b); err != nil {
					t.Fatal(err)
				}
				b["dsseEnvelope"].(map[string]any)["payload"] = []byte(`{"_type":"https://in-toto.io/Statement/v1"}`)
				if data, err = json.Marshal(b); err != nil {
					t.Fatal(err)
				}
			}
			path := writeFile(t, dir, "pin.sigstore.json", data)
			lay, tm, vopts := l.Layout, root.TrustedMaterial(nil), []verify.Option{verify.WithKey(r.ci.Public())}
			if tc.strict {
				lay, tm, vopts = lreq, pg, append(vopts, verify.WithTrustedRoot(pg))
			}
			_, errBundle := mustVerifier(t, vopts...).Verify(ctx, mustLoad(t, path), verify.SkipArtifact())
			_, errPins := LayoutPins(ctx, lay, tm, path)
			ev, err := VerifyAttestations(ctx, lay, dir, tm)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if errBundle != nil || errPins != nil || len(ev.Failures) > 0 {
					t.Fatalf("want accepted by all three: verify-bundle %v, run %v, verify %v", errBundle, errPins, ev.Failures)
				}
				return
			}
			if len(ev.Failures) != 1 {
				t.Fatalf("verify accepted it: %+v", ev)
			}
			wantCode := FailBundle
			if tc.want == verify.StageLog {
				wantCode = FailNoLogEntry
				for _, err := range []error{errBundle, errPins} {
					if !errors.Is(err, verify.ErrNoLogEntry) {
						t.Errorf("want ErrNoLogEntry, got %v", err)
					}
				}
			}
			// The stage of a layout's answer may differ (a key that is no
			// functionary's is an identity problem there); the verdict may not.
			if verify.StageOf(errBundle) != tc.want || verify.StageOf(errPins) == "" || ev.Failures[0].Code != wantCode {
				t.Errorf("want %s everywhere: verify-bundle %v; run %v; verify %v", tc.want, errBundle, errPins, ev.Failures)
			}
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
