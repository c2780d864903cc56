//go:build unix

package bench

import (
	"fmt"
	"syscall"
)

// raiseFileLimit lifts the soft limit on open files to at least n, up to
// the hard limit: 10,000 clients need 10,000 descriptors in each process.
func raiseFileLimit(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= n {
		return nil
	}
	lim.Cur = min(n, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur < n {
		return fmt.Errorf("need %d open files, the hard limit is %d: raise it (ulimit -Hn) or use fewer clients", n, lim.Max)
	}
	return nil
}
