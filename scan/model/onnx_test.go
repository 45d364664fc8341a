package model

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// Protobuf assembly for ONNX samples.
func pvarint(x uint64) []byte {
	var b []byte
	for x >= 0x80 {
		b = append(b, byte(x)|0x80)
		x >>= 7
	}
	return append(b, byte(x))
}

func pfield(n int, msg ...[]byte) []byte {
	var body []byte
	for _, m := range msg {
		body = append(body, m...)
	}
	out := pvarint(uint64(n)<<3 | 2)
	out = append(out, pvarint(uint64(len(body)))...)
	return append(out, body...)
}

func pstr(n int, s string) []byte { return pfield(n, []byte(s)) }
func pint(n int, x uint64) []byte { return append(pvarint(uint64(n)<<3), pvarint(x)...) }
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func onnxNodeOf(domain, op string, attrs ...[]byte) []byte {
	parts := [][]byte{pstr(1, "x"), pstr(2, "y"), pstr(4, op)}
	if domain != "" {
		parts = append(parts, pstr(7, domain))
	}
	for _, a := range attrs {
		parts = append(parts, pfield(5, a))
	}
	return cat(parts...)
}

func onnxOpsetOf(domain string, v uint64) []byte { return cat(pstr(1, domain), pint(2, v)) }

func onnxTensorOf(name string, ext ...[2]string) []byte {
	parts := [][]byte{pint(1, 2), pint(2, 1), pstr(8, name)}
	if len(ext) == 0 {
		parts = append(parts, pfield(9, make([]byte, 8)))
	} else {
		for _, kv := range ext {
			parts = append(parts, pfield(13, pstr(1, kv[0]), pstr(2, kv[1])))
		}
		parts = append(parts, pint(14, 1))
	}
	return cat(parts...)
}

// onnxModelOf builds a ModelProto: ir_version, producer, opsets, graph.
func onnxModelOf(opsets [][]byte, nodes [][]byte, inits [][]byte, extra ...[]byte) []byte {
	parts := [][]byte{pint(1, 8), pstr(2, "pytorch"), pstr(3, "2.1")}
	g := [][]byte{}
	for _, n := range nodes {
		g = append(g, pfield(1, n))
	}
	g = append(g, pstr(2, "main"))
	for _, t := range inits {
		g = append(g, pfield(5, t))
	}
	parts = append(parts, pfield(7, g...))
	for _, o := range opsets {
		parts = append(parts, pfield(8, o))
	}
	return cat(append(parts, extra...)...)
}

