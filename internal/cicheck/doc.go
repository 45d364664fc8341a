// Package cicheck holds no code, only tests of the repository's CI
// integration as files: every `uses:` in action.yml and the example
// workflows is pinned to a full commit, actionlint passes on all of them,
// the composite action installs and checks what it builds, and SECURITY.md
// cites only tests that exist.
package cicheck
