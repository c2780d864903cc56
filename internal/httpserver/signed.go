package httpserver

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/signing"
)

// grant is what a request's signed link allows: for a public camera,
// everything and nothing to pass on.
type grant struct {
	query string    // "exp=…&kid=…&sig=…", for the URLs the answer names; "" when public
	until time.Time // the link's end; zero when public
}

// admit applies a camera's own access rules to a request on one of its
// routes: its allowed sites (CORS), and for a signed camera a valid link
// (403 with a reason that tells nothing about the keys). A public camera
// without origins costs two comparisons.
func (s *Server) admit(c *gin.Context, cam preview.Camera) (grant, bool) {
	if cam.Origins != "" {
		cameraCORS(c, cam)
	}
	if !cam.Signed {
		return grant{}, true
	}
	l, err := s.cfg.SigningKeys.Verify(cam.ESN, c.Request.URL.RawQuery, time.Now())
	if err != nil {
		fail(c, http.StatusForbidden, signing.Reason(err))
		return grant{}, false
	}
	return grant{query: l.Query(), until: l.Expires()}, true
}

// cameraCORS narrows the answer's CORS to the camera's own origins,
// whatever CORS_ORIGINS allowed.
func cameraCORS(c *gin.Context, cam preview.Camera) {
	h := c.Writer.Header()
	h["Vary"] = varyOrigin
	if o := c.Request.Header.Get("Origin"); cam.AllowsOrigin(o) {
		h["Access-Control-Allow-Origin"] = []string{o}
		h["Access-Control-Expose-Headers"] = exposed
		return
	}
	delete(h, "Access-Control-Allow-Origin")
	delete(h, "Access-Control-Expose-Headers")
}

// param is the grant as more query parameters ("&exp=…"), "" when public.
func (g grant) param() string {
	if g.query == "" {
		return ""
	}
	return "&" + g.query
}

// bound makes a stream end when its link does, as if the client had gone:
// the stream's loop sees st.done. It returns release with the timer's
// cleanup added; a public camera's stream is left as it is.
func (g grant) bound(c *gin.Context, st *stream, release func()) func() {
	if g.until.IsZero() {
		return release
	}
	parent := context.Background() // taken over: the request's context is over
	if st.conn == nil {
		parent = c.Request.Context()
	}
	ctx, cancel := context.WithDeadline(parent, g.until)
	st.done = ctx.Done()
	return func() { cancel(); release() }
}

// embedPolicy is the embed page's Content-Security-Policy for a camera
// with allowed sites: only they may frame it.
func embedPolicy(cam preview.Camera) []string {
	return []string{pageCSP + "; frame-ancestors " + strings.ReplaceAll(cam.Origins, "|", " ")}
}

// privateStill is a signed camera's still's Cache-Control: no shared cache
// (nginx's microcache keys stills by path and width, not by link) may
// keep it and hand it to someone without a link.
var privateStill = []string{"private, no-store"}
