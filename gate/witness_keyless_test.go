package gate

import (
	"context"
	"encoding/pem"
	"testing"

	protojson "google.golang.org/protobuf/encoding/protojson"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/witnesstest"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/sign"
)

// TestVerifyLayoutWitnessKeyless: witness signing keylessly (a Fulcio
// certificate and an RFC 3161 timestamp in the envelope, as its fulcio
// signer and timestamper write them) publishes nothing to a transparency
// log. The same signature counts when it comes as a Sigstore bundle with
// its log entry, and the bare envelope is refused for exactly that missing
// entry: the trust model's log requirement holds for every client.
func TestVerifyLayoutWitnessKeyless(t *testing.T) {
	f := newStackFixture(t)
	s := f.stack
	sc, err := sign.LoadSigningConfig(s.SigningConfig)
	if err != nil {
		t.Fatal(err)
	}
	sg, err := sign.New(sign.WithSigningConfig(sc), sign.WithTrustedMaterial(f.trusted),
		sign.WithTokenSource(sign.StaticToken{Value: s.Token(t, 1, "witness@example.com"), From: "test"}))
	if err != nil {
		t.Fatal(err)
	}
	pb, err := sg.SignStatement(context.Background(), witnessTrain().Payload(t))
	if err != nil {
		t.Fatal(err)
	}
	vm := pb.GetVerificationMaterial()
	sig := witnesstest.Signature{
		Sig:         pb.GetDsseEnvelope().GetSignatures()[0].GetSig(),
		Certificate: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: vm.GetCertificate().GetRawBytes()}),
	}
	for _, ts := range vm.GetTimestampVerificationData().GetRfc3161Timestamps() {
		sig.Timestamps = append(sig.Timestamps, witnesstest.Timestamp{Type: "tsp", Data: ts.GetSignedTimestamp()})
	}
	if len(vm.GetTlogEntries()) == 0 || len(sig.Timestamps) == 0 {
		t.Fatalf("the stack's bundle should carry a log entry and a TSA timestamp: %d, %d", len(vm.GetTlogEntries()), len(sig.Timestamps))
	}
	env := witnesstest.Envelope{Payload: pb.GetDsseEnvelope().GetPayload(), PayloadType: predicates.PayloadType, Signatures: []witnesstest.Signature{sig}}
	bundleJSON, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, file string
		data       []byte
		code       FailureCode // "" = passes
		substr     string
	}{
		{"as a Sigstore bundle with its log entry", "train.witness.sigstore.json", bundleJSON, "", ""},
		{"as witness's bare envelope", "train.witness.dsse.json", env.JSON(t), FailBundle,
			"tlog: failed to verify log inclusion: not enough verified log entries from transparency log: 0 < 1 (a bare DSSE envelope carries no transparency-log entry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &keyRun{dir: t.TempDir(), owner: newKey(t), ci: newKey(t)}
			y := "serial: 1\nexpires: \"2099-01-01T00:00:00Z\"\nfunctionaries:\n  ci:\n    key: |\n" + pemIndented(t, r.ci.Public()) +
				"\n  witness:\n    keyless: {issuer: \"" + s.Issuer(t, 1) + "\", subject: witness@example.com}\n" + `steps:
  - name: prep
    functionaries: [ci]
    expectedProducts: [CREATE data.txt, DISALLOW *]
  - name: train
    functionaries: [witness]
    expectedMaterials: [MATCH data.txt WITH PRODUCTS FROM prep, DISALLOW *]
    expectedProducts: [CREATE model/m.bin, DISALLOW *]
    expectedPredicates:
      - type: ` + predicates.WitnessCollectionV01 + `
subject:
  step: train
  patterns: ["model/*"]
`
			r.setLayout(t, y)
			r.makeDirs(t)
			r.put(t, "prep.link", r.ci, koLink(t, "prep", nil, []digest.Artifact{art("data.txt", koData)}))
			writeFile(t, r.att, tc.file, tc.data)
			writeFile(t, r.model, "m.bin", koModel)
			rep, err := VerifyLayout(context.Background(), r.opts(f.trusted))
			if err != nil {
				t.Fatal(err)
			}
			if tc.code == "" {
				if !rep.Passed {
					t.Fatalf("want pass:\n%s", failureList(rep))
				}
				return
			}
			if rep.Passed || !rep.HasFailure(tc.code, tc.substr) || !rep.HasFailure(FailStepMissing, "step train") {
				t.Fatalf("want %s with %q and train missing:\n%s", tc.code, tc.substr, failureList(rep))
			}
		})
	}
}
