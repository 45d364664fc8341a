// Package audit reads a transparency log the way an auditor does: every
// checkpoint verified with the log key of the trusted root, every entry and
// hash tile proven against it (transparency-dev's merkle and tessera client
// libraries), consistency between checkpoints proven, entries parsed for
// who signed what (Fulcio identity, key id, signed digest).
//
// On top: Search (entries by identity, issuer, key or digest), Monitor
// (resume from a kept checkpoint, alarms for unexpected signers), VerifyBundle
// (a bundle's entry re-verified online), BuildReport (a report to file) and
// BuildGraph (a run drawn as stages and artifacts).
//
// Log and its Search, Monitor and reports read Rekor v2 (C2SP tlog-tiles).
// RekorV1 reads a Rekor v1 log through its REST API with rekor's own client
// and verification helpers: entries by index or UUID, index search by
// identity and digest, consistency proofs, and VerifyBundle for bundles whose
// entry is Rekor v1's (BundleRekorVersion tells which).
package audit
