package attest

import "errors"

// Errors are classified by when they happen, because the caller's response
// differs: before the command ran nothing has happened and nothing must be
// written; after it ran, its effects are real but could not be recorded.
var (
	// ErrInput marks a failure detected before the wrapped command ran (bad
	// flag value, missing or unreadable material, unparseable input, dirty
	// git tree when a clean one was required, command not found). The
	// command has not run. `mlattest run` exits 125 and writes nothing.
	ErrInput = errors.New("invalid step input")
	// ErrRecord marks a failure after the wrapped command ran (a product
	// could not be digested after a successful command, a statement could not
	// be built). Run still returns a Record carrying the exit code, without
	// statements.
	ErrRecord = errors.New("cannot record step")
	// ErrPickleInput (with ErrInput) refuses a pickle-format input, which
	// AllowPickle accepts.
	ErrPickleInput = errors.New("loading it may run code")
	// ErrPinsWithoutBaseModel (with ErrInput): base-model pins were given
	// (WithBaseModelPins) for a step that names no base model.
	ErrPinsWithoutBaseModel = errors.New("pins given but no base model (Step.BaseModels) to check")
)

// A command that exits non-zero is not an error: Record.ExitCode says so and
// the statements record it.
