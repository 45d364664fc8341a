package intotoclassic

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"sort"
	"strings"

	intoto "github.com/in-toto/in-toto-golang/in_toto"

	"github.com/mlattest/mlattest/layouts"
)

// Import converts a classic in-toto layout into an mlattest layout (YAML,
// unsigned: its owner signs it with 'mlattest layout sign'): functionary
// keys, steps, thresholds and artifact rules carry over; the final step's
// products become the released subject. What cannot be carried over is
// returned as notes, one line each: inspections (never run), expected
// commands (in-toto only warns on a mismatch, mlattest would enforce them),
// certificate constraints, root and intermediate CAs, the readme, and any
// rule mlattest's rule grammar refuses. The YAML is checked with
// layouts.Parse before it is returned.
func Import(l intoto.Layout) ([]byte, []string, error) {
	var b strings.Builder
	var notes []string
	note := func(format string, args ...any) { notes = append(notes, fmt.Sprintf(format, args...)) }

	b.WriteString("# Imported from a classic in-toto layout by 'mlattest layout import'.\n")
	b.WriteString("serial: 1\n")
	note("serial: set to 1 (in-toto layouts have none); raise it with every new version")
	fmt.Fprintf(&b, "expires: %s\n", quote(l.Expires))

	names := make(map[string]string, len(l.Keys)) // key id -> functionary name
	ids := make([]string, 0, len(l.Keys))
	for id := range l.Keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	b.WriteString("functionaries:\n")
	for _, id := range ids {
		pemKey, err := publicPEM(l.Keys[id])
		if err != nil {
			return nil, nil, fmt.Errorf("intotoclassic: key %s: %w", id, err)
		}
		name := "key-" + id[:min(12, len(id))]
		names[id] = name
		fmt.Fprintf(&b, "  %s:\n    key: |\n", name)
		for _, line := range strings.Split(strings.TrimSpace(pemKey), "\n") {
			fmt.Fprintf(&b, "      %s\n", line)
		}
	}

	b.WriteString("steps:\n")
	for _, s := range l.Steps {
		fmt.Fprintf(&b, "  - name: %s\n", quote(s.Name))
		var fs []string
		for _, id := range s.PubKeys {
			n, ok := names[id]
			if !ok {
				return nil, nil, fmt.Errorf("intotoclassic: step %q names key %s, which the layout does not list", s.Name, id)
			}
			fs = append(fs, n)
		}
		fmt.Fprintf(&b, "    functionaries: [%s]\n", strings.Join(fs, ", "))
		if s.Threshold > 1 {
			fmt.Fprintf(&b, "    threshold: %d\n", s.Threshold)
		}
		if len(s.ExpectedCommand) > 0 {
			note("step %s: expected_command %q not carried over (in-toto only warns on a mismatch; add expectedCommand to enforce it)", s.Name, s.ExpectedCommand)
		}
		if len(s.CertificateConstraints) > 0 {
			note("step %s: cert_constraints not supported (functionaries are keys or keyless identities)", s.Name)
		}
		writeRules(&b, "expectedMaterials", s.Name, s.ExpectedMaterials, note)
		writeRules(&b, "expectedProducts", s.Name, s.ExpectedProducts, note)
	}
	for _, in := range l.Inspect {
		note("inspection %s (run %q): not supported, never run", in.Name, in.Run)
	}
	if len(l.RootCas) > 0 || len(l.IntermediateCas) > 0 {
		note("rootcas/intermediatecas: not supported")
	}
	if l.Readme != "" {
		note("readme: dropped")
	}
	if len(l.Steps) == 0 {
		return nil, nil, fmt.Errorf("intotoclassic: the layout has no step")
	}
	last := l.Steps[len(l.Steps)-1].Name
	fmt.Fprintf(&b, "subject:\n  step: %s\n  patterns: [\"*\"]\n", quote(last))
	note("subject: the released model is any product of the last step, %s (in-toto has no subject rule); narrow the patterns", last)

	out := []byte(b.String())
	if _, err := layouts.Parse(out, "imported layout"); err != nil {
		return nil, nil, fmt.Errorf("intotoclassic: the converted layout does not parse: %w", err)
	}
	return out, notes, nil
}

func writeRules(b *strings.Builder, field, step string, rules [][]string, note func(string, ...any)) {
	var ok []string
	for _, r := range rules {
		s := strings.Join(r, " ")
		if _, err := layouts.ParseRule(s); err != nil {
			note("step %s: %s rule %q dropped: %v", step, field, s, err)
			continue
		}
		ok = append(ok, s)
	}
	if len(ok) == 0 {
		return
	}
	fmt.Fprintf(b, "    %s:\n", field)
	for _, s := range ok {
		fmt.Fprintf(b, "      - %s\n", quote(s))
	}
}

// quote writes a YAML double-quoted scalar (JSON strings are valid YAML).
func quote(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// publicPEM returns an in-toto key's public half as PKIX PEM: ecdsa and rsa
// keys carry PEM already, ed25519 keys carry hex.
func publicPEM(k intoto.Key) (string, error) {
	pub := k.KeyVal.Public
	if strings.Contains(pub, "-----BEGIN") {
		return pub, nil
	}
	if k.KeyType == "ed25519" {
		raw, err := hex.DecodeString(pub)
		if err != nil || len(raw) != ed25519.PublicKeySize {
			return "", fmt.Errorf("ed25519 public key is not %d hex bytes", ed25519.PublicKeySize)
		}
		der, err := x509.MarshalPKIXPublicKey(ed25519.PublicKey(raw))
		if err != nil {
			return "", err
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
	}
	return "", fmt.Errorf("key type %q without a PEM public key", k.KeyType)
}
