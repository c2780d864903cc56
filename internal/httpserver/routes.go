package httpserver

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// routes lists every route of a replica's public (viewers') port in one
// place; operators' routes are in adminRoutes.
func (s *Server) routes() *gin.Engine {
	r := newEngine()
	// gin trusts every proxy's X-Forwarded-For unless told otherwise.
	if err := r.SetTrustedProxies(s.cfg.TrustedProxies); err != nil {
		s.log.Error("web: bad trusted proxy, trusting none", "err", err)
		r.SetTrustedProxies(nil)
	}
	r.Use(s.metrics.middleware, gin.Recovery(), hardening, s.cors) // metrics outermost: a recovered panic counts as its 500

	r.GET("/preview/:file", s.previewFile)
	r.HEAD("/preview/:file", s.previewFile)
	r.GET("/preview/:file/events", s.cameraEvents)
	r.OPTIONS("/preview/:file", s.cameraPreflight)
	r.OPTIONS("/preview/:file/events", s.cameraPreflight)
	r.GET("/events", s.gridEvents)
	r.GET("/api/cameras", s.listCameras)
	r.GET("/healthz", s.healthz) // load balancers probe the port they send viewers to
	r.GET("/readyz", s.readyz)

	r.GET("/", s.page("index.html", false))
	r.GET("/embed/:file", s.embedPage())
	for _, name := range []string{"camrelay.js", "grid.js", "embed.js", "style.css", "embed.css"} {
		r.GET("/"+name, s.asset(name))
	}
	return r
}

// adminRoutes are the operators' routes (ADMIN_ADDR): metrics with
// per-camera series and traffic, and the health probes again.
func (s *Server) adminRoutes() *gin.Engine {
	r := newEngine()
	r.Use(gin.Recovery())
	r.GET("/metrics", s.serveMetrics())
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	return r
}

// AdminHandler serves the operators' routes, for a listener of their own
// that viewers cannot reach. Call it once.
func (s *Server) AdminHandler() http.Handler { return s.adminRoutes() }

// newEngine is a gin engine that answers exactly its routes: no redirects,
// 404 and 405 with a short reason.
func newEngine() *gin.Engine {
	r := gin.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.NoRoute(func(c *gin.Context) { fail(c, 404, "no such route") })
	r.NoMethod(func(c *gin.Context) { fail(c, 405, "method not allowed") })
	return r
}
