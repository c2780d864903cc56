package httpserver

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/thumb"
)

// Why a replica cannot answer from its own state; both are its own view,
// not errors from Redis.
var (
	// errRedisDown: the Redis checks fail, so nothing fresh can be read
	// and an unknown allow-list cannot be learnt.
	errRedisDown = errors.New("redis unreachable")
	// errNoAllowList: the first allow-list read has not answered yet.
	errNoAllowList = errors.New("allow-list not read yet")
)

// fail ends the request with status and a short reason.
func fail(c *gin.Context, status int, reason string) {
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(status, gin.H{"error": reason})
}

// failErr maps camrelay's errors to HTTP answers: the one place that does.
func failErr(c *gin.Context, err error) {
	switch {
	case errors.Is(err, errRedisDown): // before ErrNoFrame: it is the cause
		c.Header("Retry-After", strconv.Itoa(2))
		fail(c, http.StatusServiceUnavailable, "Redis unreachable")
	case errors.Is(err, preview.ErrBadESN):
		fail(c, http.StatusBadRequest, err.Error())
	case errors.Is(err, preview.ErrNotPublic):
		fail(c, http.StatusNotFound, "camera is not public")
	case errors.Is(err, thumb.ErrUndecodable):
		fail(c, http.StatusBadGateway, "the camera's image does not decode: no thumbnail of it")
	case errors.Is(err, preview.ErrNoFrame):
		c.Header("Retry-After", strconv.Itoa(1))
		fail(c, http.StatusServiceUnavailable, "no fresh image for this camera")
	default:
		c.Header("Retry-After", strconv.Itoa(2))
		fail(c, http.StatusServiceUnavailable, "temporarily unavailable")
	}
}
