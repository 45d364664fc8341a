package predicates

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestParseStatementType: a _type other than Statement v1 is its own error
// (verify reports it as an unexpected statement, not a malformed one).
func TestParseStatementType(t *testing.T) {
	link, err := os.ReadFile(filepath.Join("testdata", "link.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"https://in-toto.io/Statement/v0.1", StatementTypeV1 + "/", "HTTPS://in-toto.io/Statement/v1", "https://in-toto.io/Statement/V1"} {
		b := bytes.Replace(link, []byte(`"`+StatementTypeV1+`"`), []byte(`"`+typ+`"`), 1)
		if _, err := ParseStatement(b); !errors.Is(err, ErrStatementType) {
			t.Errorf("_type %s: err = %v, want ErrStatementType", typ, err)
		}
	}
	if _, err := ParseStatement(link); err != nil {
		t.Fatal(err)
	}
	// A missing or non-string _type is malformed, not another type.
	for _, b := range [][]byte{
		bytes.Replace(link, []byte(`"_type":"`+StatementTypeV1+`",`), nil, 1),
		bytes.Replace(link, []byte(`"`+StatementTypeV1+`"`), []byte(`1`), 1),
	} {
		if _, err := ParseStatement(b); err == nil || errors.Is(err, ErrStatementType) {
			t.Errorf("err = %v, want a schema error", err)
		}
	}
}
