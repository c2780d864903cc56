package httpserver

import (
	"github.com/gin-gonic/gin"
)

// routes lists every route of a replica in one place.
func (s *Server) routes() *gin.Engine {
	r := gin.New()
	// gin trusts every proxy's X-Forwarded-For unless told otherwise.
	if err := r.SetTrustedProxies(s.cfg.TrustedProxies); err != nil {
		s.log.Error("web: bad trusted proxy, trusting none", "err", err)
		r.SetTrustedProxies(nil)
	}
	r.Use(s.metrics.middleware, gin.Recovery(), s.cors) // metrics outermost: a recovered panic counts as its 500
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true

	r.GET("/preview/:file", s.previewFile)
	r.HEAD("/preview/:file", s.previewFile)
	r.GET("/preview/:file/events", s.cameraEvents)
	r.GET("/events", s.gridEvents)
	r.GET("/api/cameras", s.listCameras)
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", s.serveMetrics())

	r.GET("/", s.asset("index.html"))
	r.GET("/embed/:file", s.embedPage())
	r.GET("/camrelay.js", s.asset("camrelay.js"))
	r.GET("/style.css", s.asset("style.css"))

	r.NoRoute(func(c *gin.Context) { fail(c, 404, "no such route") })
	r.NoMethod(func(c *gin.Context) { fail(c, 405, "method not allowed") })
	return r
}