func TestONNX(t *testing.T) {
	std := [][]byte{onnxOpsetOf("", 17)}
	relu := onnxNodeOf("", "Relu")
	ifNode := onnxNodeOf("", "If", cat(pstr(1, "then_branch"), pint(20, 5), pfield(6, pfield(1, onnxNodeOf("com.evil", "Pwn")))))
	fn := pfield(25, pstr(1, "MyGelu"), pstr(10, "local.fn"), pfield(7, onnxNodeOf("", "Erf")), pfield(9, onnxOpsetOf("", 17)))
	fnEvil := pfield(25, pstr(1, "MyGelu"), pstr(10, "local.fn"), pfield(7, onnxNodeOf("com.evil", "Pwn")))
	good := onnxModelOf(std, [][]byte{relu, onnxNodeOf("ai.onnx.ml", "TreeEnsembleClassifier")}, [][]byte{onnxTensorOf("w")})
	check(t, []sample{
		{"standard ops", good, Safe, "", FormatONNX},
		{"ml and training opsets", onnxModelOf([][]byte{onnxOpsetOf("", 17), onnxOpsetOf("ai.onnx.ml", 3), onnxOpsetOf("ai.onnx.preview.training", 1)}, [][]byte{relu}, nil), Safe, "", FormatONNX},
		{"external data relative", onnxModelOf(std, [][]byte{relu}, [][]byte{onnxTensorOf("w", [2]string{"location", "weights/w.bin"}, [2]string{"offset", "0"})}), Safe, "", FormatONNX},
		{"model-local function", onnxModelOf(append(std, onnxOpsetOf("local.fn", 1)), [][]byte{onnxNodeOf("local.fn", "MyGelu")}, nil, fn), Safe, "", FormatONNX},
		{"custom domain node", onnxModelOf(std, [][]byte{relu, onnxNodeOf("com.microsoft", "FusedGemm")}, nil), Unknown, "onnx-custom-domain", FormatONNX},
		{"custom opset only", onnxModelOf(append(std, onnxOpsetOf("com.evil", 1)), [][]byte{relu}, nil), Unknown, "onnx-custom-domain", FormatONNX},
		{"custom op in nested graph", onnxModelOf(std, [][]byte{ifNode}, nil), Unknown, "onnx-custom-domain", FormatONNX},
		{"custom op in function body", onnxModelOf(std, [][]byte{onnxNodeOf("local.fn", "MyGelu")}, nil, fnEvil), Unknown, "onnx-custom-domain", FormatONNX},
		{"unresolved function call", onnxModelOf(std, [][]byte{onnxNodeOf("local.fn", "Other")}, nil, fn), Unknown, "onnx-custom-domain", FormatONNX},
		{"external absolute", onnxModelOf(std, [][]byte{relu}, [][]byte{onnxTensorOf("w", [2]string{"location", "/etc/passwd"})}), Malicious, "onnx-external-path", ""},
		{"external dotdot", onnxModelOf(std, [][]byte{relu}, [][]byte{onnxTensorOf("w", [2]string{"location", "a/../../secret"})}), Malicious, "onnx-external-path", ""},
		{"external backslash dotdot", onnxModelOf(std, [][]byte{relu}, [][]byte{onnxTensorOf("w", [2]string{"location", `..\secret`})}), Malicious, "onnx-external-path", ""},
		{"external drive", onnxModelOf(std, [][]byte{relu}, [][]byte{onnxTensorOf("w", [2]string{"location", `C:\x`})}), Malicious, "onnx-external-path", ""},
		{"external without location", onnxModelOf(std, [][]byte{relu}, [][]byte{onnxTensorOf("w", [2]string{"offset", "0"})}), Invalid, "onnx-external-data", ""},
		{"truncated", good[:len(good)-3], Error, "onnx-malformed", ""},
		{"length past end", append(append([]byte{}, good...), 0x3a, 0x7f), Error, "onnx-malformed", ""},
		{"group wire type", append(append([]byte{}, good...), 0x0b), Error, "onnx-malformed", ""},
		{"onnx in zip", zipOf(t, [2]string{"model.onnx", string(good)}), Unknown, "generic-archive", ""},
		{"onnx in gzip", gz(good), Safe, "", "gzip/onnx"},
		{"malicious onnx in gzip", gz(onnxModelOf(std, [][]byte{relu}, [][]byte{onnxTensorOf("w", [2]string{"location", "/etc/shadow"})})), Malicious, "onnx-external-path", ""},
	})
	deep := onnxNodeOf("", "Relu")
	for i := 0; i < 40; i++ {
		deep = onnxNodeOf("", "If", cat(pstr(1, "g"), pfield(6, pfield(1, deep))))
	}
	if r := scanBytes(onnxModelOf(std, [][]byte{deep}, nil)); r.Verdict != Error || !hasRule(r, "onnx-malformed") {
		t.Errorf("deep nesting: %s", describe(r))
	}
}

// External data is resolved on disk by ScanFile: symlinks must stay
// inside the model's directory.
func TestONNXExternalOnDisk(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "w.bin"), make([]byte, 8), 0o644)
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "link.bin")); err != nil {
		t.Skip(err)
	}
	model := func(loc string) string {
		p := filepath.Join(dir, loc+".onnx")
		b := onnxModelOf([][]byte{onnxOpsetOf("", 17)}, [][]byte{onnxNodeOf("", "Relu")}, [][]byte{onnxTensorOf("w", [2]string{"location", loc})})
		os.WriteFile(p, b, 0o644)
		return p
	}
	for _, c := range []struct {
		loc     string
		verdict Verdict
		rule    string
	}{
		{"w.bin", Safe, ""},
		{"link.bin", Malicious, "onnx-external-path"},
		{"missing.bin", Unknown, "onnx-external-missing"},
	} {
		r, err := New().ScanFile(context.Background(), model(c.loc))
		if err != nil {
			t.Fatal(err)
		}
		if r.Verdict != c.verdict || (c.rule != "" && !hasRule(r, c.rule)) {
			t.Errorf("%s: %s", c.loc, describe(r))
		}
	}
}
