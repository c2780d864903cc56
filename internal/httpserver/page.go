package httpserver

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/camrelay/camrelay/web"
)

// asset serves an embedded file with a content type from its extension.
func (s *Server) asset(name string) gin.HandlerFunc {
	b, err := fs.ReadFile(web.FS, name)
	if err != nil {
		panic("httpserver: embedded file missing: " + name) // a build mistake
	}
	ctype := map[string]string{".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}[path.Ext(name)]
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-cache")
		c.Header("X-Content-Type-Options", "nosniff")
		c.Data(http.StatusOK, ctype, b)
	}
}

// embedPage serves /embed/{esn}: a minimal page for an iframe, for public
// cameras only.
func (s *Server) embedPage() gin.HandlerFunc {
	serve := s.asset("embed.html")
	return func(c *gin.Context) {
		if _, err := s.publicCamera(strings.TrimSuffix(c.Param("file"), ".html")); err != nil {
			failErr(c, err)
			return
		}
		serve(c)
	}
}
