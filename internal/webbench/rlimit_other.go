//go:build !unix

package webbench

// RaiseFileLimit does nothing where there are no rlimits.
func RaiseFileLimit(n uint64) error { return nil }
