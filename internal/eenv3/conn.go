package eenv3

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// countingConn counts the bytes written to the network, so that a failed
// token request tells whether any of it went out.
type countingConn struct {
	net.Conn
	mu      sync.RWMutex // held shared by a write, so Close sees its count
	written atomic.Int64
	once    sync.Once
	closed  chan struct{}
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n, err := c.Conn.Write(p)
	c.written.Add(int64(n))
	return n, err
}

// Close closes the connection first (which ends a blocked write), then
// waits for a write under way to count its bytes before saying closed.
func (c *countingConn) Close() error {
	err := c.Conn.Close()
	c.mu.Lock()
	c.once.Do(func() { close(c.closed) })
	c.mu.Unlock()
	return err
}

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

func counting(dial dialFunc) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: c, closed: make(chan struct{})}, nil
	}
}

// countedConn returns the countingConn under c, or nil.
func countedConn(c net.Conn) *countingConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	cc, _ := c.(*countingConn)
	return cc
}

// tokenClient is hc for the token endpoint: a new HTTP/1.1 connection for
// each request, whose written bytes are counted. No connection is ever
// reused (a keep-alive connection the server closes just as a refresh
// goes out would leave it unknown whether the token was spent), and with
// HTTP/1.1 the connection closes when the request ends, so its count is
// final. A transport other than *http.Transport is used as it is.
func tokenClient(hc *http.Client) *http.Client {
	c := httpClient(hc)
	base, ok := c.Transport.(*http.Transport)
	if c.Transport == nil {
		base, ok = http.DefaultTransport.(*http.Transport)
	}
	if !ok || base.Dial != nil || base.DialTLS != nil {
		return c
	}
	t := base.Clone()
	t.DisableKeepAlives = true
	t.ForceAttemptHTTP2 = false
	t.Protocols = new(http.Protocols)
	t.Protocols.SetHTTP1(true)
	t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	if t.TLSClientConfig != nil {
		t.TLSClientConfig.NextProtos = slices.DeleteFunc(slices.Clone(t.TLSClientConfig.NextProtos), func(p string) bool { return p == "h2" })
	}
	dial := t.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	t.DialContext = counting(dial)
	if t.DialTLSContext != nil {
		t.DialTLSContext = counting(t.DialTLSContext)
	}
	c.Transport = t
	return c
}
