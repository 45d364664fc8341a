package predicates

import (
	"errors"
	"path"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

func TestCheckArtifactName(t *testing.T) {
	good := []string{
		"model.safetensors", "release/model/w.bin", "caf\u00e9/x.md", "a..b/c", "...", ".hidden", "a/b/",
		"hf://org/model@0123/config.json", "oci://registry.local/repo@sha256:abc", "git+https://github.com/o/r@abc",
		"file:///abs/path", "Model.BIN", "a b", "m\u043edel.bin",
	}
	for _, n := range good {
		if err := CheckArtifactName(n); err != nil {
			t.Errorf("CheckArtifactName(%q) = %v, want nil", n, err)
		}
	}
	bad := map[string]string{
		"":                            "empty name",
		"/abs":                        "absolute",
		"a//b":                        "empty segment",
		"a/b//":                       "empty segment",
		"./a":                         `"." segment`,
		"a/./b":                       `"." segment`,
		"..":                          `".." segment`,
		"a/../b":                      `".." segment`,
		"a/..":                        `".." segment`,
		`a\..\b`:                      "backslash",
		`a\b`:                         "backslash",
		"cafe\u0301":                  "not NFC",
		"a\x00b":                      "U+0000",
		"a\nb":                        "U+000A",
		"a\u200bb":                    "U+200B",
		"\ufeffa":                     "U+FEFF",
		"a\u202eb":                    "U+202E",
		"a\x7f":                       "U+007F",
		"hf://org/../x":               `".." segment`,
		"hf://org/./x":                `"." segment`,
		"git+https://h/r\u200d":       "U+200D",
		"oci://reg/repo\\..\\x":       "backslash",
		"\xff":                        "not valid UTF-8",
		"release/docs/../m.bin":       `".." segment`,
		"release/docs//m.bin":         "empty segment",
		"release/docs/./m.bin":        `"." segment`,
		"release/A\u030angstr\u00f6m": "not NFC",
		"\u212bngstr\u00f6m":          "not NFC",
	}
	for n, want := range bad {
		err := CheckArtifactName(n)
		if err == nil || !errors.Is(err, ErrArtifactName) || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckArtifactName(%q) = %v, want ErrArtifactName mentioning %q", n, err, want)
		}
	}
	// A released or manifest file is never a directory or a URI.
	for _, n := range []string{"a/", "hf://org/x"} {
		if err := CheckPathName(n); !errors.Is(err, ErrArtifactName) {
			t.Errorf("CheckPathName(%q) = %v, want ErrArtifactName", n, err)
		}
	}
}

func TestCheckDigestSet(t *testing.T) {
	h := func(n int) string { return strings.Repeat("a", n) }
	good := []map[string]string{
		{"sha256": h(64)},
		{"sha256": h(64), "sha512": h(128)},
		{"sha256": h(64), "sha384": h(96), "sha512": h(128)},
	}
	for _, d := range good {
		if err := CheckDigestSet("x", d); err != nil {
			t.Errorf("CheckDigestSet(%v) = %v", d, err)
		}
	}
	bad := map[string]map[string]string{
		"no sha256 digest":    {"sha512": h(128)},
		`"sha1" digest`:       {"sha256": h(64), "sha1": h(40)},
		`"SHA512" digest`:     {"sha256": h(64), "SHA512": h(128)},
		`"gitCommit" digest`:  {"sha256": h(64), "gitCommit": h(40)},
		"sha512 digest":       {"sha256": h(64), "sha512": h(127)},
		"sha384 digest":       {"sha256": h(64), "sha384": strings.Repeat("A", 96)},
		"sha256 digest \"zz":  {"sha256": "zz" + h(62)},
		`"sha512_256" digest`: {"sha256": h(64), "sha512_256": h(64)},
	}
	for want, d := range bad {
		err := CheckDigestSet("x", d)
		if err == nil || !errors.Is(err, ErrDigestSet) || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckDigestSet(%v) = %v, want ErrDigestSet mentioning %q", d, err, want)
		}
	}
}

