package httpserver

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/camrelay/camrelay/internal/preview"
)

// fail ends the request with status and a short reason.
func fail(c *gin.Context, status int, reason string) {
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(status, gin.H{"error": reason})
}

// failErr maps camrelay's errors to HTTP answers: the one place that does.
func failErr(c *gin.Context, err error) {
	switch {
	case errors.Is(err, preview.ErrBadESN):
		fail(c, http.StatusBadRequest, err.Error())
	case errors.Is(err, preview.ErrNotPublic):
		fail(c, http.StatusNotFound, "camera is not public")
	case errors.Is(err, preview.ErrNoFrame):
		c.Header("Retry-After", strconv.Itoa(1))
		fail(c, http.StatusServiceUnavailable, "no fresh image for this camera")
	default:
		c.Header("Retry-After", strconv.Itoa(2))
		fail(c, http.StatusServiceUnavailable, "temporarily unavailable")
	}
}
