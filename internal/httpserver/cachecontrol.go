package httpserver

import (
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// MaxCacheMaxAge bounds CacheMaxAge: a still older than this is no live
// picture any more.
const MaxCacheMaxAge = time.Hour

// stillCacheControl is the Cache-Control of a still (200 and 304): today's
// no-cache when maxAge is 0; otherwise shared caches (a CDN, nginx) may
// keep it maxAge. A camera sends 1 to 4 images a second, so:
//   - stale-while-revalidate=2: while one request refreshes the copy, others
//     get the previous image, at most ~2 s (a few frames) old;
//   - stale-if-error=10: while replicas are down or answer 503, a cache
//     keeps showing the last image up to 10 s (below the 15 s FRAME_TTL
//     default after which camrelay itself stops serving a frame).
//
// Errors (fail) are no-store, so a cache never keeps a 503 or a 404.
func stillCacheControl(maxAge time.Duration) []string {
	if maxAge <= 0 {
		return noCache
	}
	secs := max(int(maxAge/time.Second), 1) // max-age counts whole seconds
	return []string{fmt.Sprintf("public, max-age=%d, stale-while-revalidate=2, stale-if-error=10", secs)}
}

// nginxExpiry is a still's X-Accel-Expires, for nginx only (it hides the
// header from viewers; other caches ignore it). nginx keeps a still
// "max-age=N" from the whole second it got it plus N, so up to N+1 s:
// a new frame could wait twice max-age behind a 1 s microcache. An
// absolute expiry at the end of the second max-age ends in keeps it at
// most max-age, every camera's copy expiring on a whole second: one
// refresh per camera per second, and a new frame reaches viewers within
// max-age plus a refresh. It assumes nginx's clock agrees with the
// replica's to well under a second (one host, or NTP).
type nginxExpiry struct {
	ahead int64 // whole seconds after the current one
	cur   atomic.Pointer[expiryValue]
}

type expiryValue struct {
	sec int64
	h   []string
}

// newNginxExpiry is nil when stills are not cacheable (maxAge 0).
func newNginxExpiry(maxAge time.Duration) *nginxExpiry {
	if maxAge <= 0 {
		return nil
	}
	return &nginxExpiry{ahead: int64(max(maxAge/time.Second, 1)) - 1}
}

// header is the value at now: "@" and a Unix time, made once a second.
func (e *nginxExpiry) header(now time.Time) []string {
	sec := now.Unix()
	if v := e.cur.Load(); v != nil && v.sec == sec {
		return v.h
	}
	v := &expiryValue{sec: sec, h: []string{"@" + strconv.FormatInt(sec+e.ahead, 10)}}
	e.cur.Store(v)
	return v.h
}

// notModified says whether the request's validators match an image's
// etag and time: If-None-Match when given (it wins, RFC 9110 13.2.2),
// else If-Modified-Since.
func notModified(r *http.Request, etag string, ts preview.Timestamp) bool {
	if inm := r.Header["If-None-Match"]; len(inm) > 0 {
		return etagMatch(inm[0], etag)
	}
	ims := r.Header.Get("If-Modified-Since")
	if ims == "" {
		return false
	}
	t, err := http.ParseTime(ims)
	return err == nil && !ts.Time().Truncate(time.Second).After(t)
}
