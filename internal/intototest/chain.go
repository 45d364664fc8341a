// Package intototest builds classic in-toto supply chains for tests, with
// in-toto-golang's own API: keys, a signed three-step layout and the links
// its functionaries record.
package intototest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	intoto "github.com/in-toto/in-toto-golang/in_toto"
)

// Key writes a fresh ECDSA P-256 key pair as PEM files and loads both
// halves the way in-toto-golang does.
func Key(t *testing.T, dir, name string) (priv, pub intoto.Key, pubPath string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pder, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	privPath, pubPath := filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
	if err := os.WriteFile(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := priv.LoadKeyDefaults(privPath); err != nil {
		t.Fatal(err)
	}
	if err := pub.LoadKeyDefaults(pubPath); err != nil {
		t.Fatal(err)
	}
	if priv.KeyID != pub.KeyID {
		t.Fatalf("key ids differ: %s %s", priv.KeyID, pub.KeyID)
	}
	return priv, pub, pubPath
}

// Chain is a three-step supply chain (clean -> train -> package) recorded
// with in-toto-golang's own link recording API.
type Chain struct {
	Dir, Work, Links, Layout, OwnerPub string
	Owner, Clean, Train, Pack          intoto.Key // private halves
	LayoutDoc                          intoto.Layout
}

// Rule is one artifact rule.
func Rule(parts ...string) []string { return parts }

// NewChain writes keys, a layout signed by Owner (ECDSA keys, in-toto's
// default schemes) and the three links, in the test's working directory
// Work (it changes directory there, as in-toto records relative paths).
func NewChain(t *testing.T) *Chain {
	t.Helper()
	c := &Chain{Dir: t.TempDir()}
	c.Work, c.Links = filepath.Join(c.Dir, "work"), filepath.Join(c.Dir, "links")
	for _, d := range []string{c.Work, c.Links} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var ownerPubKey, cleanPub, trainPub, packPub intoto.Key
	c.Owner, ownerPubKey, c.OwnerPub = Key(t, c.Dir, "owner")
	_ = ownerPubKey
	c.Clean, cleanPub, _ = Key(t, c.Dir, "clean")
	c.Train, trainPub, _ = Key(t, c.Dir, "train")
	c.Pack, packPub, _ = Key(t, c.Dir, "package")

	step := func(name string, k intoto.Key, mats, prods [][]string) intoto.Step {
		return intoto.Step{Type: "step", PubKeys: []string{k.KeyID}, Threshold: 1,
			SupplyChainItem: intoto.SupplyChainItem{Name: name, ExpectedMaterials: mats, ExpectedProducts: prods}}
	}
	c.LayoutDoc = intoto.Layout{
		Type:    "layout",
		Expires: time.Now().Add(24 * time.Hour).UTC().Format("2006-01-02T15:04:05Z"),
		Keys:    map[string]intoto.Key{cleanPub.KeyID: cleanPub, trainPub.KeyID: trainPub, packPub.KeyID: packPub},
		Steps: []intoto.Step{
			step("clean", cleanPub, [][]string{Rule("ALLOW", "raw.txt"), Rule("DISALLOW", "*")},
				[][]string{Rule("CREATE", "data.txt"), Rule("ALLOW", "raw.txt"), Rule("DISALLOW", "*")}),
			step("train", trainPub, [][]string{Rule("MATCH", "data.txt", "WITH", "PRODUCTS", "FROM", "clean"), Rule("DISALLOW", "*")},
				[][]string{Rule("CREATE", "model.bin"), Rule("ALLOW", "data.txt"), Rule("DISALLOW", "*")}),
			step("package", packPub, [][]string{Rule("MATCH", "model.bin", "WITH", "PRODUCTS", "FROM", "train"), Rule("DISALLOW", "*")},
				[][]string{Rule("CREATE", "release.tar"), Rule("ALLOW", "model.bin"), Rule("DISALLOW", "*")}),
		},
	}
	c.Layout = filepath.Join(c.Dir, "root.layout")
	c.SignLayout(t)

	t.Chdir(c.Work) // in-toto records paths relative to the working directory
	write := func(name, content string) {
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("raw.txt", "raw records\n")
	c.Record(t, "clean", c.Clean, []string{"raw.txt"}, []string{"raw.txt", "data.txt"}, func() { write("data.txt", "clean records\n") })
	c.Record(t, "train", c.Train, []string{"data.txt"}, []string{"data.txt", "model.bin"}, func() { write("model.bin", "weights") })
	c.Record(t, "package", c.Pack, []string{"model.bin"}, []string{"model.bin", "release.tar"}, func() { write("release.tar", "tarball") })
	return c
}

// SignLayout signs LayoutDoc with Owner and writes it to Layout.
func (c *Chain) SignLayout(t *testing.T) {
	t.Helper()
	mb := &intoto.Metablock{Signed: c.LayoutDoc}
	if err := mb.Sign(c.Owner); err != nil {
		t.Fatal(err)
	}
	if err := mb.Dump(c.Layout); err != nil {
		t.Fatal(err)
	}
}

// Record makes one step's link: materials, then the work, then products.
func (c *Chain) Record(t *testing.T, name string, k intoto.Key, mats, prods []string, work func()) {
	t.Helper()
	start, err := intoto.InTotoRecordStart(name, mats, k, []string{"sha256"}, nil, nil, false, false, false)
	if err != nil {
		t.Fatal(err)
	}
	work()
	link, err := intoto.InTotoRecordStop(start, prods, k, []string{"sha256"}, nil, nil, false, false, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := link.Dump(filepath.Join(c.Links, LinkName(name, k))); err != nil {
		t.Fatal(err)
	}
}

// LinkName is in-toto's link file name for a step and its signer.
func LinkName(step string, k intoto.Key) string { return step + "." + k.KeyID[:8] + ".link" }
