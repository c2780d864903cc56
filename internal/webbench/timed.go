package webbench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// LoadTimed is Load that also returns every request's latency, from
// writing the request to reading the last byte of its answer.
func LoadTimed(ctx context.Context, addr, path string, conns int, total int64, wantBody int) (LoadResult, []time.Duration, error) {
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: bench\r\nUser-Agent: camrelay-webbench\r\n\r\n")
	var left, bytes atomic.Int64
	left.Store(total)
	lats := make([][]time.Duration, conns)
	errs := make([]error, conns)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range conns {
		lats[i] = make([]time.Duration, 0, total/int64(conns)+1)
		wg.Go(func() {
			n, err := loadConn(ctx, addr, req, &left, wantBody, &lats[i])
			bytes.Add(n)
			errs[i] = err
		})
	}
	wg.Wait()
	res := LoadResult{Requests: total - max(left.Load(), 0), Bytes: bytes.Load(), Elapsed: time.Since(start)}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	for _, err := range errs {
		if err != nil {
			return res, all, err
		}
	}
	return res, all, nil
}
