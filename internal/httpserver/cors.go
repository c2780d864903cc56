package httpserver

import (
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"
)

// Shared CORS header values; never modified.
var (
	anyOrigin    = []string{"*"}
	exposed      = []string{"ETag, Last-Modified, X-Frame-Timestamp, X-Image-Width"}
	varyOrigin   = []string{"Origin"}
	allowMethods = []string{"GET, HEAD"}
	allowHeaders = []string{"Last-Event-ID, If-None-Match, Cache-Control"}
	maxAge       = []string{"86400"}
)

// cors lets pages on other origins read what the replica serves: every
// route answers only public previews and carries no credentials, so the
// default is any origin; AllowedOrigins narrows it to a list. A preflight
// is answered here, before any route.
func (s *Server) cors(c *gin.Context) {
	h := c.Writer.Header()
	origin := c.Request.Header.Get("Origin")
	switch {
	case s.anyOrigin:
		h["Access-Control-Allow-Origin"] = anyOrigin
	case origin != "" && slices.Contains(s.cfg.AllowedOrigins, origin):
		h["Access-Control-Allow-Origin"] = []string{origin}
		h["Vary"] = varyOrigin
	default:
		h["Vary"] = varyOrigin
		return // not allowed: the browser keeps the answer from the page
	}
	h["Access-Control-Expose-Headers"] = exposed
	if c.Request.Method == http.MethodOptions {
		h["Access-Control-Allow-Methods"] = allowMethods
		h["Access-Control-Allow-Headers"] = allowHeaders
		h["Access-Control-Max-Age"] = maxAge
		c.AbortWithStatus(http.StatusNoContent)
	}
}
