package trust

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParsePublicKey runs every golden key through the one parser. The
// two parsers it replaced differed: verify's LoadPublicKey (sigstore
// cryptoutils) ignored data after the block and took RSA of 2048, 3072 or
// 4096 bits only; layouts took PKIX only. oldVerify and oldLayouts record
// what each accepted, so the table shows what changed.
func TestParsePublicKey(t *testing.T) {
	for _, tc := range []struct {
		file                  string
		want                  string // "" accepts; otherwise a substring of the error
		oldVerify, oldLayouts bool
	}{
		{"ecdsa-p256.pem", "", true, true},
		{"ecdsa-p384.pem", "", true, true},
		{"ecdsa-p521.pem", "", true, true},
		{"ed25519.pem", "", true, true},
		{"rsa-2048.pem", "", true, true},
		{"rsa-2048-pkcs1.pem", "", true, false},
		{"rsa-3000.pem", "", false, true},
		// Refused now although verify's parser accepted it: a second key
		// or stray bytes after the first block.
		{"trailing-garbage.pem", "data after the block", true, false},
		{"two-blocks.pem", "more than one PEM block", true, false},
		{"rsa-1024.pem", "RSA key of 1024 bits is too small", false, false},
		{"rsa-1024-pkcs1.pem", "RSA key of 1024 bits is too small", false, false},
		{"x25519.pem", "unsupported key type *ecdh.PublicKey", false, false},
		{"wrong-type.pem", `PEM block is "CERTIFICATE"`, false, false},
		{"private-key.pem", `PEM block is "PRIVATE KEY"`, false, false},
		{"not-der.pem", "the PEM block is not a valid PKIX public key", false, false},
		{"not-pem.pem", "not a PEM public key", false, false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "keys", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			pub, err := ParsePublicKey(data)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				switch pub.(type) {
				case *ecdsa.PublicKey, ed25519.PublicKey, *rsa.PublicKey:
				default:
					t.Fatalf("key type %T", pub)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
			if !errors.Is(err, ErrPublicKey) {
				t.Errorf("err %v does not wrap ErrPublicKey", err)
			}
		})
	}
}

// TestKeyIDGolden pins the key ids of the golden keys: layouts and bundles
// name keys by them, so a change would orphan every signed layout.
func TestKeyIDGolden(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "keys", "keyids.golden"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); n++ {
		name, want, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			t.Fatalf("bad golden line %q", sc.Text())
		}
		pub, err := LoadPublicKey(filepath.Join("testdata", "keys", name))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := KeyID(pub); err != nil || got != want {
			t.Errorf("%s: KeyID = %s (%v), want %s", name, got, err, want)
		}
	}
	if n != 7 {
		t.Errorf("%d golden key ids, want 7", n)
	}
}

func TestLoadPublicKeyErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.pub")
	if err := os.WriteFile(big, make([]byte, MaxPublicKeySize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.pub"), "key " + filepath.Join(dir, "missing.pub") + ": no such file or directory"},
		{big, "key " + big + ": larger than"},
		{dir, "key " + dir + ": not a regular file"},
		{filepath.Join("testdata", "keys", "not-pem.pem"), "key testdata/keys/not-pem.pem: not a PEM public key"},
	} {
		_, err := LoadPublicKey(tc.path)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want prefix %q", tc.path, err, tc.want)
		}
	}
}

func TestWithPublicKeyTrustsOnlyThatKey(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tm, err := WithPublicKey(nil, k.Public())
	if err != nil {
		t.Fatal(err)
	}
	v, err := tm.PublicKeyVerifier("any hint")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := v.PublicKey()
	if err != nil || !k.PublicKey.Equal(pub) {
		t.Fatalf("verifier key = %v (%v), want the given key", pub, err)
	}
	if _, err := WithPublicKey(nil, "not a key"); err == nil {
		t.Fatal("WithPublicKey accepted a string")
	}
}

func FuzzParsePublicKey(f *testing.F) {
	entries, _ := os.ReadDir(filepath.Join("testdata", "keys"))
	for _, e := range entries {
		if data, err := os.ReadFile(filepath.Join("testdata", "keys", e.Name())); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pub, err := ParsePublicKey(data)
		if (pub == nil) == (err == nil) {
			t.Fatalf("pub %v with err %v", pub, err)
		}
		if err == nil {
			if _, err := KeyID(pub); err != nil {
				t.Fatalf("accepted key has no id: %v", err)
			}
		}
	})
}
