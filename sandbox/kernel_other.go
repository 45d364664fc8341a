//go:build !linux

package sandbox

// kernel is not read outside Linux.
func kernel() string { return "" }
