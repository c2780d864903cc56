package httpserver

import (
	"net/http"
	"slices"
	"strings"

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
// is answered here, before any route, unless it is on a camera's route
// (cameraPreflight).
func (s *Server) cors(c *gin.Context) {
	h := c.Writer.Header()
	origin := c.Request.Header.Get("Origin")
	switch {
	case s.anyOrigin:
		h["Access-Control-Allow-Origin"] = anyOrigin
		h["Access-Control-Expose-Headers"] = exposed
	case origin != "" && slices.Contains(s.cfg.AllowedOrigins, origin):
		h["Access-Control-Allow-Origin"] = []string{origin}
		h["Access-Control-Expose-Headers"] = exposed
		h["Vary"] = varyOrigin
	default:
		h["Vary"] = varyOrigin // not allowed: the browser keeps the answer from the page
	}
	if c.Request.Method == http.MethodOptions && c.FullPath() == "" {
		answerPreflight(c)
	}
}

// cameraPreflight answers a preflight on a camera's routes as the route
// itself would answer the request: a camera with its own allowed sites
// answers for them only, whatever CORS_ORIGINS allowed.
func (s *Server) cameraPreflight(c *gin.Context) {
	id, _, _ := strings.Cut(c.Param("file"), ".")
	if cam, err := s.publicCamera(id); err == nil && cam.Origins != "" {
		cameraCORS(c, cam)
	}
	answerPreflight(c)
}

// answerPreflight ends a preflight with 204; only an allowed origin is
// told the methods and headers it may use (the browser refuses the rest).
func answerPreflight(c *gin.Context) {
	h := c.Writer.Header()
	if h["Access-Control-Allow-Origin"] != nil {
		h["Access-Control-Allow-Methods"] = allowMethods
		h["Access-Control-Allow-Headers"] = allowHeaders
		h["Access-Control-Max-Age"] = maxAge
	}
	c.AbortWithStatus(http.StatusNoContent)
}
