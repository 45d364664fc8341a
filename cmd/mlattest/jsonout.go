package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
)

// writtenFile is one file a command wrote, as its --json output lists it.
type writtenFile struct {
	Path          string `json:"path"`
	Kind          string `json:"kind,omitempty"` // link, provenance, product-scan, pin, private-key, ...
	PredicateType string `json:"predicateType,omitempty"`
	SHA256        string `json:"sha256"` // of the file's bytes as written
	Signed        bool   `json:"signed"`
}

// newWrittenFile describes path, which the command has just written.
func newWrittenFile(path, kind, predicateType string, signed bool) (writtenFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return writtenFile{}, fmt.Errorf("reading back %s: %w", path, err)
	}
	sum := sha256.Sum256(data)
	return writtenFile{Path: path, Kind: kind, PredicateType: predicateType, SHA256: hex.EncodeToString(sum[:]), Signed: signed}, nil
}

// stepJSON is the --json object of run and attest.
type stepJSON struct {
	Step      string        `json:"step"`
	RunID     string        `json:"runId"`
	ExitCode  int           `json:"exitCode"`
	Signer    string        `json:"signer"`
	Materials int           `json:"materials"`
	Products  int           `json:"products"`
	Files     []writtenFile `json:"files"`
	Error     string        `json:"error,omitempty"` // why a statement is unsigned
}
