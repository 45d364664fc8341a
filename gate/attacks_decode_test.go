package gate

// The decoding attacks (issue 10, class 6): bundles signed for real on the
// private stack by two functionary keys, then made to decode differently
// (duplicate keys, trailing data, in the bundle or in its DSSE payload) or
// carrying proofs of another payload. Every case asserts the failure code
// and that the reason is the bundle's first real fault.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/sign"
	"github.com/mlattest/mlattest/trust"
)

// decodeLayout: one step, two functionary keys.
const decodeLayout = `serial: 1
expires: "{{EXPIRES}}"
functionaries:
  a:
    key: |
{{A}}
  b:
    key: |
{{B}}
steps:
  - name: package
    functionaries: [a, b]
    expectedMaterials: [ALLOW model/*, DISALLOW *]
    expectedProducts: [ALLOW release/*, DISALLOW *]
subject:
  step: package
  patterns: ["release/*"]
`

// keyFixture is the decoding suite's signed material.
type keyFixture struct {
	*attackFixture
	ownerPub   crypto.PublicKey
	keyA, keyB string // functionary key ids
	layout     []byte
	layoutSig  []byte
	payload    []byte // the honest package link
}

// buildKeyFixture signs, on the stack (Rekor entry and RFC 3161 timestamp),
// the honest package link with key A, the same link with key B, the link of
// another run with key A, and payloads that decode ambiguously with key A.
func buildKeyFixture(t *testing.T) *keyFixture {
	t.Helper()
	f := &keyFixture{attackFixture: newStackFixture(t)}
	owner, a, b := newKey(t), newKey(t), newKey(t)
	f.ownerPub = &owner.PublicKey
	var err error
	if f.keyA, err = trust.KeyID(&a.PublicKey); err != nil {
		t.Fatal(err)
	}
	if f.keyB, err = trust.KeyID(&b.PublicKey); err != nil {
		t.Fatal(err)
	}
	f.layout = []byte(strings.NewReplacer("{{EXPIRES}}", time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339),
		"{{A}}", pemIndented(t, &a.PublicKey), "{{B}}", pemIndented(t, &b.PublicKey)).Replace(decodeLayout))

	modelOut := []digest.Artifact{art("model/config.json", modelConfig), art("model/model.safetensors", weights)}
	release := []digest.Artifact{art("release/config.json", modelConfig), art("release/model.safetensors", weights)}
	pkgCmd := []string{"package", "--out", "release"}
	marshal := func(run string) []byte {
		p, err := predicates.Marshal(linkStmt(t, "package", run, pkgCmd, modelOut, release, 0))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	f.payload = marshal(runID)
	// Lenient parsers keep the last of two keys: they would read a benign
	// name where a first-wins reader sees the other.
	dup := bytes.Replace(f.payload, []byte(`"name":"release/config.json"`),
		[]byte(`"name":"release/backdoor.py","name":"release/config.json"`), 1)
	if bytes.Equal(dup, f.payload) {
		t.Fatal("duplicate-key payload not built")
	}

	sc, err := sign.LoadSigningConfig(f.stack.SigningConfig)
	if err != nil {
		t.Fatal(err)
	}
	// No trusted material: sigstore-go would check each new bundle, and its
	// lenient reading of the ambiguous payloads refuses them; the point is
	// that they are logged and timestamped as any bundle is.
	signer := func(k *ecdsa.PrivateKey) *sign.Signer {
		sg, err := sign.New(sign.WithKey(k), sign.WithSigningConfig(sc))
		if err != nil {
			t.Fatal(err)
		}
		return sg
	}
	sa, sb, so := signer(a), signer(b), signer(owner)
	jobs := []struct {
		name    string
		sg      *sign.Signer
		payload []byte
		blob    bool
	}{
		{"good.a", sa, f.payload, false},
		{"good.b", sb, f.payload, false},
		{"run2.a", sa, marshal(otherRun), false},
		{"dup.a", sa, dup, false},
		{"trailing.a", sa, append(append([]byte{}, f.payload...), marshal(otherRun)...), false},
		{"layout", so, f.layout, true},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sig := j.sg.SignStatement
			if j.blob {
				sig = j.sg.SignBlob
			}
			pb, err := sig(ctx, j.payload)
			if err != nil {
				errs[i] = err
				return
			}
			data, err := sign.MarshalBundle(pb)
			if err != nil {
				errs[i] = err
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if j.blob {
				f.layoutSig = data
			} else {
				f.bundles[j.name] = data
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("signing %s: %v", jobs[i].name, err)
		}
	}
	f.model = t.TempDir()
	writeFile(t, f.model, "model.safetensors", weights)
	writeFile(t, f.model, "config.json", modelConfig)
	return f
}

// editJSON decodes a bundle, lets edit change it and encodes it again.
func editJSON(t *testing.T, data []byte, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func obj(m map[string]any, key string) map[string]any { return m[key].(map[string]any) }

// verify verifies the given attestation files with the decoding
// suite's layout.
func (f *keyFixture) verify(t *testing.T, files map[string][]byte) *Report {
	t.Helper()
	dir := t.TempDir()
	att := filepath.Join(dir, "attestations")
	if err := os.Mkdir(att, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, data := range files {
		writeFile(t, att, n, data)
	}
	layout := writeFile(t, dir, "layout.yaml", f.layout)
	writeFile(t, dir, "layout.yaml.sigstore.json", f.layoutSig)
	rep, err := VerifyLayout(context.Background(), LayoutOptions{
		LayoutFile: layout, LayoutKey: f.ownerPub, AttestationsDir: att, Model: f.model, TrustedRoot: f.trusted,
	})
	if err != nil {
		t.Fatalf("VerifyLayout: %v", err)
	}
	return rep
}

func TestAttacksDecode(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local Sigstore stack")
	}
	f := buildKeyFixture(t)
	good := f.bundles["good.a"]
	splice := func(from string, field string) []byte {
		return editJSON(t, good, func(m map[string]any) {
			obj(m, "verificationMaterial")[field] = obj(editJSONMap(t, f.bundles[from]), "verificationMaterial")[field]
		})
	}
	tamperSig := editJSON(t, f.bundles["good.b"], func(m map[string]any) {
		s := obj(m, "dsseEnvelope")["signatures"].([]any)[0].(map[string]any)
		sig, err := base64.StdEncoding.DecodeString(s["sig"].(string))
		if err != nil {
			t.Fatal(err)
		}
		sig[len(sig)/2] ^= 0x01
		s["sig"] = base64.StdEncoding.EncodeToString(sig)
	})
	// dupKey repeats key (first occurrence) with another value before it.
	dupKey := func(key, value string) []byte {
		i := bytes.Index(good, []byte(`"`+key+`"`))
		if i < 0 {
			t.Fatalf("no %q in the bundle", key)
		}
		return append(append(append([]byte{}, good[:i]...), `"`+key+`":`+value+`,`...), good[i:]...)
	}

	cases := []struct {
		name   string
		bundle []byte
		pass   bool
		code   FailureCode
		substr string
	}{
		{name: "honest bundle of key A passes", bundle: good, pass: true},
		{name: "honest bundle of key B passes", bundle: f.bundles["good.b"], pass: true},

		{name: "duplicate key in the DSSE payload", bundle: f.bundles["dup.a"],
			code: FailDuplicateKey, substr: `DSSE payload is not strict JSON: duplicate object key "name"`},
		{name: "trailing statement after the DSSE payload", bundle: f.bundles["trailing.a"],
			code: FailTrailingData, substr: "DSSE payload is not strict JSON: trailing data after the JSON value"},
		{name: "duplicate top-level key in the bundle JSON",
			bundle: dupKey("mediaType", `"application/vnd.dev.sigstore.bundle+json;version=0.2"`),
			code:   FailDuplicateKey, substr: `not a valid Sigstore bundle: duplicate object key "mediaType"`},
		{name: "duplicate nested key (key hint) in the bundle JSON", bundle: dupKey("hint", `"AAAA"`),
			code: FailDuplicateKey, substr: `not a valid Sigstore bundle: duplicate object key "hint"`},
		{name: "trailing data after the bundle JSON", bundle: append(append([]byte{}, good...), "{}"...),
			code: FailTrailingData, substr: "not a valid Sigstore bundle: trailing data after the JSON value"},
		{name: "log entry of another payload", bundle: splice("run2.a", "tlogEntries"),
			code: FailBundle, substr: "does not verify: functionary key " + f.keyA + ": tlog: "},
		{name: "timestamp of another payload", bundle: splice("run2.a", "timestampVerificationData"),
			code: FailBundle, substr: "does not verify: functionary key " + f.keyA + ": timestamp: "},
		{name: "functionary B's signature tampered", bundle: tamperSig,
			code: FailBundle, substr: "does not verify: functionary key " + f.keyB + " (named by the bundle's key hint): signature: "},
	}
	if len(cases) < 8 {
		t.Fatal("too few cases")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep := f.verify(t, map[string][]byte{"package.link.sigstore.json": tc.bundle})
			if tc.pass {
				if !rep.Passed {
					t.Fatalf("want pass, got failures:\n%s", failureList(rep))
				}
				return
			}
			if rep.Passed {
				t.Fatal("want failure, passed")
			}
			if !rep.HasFailure(tc.code, tc.substr) {
				t.Fatalf("want a %s failure containing %q, got:\n%s", tc.code, tc.substr, failureList(rep))
			}
			for _, fl := range rep.Failures {
				if strings.Contains(fl.Reason, "no functionary key of the layout") {
					t.Fatalf("a key-signed bundle's fault headlined as a foreign key:\n%s", failureList(rep))
				}
			}
		})
	}
}

func editJSONMap(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
