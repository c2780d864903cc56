package eenv3

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/camrelay/camrelay/internal/preview"
)

// LiveImage returns the camera's next preview image: EEN's call waits
// until it exists. It gives up with ErrPollTimeout after the poll timeout
// (ask again), and at once when ctx ends. A 401 is answered by asking
// Tokens for a newer token and trying once more; other failures are
// *een.StatusError (403, 404, 429 with Retry-After, 5xx retryable),
// ErrTooLarge, preview.ErrNotJPEG or preview.ErrBadTimestamp.
func (c *Client) LiveImage(ctx context.Context, esn preview.ESN) (preview.Image, error) {
	var img preview.Image
	err := c.do(ctx, call{
		op:     "liveImage",
		path:   "/api/v3.0/media/liveImage.jpeg",
		query:  url.Values{"deviceId": {string(esn)}, "type": {"preview"}},
		accept: "image/jpeg",
		cause:  ErrPollTimeout,
		read: func(resp *http.Response) (err error) {
			img, err = c.readImage(esn, resp)
			return err
		},
	})
	return img, err
}

// Prev returns the camera's next image: v3 has no "newest before ts" for
// live previews, and liveImage answers soon enough for a first image. It
// makes *Client a fetcher.Source.
func (c *Client) Prev(ctx context.Context, esn preview.ESN, _ string) (preview.Image, error) {
	return c.LiveImage(ctx, esn)
}

// Next returns the camera's next image, whatever ts: liveImage always
// waits for the next one.
func (c *Client) Next(ctx context.Context, esn preview.ESN, _ string) (preview.Image, error) {
	return c.LiveImage(ctx, esn)
}

// readImage reads a 200 answer: a bounded JPEG body and its timestamp.
func (c *Client) readImage(esn preview.ESN, resp *http.Response) (preview.Image, error) {
	ts, err := ParseTimestamp(resp.Header.Get("X-Een-Timestamp"))
	if err != nil {
		return preview.Image{}, fmt.Errorf("een v3 liveImage %s: X-Een-Timestamp: %w", esn, err)
	}
	limit := c.cfg.MaxImageBytes
	if resp.ContentLength > limit {
		return preview.Image{}, fmt.Errorf("een v3 liveImage %s: %w (%d > %d bytes)", esn, ErrTooLarge, resp.ContentLength, limit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return preview.Image{}, fmt.Errorf("een v3 liveImage %s: reading image: %w", esn, err)
	}
	if int64(len(body)) > limit {
		return preview.Image{}, fmt.Errorf("een v3 liveImage %s: %w (limit %d bytes)", esn, ErrTooLarge, limit)
	}
	if !preview.IsJPEG(body) {
		return preview.Image{}, fmt.Errorf("een v3 liveImage %s: %w (%d bytes, Content-Type %q)", esn, preview.ErrNotJPEG, len(body), shorten(resp.Header.Get("Content-Type")))
	}
	return preview.Image{TS: ts, JPEG: body}, nil
}
