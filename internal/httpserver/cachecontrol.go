package httpserver

import (
	"fmt"
	"net/http"
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