// TestParseStatementNamesAndDigests: ParseStatement applies both checks to
// subjects and link materials, with their own errors.
func TestParseStatementNamesAndDigests(t *testing.T) {
	st := mustLink(t)
	payload, err := Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	subj := st.GetSubject()[0]
	mats, err := MaterialsOf(st)
	if err != nil || len(mats) == 0 {
		t.Fatalf("materials: %v %v", mats, err)
	}
	for _, tc := range []struct {
		name, old, new string
		want           error
	}{
		{"subject with ..", `"name":"` + subj.GetName() + `"`, `"name":"x/../y"`, ErrArtifactName},
		{"material with ..", `"name":"` + mats[0].Name + `"`, `"name":"../y"`, ErrArtifactName},
		{"subject uri with ..", `"name":"` + subj.GetName() + `"`, `"uri":"hf://o/../y"`, ErrArtifactName},
		{"subject uri without scheme", `"name":"` + subj.GetName() + `"`, `"uri":"y/z"`, ErrArtifactName},
		{"subject sha1", `"sha256":"` + subj.GetDigest()["sha256"] + `"`, `"sha1":"` + strings.Repeat("0", 40) + `","sha256":"` + subj.GetDigest()["sha256"] + `"`, ErrDigestSet},
		{"material sha512 too short", `"sha256":"` + mats[0].SHA256 + `"},"name":"` + mats[0].Name + `"`,
			`"sha256":"` + mats[0].SHA256 + `","sha512":"00"},"name":"` + mats[0].Name + `"`, ErrDigestSet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := strings.Replace(string(payload), tc.old, tc.new, 1)
			if b == string(payload) {
				t.Fatalf("%q not in the statement", tc.old)
			}
			if _, err := ParseStatement([]byte(b)); !errors.Is(err, tc.want) {
				t.Fatalf("ParseStatement = %v, want %v", err, tc.want)
			}
		})
	}
	// sha384 and sha512 are accepted on subjects and materials alike.
	b := strings.Replace(string(payload), `"sha256":"`+mats[0].SHA256+`"},"name":"`+mats[0].Name+`"`,
		`"sha256":"`+mats[0].SHA256+`","sha512":"`+strings.Repeat("0", 128)+`"},"name":"`+mats[0].Name+`"`, 1)
	if _, err := ParseStatement([]byte(b)); err != nil || b == string(payload) {
		t.Fatalf("material with sha512: %v", err)
	}
}

// FuzzCheckArtifactName: an accepted path name is its own path.Clean, NFC,
// relative, without backslashes, control or format characters; an accepted
// URI has no dot segments. Seeds: testdata/fuzz/FuzzCheckArtifactName.
func FuzzCheckArtifactName(f *testing.F) {
	for _, s := range []string{"a/b", "a/../b", "./a", "a//b", "/a", `a\b`, "cafe\u0301", "caf\u00e9", "a\u200b", "hf://o/m@r/f", "hf://o/../f", "a/", "", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if CheckArtifactName(name) != nil {
			return
		}
		if !norm.NFC.IsNormalString(name) || strings.ContainsRune(name, '\\') {
			t.Fatalf("accepted %q", name)
		}
		for _, r := range name {
			if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("accepted %q with %U", name, r)
			}
		}
		if uriSchemeRE.MatchString(name) {
			_, rest, _ := strings.Cut(name, "://")
			for _, seg := range strings.Split(rest, "/") {
				if seg == "." || seg == ".." {
					t.Fatalf("accepted URI %q", name)
				}
			}
			return
		}
		p := strings.TrimSuffix(name, "/")
		if path.Clean(p) != p || path.IsAbs(p) || p == "." || p == ".." || strings.HasPrefix(p, "../") {
			t.Fatalf("accepted %q, which is not a clean relative path", name)
		}
	})
}
