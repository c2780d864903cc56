package eenv3

import (
	"context"
	"net/http/httptrace"
	"sync"
	"time"
)

// writeSettle bounds the wait, after a failed request, for its connection
// to close (or its write to end) so the bytes written are final.
const writeSettle = 2 * time.Second

// sendTrace tells, after a token request failed, whether it may have
// reached the server. When in doubt it says sent: a token presented twice
// costs the grant, a token wrongly taken as spent costs a sign-in.
type sendTrace struct {
	mu      sync.Mutex
	counted []connMark // connections the request got, with counted bytes
	foreign int        // connections the request got without a count
	writes  int        // requests written out to the transport (foreign only)
	wrote   bool       // one of them without error
	ended   chan struct{}
}

// connMark is a counted connection and its count when the request got it
// (a TLS handshake writes before that).
type connMark struct {
	conn  *countingConn
	start int64
}

func newSendTrace() *sendTrace { return &sendTrace{ended: make(chan struct{}, 1)} }

// attach returns ctx with the hooks that feed the trace.
func (t *sendTrace) attach(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			t.mu.Lock()
			defer t.mu.Unlock()
			if cc := countedConn(info.Conn); cc != nil {
				t.counted = append(t.counted, connMark{cc, cc.written.Load()})
			} else {
				t.foreign++
			}
		},
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			t.mu.Lock()
			t.writes++
			t.wrote = t.wrote || info.Err == nil
			t.mu.Unlock()
			select {
			case t.ended <- struct{}{}:
			default:
			}
		},
	})
}

// sent reports whether the failed request may have reached the server: a
// byte of it went out on a counted connection, or, on a connection that
// is not counted, net/http took the whole request to write (it reports
// that before the bytes leave its buffer, so this errs towards sent).
func (t *sendTrace) sent() bool {
	timer := time.NewTimer(writeSettle)
	defer timer.Stop()
	t.mu.Lock()
	counted, foreign := t.counted, t.foreign
	t.mu.Unlock()
	for _, m := range counted {
		select {
		case <-m.conn.closed:
		case <-timer.C:
			return true // still open: bytes may yet go out
		}
		if m.conn.written.Load() > m.start {
			return true
		}
	}
	if foreign == 0 {
		return false
	}
	for {
		t.mu.Lock()
		writes, wrote := t.writes, t.wrote
		t.mu.Unlock()
		if wrote || writes >= foreign {
			return wrote
		}
		select {
		case <-t.ended:
		case <-timer.C:
			return true
		}
	}
}
