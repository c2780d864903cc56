package httpserver

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// pageCSP is the pages' Content-Security-Policy: the replica's own
// scripts, styles, images and streams, and no inline code, so markup
// injected into a page could not run. blob: images are camrelay.js's
// polling fallback.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'"

// Shared header values (nosniff is in preview.go); never modified.
var (
	noReferrer = []string{"no-referrer"}
	gridCSP    = []string{pageCSP + "; frame-ancestors 'none'"}
	embedCSP   = []string{pageCSP}
	frameDeny  = []string{"DENY"}
)

// hardening sets the headers every answer carries: no content sniffing,
// no referrer sent from the pages.
func hardening(c *gin.Context) {
	h := c.Writer.Header()
	h["X-Content-Type-Options"] = nosniff
	h["Referrer-Policy"] = noReferrer
}

// setPagePolicy sets a page's Content-Security-Policy. The grid may not
// be framed (clickjacking); the embed page may be, by any site, file://
// pages included: other sites iframing it is what it is for.
func setPagePolicy(h http.Header, embeddable bool) {
	if embeddable {
		h["Content-Security-Policy"] = embedCSP
		return
	}
	h["Content-Security-Policy"] = gridCSP
	h["X-Frame-Options"] = frameDeny // for browsers without frame-ancestors
}
