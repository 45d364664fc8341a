// Package gate is the release gate: a pipeline run's signed statements
// judged against the model owner's signed layout before a model is
// released. VerifyLayout reads the layout and its bundle, verifies every
// bundle of the run with package verify (signature, certificate chain, log
// and timestamp proofs, functionary identity), and applies the layout's
// artifact rules, expected commands, CEL expectations on predicates,
// thresholds, base-model pins and the final subject rule. The Report it
// returns names every failure by step, rule and artifact, and carries the
// per-file digests of the released model that the verdict rests on, from
// which the verification summary (VSA) is built.
//
// The released model is a file or directory on disk (LayoutOptions.Model,
// hashed with package digest's walker), or a model that is not on disk,
// given by the names and SHA-256 digests of its files
// (LayoutOptions.ModelDigests: for a model in an OCI registry, each
// layer's title annotation and digest, so that nothing is downloaded to
// verify it). Either way its files are compared one to one, name for name,
// with the subject step's products, and the report carries exactly these
// digests.
//
// The gate sits above verify: verify knows nothing of layouts, CEL or
// signing, and the gate never imports the signing or step-running packages.
package gate
