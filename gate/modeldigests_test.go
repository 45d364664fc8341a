package gate

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/predicates"
)

// ociModel names a model that is not on disk, as the registry names one.
const ociModel = "oci://127.0.0.1:5000/acme/model@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

var koConfig = []byte(`{"layers":2}`)

// twoFileRun is newKeyRun whose train step creates model/m.bin and
// model/config.json, so that a missing file can be told from a wrong one.
func twoFileRun(t *testing.T) *keyRun {
	t.Helper()
	r := newKeyRun(t, "", false)
	y := strings.Replace(mustRead(t, r.layout), "[CREATE model/m.bin, DISALLOW *]", "[CREATE model/*, DISALLOW *]", 1)
	r.setLayout(t, y)
	r.put(t, "train.link", r.ci, koLink(t, "train", []digest.Artifact{art("data.txt", koData)},
		[]digest.Artifact{art("model/m.bin", koModel), art("model/config.json", koConfig)}))
	return r
}

// LayoutOptions.ModelDigests: a released model given by its files' names
// and digests (an OCI manifest's layers) is compared with the subject
// step's products as a hashed directory is, and the report's model digests
// are the ones given, in every outcome.
func TestVerifyLayoutModelDigests(t *testing.T) {
	good := []digest.Artifact{art("m.bin", koModel), art("config.json", koConfig)}
	for _, tc := range []struct {
		name   string
		files  []digest.Artifact
		code   FailureCode // "" = passes
		substr string
	}{
		{name: "the products' names and digests pass", files: good},
		{name: "order does not matter", files: []digest.Artifact{good[1], good[0]}},
		{name: "a swapped digest fails", files: []digest.Artifact{art("m.bin", []byte("swapped")), good[1]},
			code: FailSubject, substr: "released file has sha256:" + hexSum([]byte("swapped")) + ", but product model/m.bin of step train has sha256:" + hexSum(koModel)},
		{name: "two files' digests exchanged fail", files: []digest.Artifact{{Name: "m.bin", SHA256: good[1].SHA256}, {Name: "config.json", SHA256: good[0].SHA256}},
			code: FailSubject, substr: "product model/config.json of step train has sha256:" + hexSum(koConfig)},
		{name: "an extra file fails", files: append(good[:2:2], art("extra.bin", []byte("x"))),
			code: FailSubject, substr: "extra.bin: released file (sha256:" + hexSum([]byte("x")) + ") is not a product of step train (none is named model/extra.bin)"},
		{name: "a missing file fails", files: good[:1],
			code: FailSubject, substr: "model/config.json: product of step train (sha256:" + hexSum(koConfig) + ") is missing from the released model"},
		{name: "a file given twice fails", files: append(good[:2:2], good[0]),
			code: FailSubject, substr: "m.bin: released twice as product model/m.bin"},
		{name: "a name that is no clean path fails", files: append(good[:2:2], art("./m.bin", koModel)),
			code: FailArtifactName, substr: "./m.bin: released file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := twoFileRun(t)
			given := &ModelDigests{Path: ociModel, Files: tc.files}
			opts := r.opts(nil)
			opts.Model, opts.ModelDigests = "", given
			rep, err := VerifyLayout(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if tc.code == "" {
				if !rep.Passed {
					t.Fatalf("want pass:\n%s", failureList(rep))
				}
			} else if rep.Passed || !rep.HasFailure(tc.code, tc.substr) {
				t.Fatalf("want %s with %q, got:\n%s", tc.code, tc.substr, failureList(rep))
			}
			if rep.Model == nil || rep.Model.Path != ociModel || !reflect.DeepEqual(rep.Model.Files, tc.files) {
				t.Errorf("report model = %+v, want the digests given", rep.Model)
			}
			if rep.Subject.Model != ociModel {
				t.Errorf("subject model = %q, want %q", rep.Subject.Model, ociModel)
			}
		})
	}

	// The same run and model verified from disk agrees (a control: the
	// digests given are those digest.Paths computes).
	r := twoFileRun(t)
	writeFile(t, r.model, "config.json", koConfig)
	rep, err := VerifyLayout(context.Background(), r.opts(nil))
	if err != nil || !rep.Passed {
		t.Fatalf("the model on disk: %v\n%s", err, failureList(rep))
	}
	if want := []digest.Artifact{good[1], good[0]}; !reflect.DeepEqual(rep.Model.Files, want) {
		t.Errorf("hashed %+v, want %+v", rep.Model.Files, want)
	}
}

// A layout whose products list a digest other than sha256 cannot be
// satisfied by a model given by SHA-256s: the file is not read from
// anywhere, and the product fails.
func TestVerifyLayoutModelDigestsOtherAlgorithm(t *testing.T) {
	r := newKeyRun(t, "", false)
	train := koTrain(t)
	train.Subject[0].Digest["sha512"] = sha512Hex(koModel)
	r.put(t, "train.link", r.ci, train)
	opts := r.opts(nil)
	opts.Model, opts.ModelDigests = "", &ModelDigests{Path: r.model, Files: []digest.Artifact{art("m.bin", koModel)}}
	rep, err := VerifyLayout(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed || !rep.HasFailure(FailSubject, "lists a sha512 digest, which was not computed for the released file") {
		t.Fatalf("want the sha512 digest not computed:\n%s", failureList(rep))
	}
	// Control: the same model on disk is hashed with sha512 and passes.
	if rep, err := VerifyLayout(context.Background(), r.opts(nil)); err != nil || !rep.Passed {
		t.Fatalf("from disk: %v\n%s", err, failureList(rep))
	}
}

// Exactly one of Model and ModelDigests; digests given must be SHA-256s.
func TestVerifyLayoutModelInputErrors(t *testing.T) {
	r := newKeyRun(t, "", false)
	ok := []digest.Artifact{art("m.bin", koModel)}
	for _, tc := range []struct {
		name   string
		model  string
		given  *ModelDigests
		substr string
		is     error
	}{
		{name: "neither", substr: "exactly one of LayoutOptions.Model and LayoutOptions.ModelDigests"},
		{name: "both", model: r.model, given: &ModelDigests{Path: ociModel, Files: ok}, substr: "exactly one of"},
		{name: "no files", given: &ModelDigests{Path: ociModel}, substr: "model " + ociModel + ": no files"},
		{name: "no path", given: &ModelDigests{Files: ok}, substr: "ModelDigests.Path is empty"},
		{name: "a digest that is not sha256 hex", given: &ModelDigests{Path: ociModel, Files: []digest.Artifact{{Name: "m.bin", SHA256: "sha256:" + hexSum(koModel)}}},
			substr: `file "m.bin"`, is: predicates.ErrDigestSet},
		{name: "an uppercase digest", given: &ModelDigests{Path: ociModel, Files: []digest.Artifact{{Name: "m.bin", SHA256: strings.ToUpper(hexSum(koModel))}}},
			substr: "lowercase hex", is: predicates.ErrDigestSet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := r.opts(nil)
			opts.Model, opts.ModelDigests = tc.model, tc.given
			rep, err := VerifyLayout(context.Background(), opts)
			if err == nil || rep != nil || !strings.Contains(err.Error(), tc.substr) || tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("want an input error with %q (is %v), got %v, report %v", tc.substr, tc.is, err, rep)
			}
		})
	}
}
