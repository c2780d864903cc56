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
		c.Data(http.StatusOK, ctype, b)
	}
}

// page serves an embedded HTML page with its security policy.
func (s *Server) page(name string, embeddable bool) gin.HandlerFunc {
	serve := s.asset(name)
	return func(c *gin.Context) {
		setPagePolicy(c.Writer.Header(), embeddable)
		serve(c)
	}
}

// embedPage serves /embed/{esn}: a minimal page for an iframe, for public
// cameras only; ?width= (an offered width) makes it show thumbnails.
// A signed camera's page needs its link (embed.js passes it on to the
// image and stream); a camera with allowed sites may be framed by them only.
func (s *Server) embedPage() gin.HandlerFunc {
	serve := s.asset("embed.html")
	return func(c *gin.Context) {
		if _, ok := s.widthParam(c, "width"); !ok {
			return
		}
		cam, err := s.publicCamera(strings.TrimSuffix(c.Param("file"), ".html"))
		if err != nil {
			failErr(c, err)
			return
		}
		if _, ok := s.admit(c, cam); !ok {
			return
		}
		setPagePolicy(c.Writer.Header(), true)
		if cam.Origins != "" {
			c.Writer.Header()["Content-Security-Policy"] = embedPolicy(cam)
		}
		serve(c)
	}
}
