package bench

import (
	"context"
	"time"

	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/inproc"
)

// startStackV3 is startStack on EEN API v3: the simulator speaks v3 (its
// access tokens live an hour, so no refresh falls in a measurement), and
// the stack is signed in once, as "fetcher connect" does, before any
// fetcher starts.
func (e *env) startStackV3(ctx context.Context, name string, n int, interval time.Duration, lockTTL time.Duration) (*stack, error) {
	s, err := e.stackOn(name+"-v3", n, interval, lockTTL)
	if err != nil {
		return nil, err
	}
	redirect, err := testbed.FreeAddr()
	if err == nil {
		s.Vars = s.Vars.WithV3("http://"+redirect, 0)
		err = s.StartSim(ctx)
	}
	if err == nil {
		_, err = inproc.Connect(ctx, s.Vars.Fetcher)
	}
	if err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}
