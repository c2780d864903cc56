//go:build !unix

package bench

// raiseFileLimit does nothing where there are no rlimits.
func raiseFileLimit(n uint64) error { return nil }
