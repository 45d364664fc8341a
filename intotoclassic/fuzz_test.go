package intotoclassic

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlattest/mlattest/verify"
)

// FuzzLoadImport: any bytes given as a classic layout are refused with a
// rejection or converted; Import never panics and what it returns parses
// (Import checks that itself).
func FuzzLoadImport(f *testing.F) {
	f.Add([]byte(`{"signed":{"_type":"layout","expires":"2099-01-01T00:00:00Z","readme":"","keys":{},"steps":[{"_type":"step","name":"a","pubkeys":[],"threshold":1,"expected_command":[],"expected_materials":[["DISALLOW","*"]],"expected_products":[["CREATE","x"],["MATCH","x","WITH","PRODUCTS","FROM","a"]]}],"inspect":[]},"signatures":[]}`))
	f.Add([]byte(`{"signed":{"_type":"link","name":"a"},"signatures":[]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "root.layout")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, l, err := LoadLayout(p)
		if err != nil {
			if !errors.Is(err, verify.ErrRejected) {
				t.Fatalf("not a rejection: %v", err)
			}
			return
		}
		_, _, _ = Import(l)
	})
}
