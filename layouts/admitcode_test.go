package layouts

import "testing"

// TestAdmitReviewedCodeByDigest: code in a model repository is never safe
// in a model scan; a layout admits a reviewed file by its digest and
// nothing else with it.
func TestAdmitReviewedCodeByDigest(t *testing.T) {
	const reviewed = "0c8e2f1b5a6d4c3e9f7a8b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e"
	e, err := CompileExpression(`predicate.files.all(f, (f.verdict == "safe" || f.sha256 in ["` + reviewed + `"]) && !f.pickle)`)
	if err != nil {
		t.Fatal(err)
	}
	file := func(path, sha, format, verdict string) map[string]any {
		return map[string]any{"path": path, "sha256": sha, "format": format, "verdict": verdict, "pickle": false, "findings": []any{}}
	}
	repo := func(code map[string]any) map[string]any {
		return map[string]any{"files": []any{
			file("m/config.json", "aa", "json", "safe"),
			file("m/model.safetensors", "bb", "safetensors", "safe"),
			file("m/tokenizer.model", "cc", "sentencepiece", "safe"),
			code,
		}}
	}
	for _, c := range []struct {
		name string
		code map[string]any
		want bool
	}{
		{"reviewed code", file("m/modeling_x.py", reviewed, "python", "unknown"), true},
		{"other code", file("m/modeling_x.py", "dd", "python", "unknown"), false},
		{"honest card", file("m/README.md", "ee", "text", "safe"), true},
	} {
		got, err := e.Eval(repo(c.code), nil)
		if err != nil || got != c.want {
			t.Errorf("%s: %v %v", c.name, got, err)
		}
	}
}
