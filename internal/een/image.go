package een

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// maxRedirects bounds 301 chains between archivers.
const maxRedirects = 3

// Prev returns the newest image before ts ("now": the latest there is).
func (c *Client) Prev(ctx context.Context, esn preview.ESN, ts string) (preview.Image, error) {
	return c.image(ctx, "prev", esn, ts)
}

// Next returns the first image after ts, blocking until it exists when ts
// is "now" or newer than the newest image. It gives up with ErrPollTimeout
// after the poll timeout, and at once when ctx ends.
func (c *Client) Next(ctx context.Context, esn preview.ESN, ts string) (preview.Image, error) {
	pctx, cancel := context.WithTimeoutCause(ctx, c.cfg.PollTimeout, ErrPollTimeout)
	defer cancel()
	img, err := c.image(pctx, "next", esn, ts)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(pctx), ErrPollTimeout) {
		return preview.Image{}, ErrPollTimeout
	}
	return img, err
}

// Asset returns the image at exactly ts.
func (c *Client) Asset(ctx context.Context, esn preview.ESN, ts string) (preview.Image, error) {
	return c.image(ctx, "asset", esn, ts)
}

// After returns the first image after ts; with "now" EEN answers 404.
func (c *Client) After(ctx context.Context, esn preview.ESN, ts string) (preview.Image, error) {
	return c.image(ctx, "after", esn, ts)
}

// image calls /asset/{op}/image.jpeg, logging in first if needed and once
// more after a 401.
func (c *Client) image(ctx context.Context, op string, esn preview.ESN, ts string) (preview.Image, error) {
	if err := c.ensureSession(ctx, ""); err != nil {
		return preview.Image{}, err
	}
	for attempt := 0; ; attempt++ {
		session := c.currentSession()
		img, err := c.imageOnce(ctx, op, esn, ts, session)
		if StatusCode(err) != http.StatusUnauthorized || attempt > 0 {
			return img, err
		}
		if err := c.ensureSession(ctx, session); err != nil {
			return preview.Image{}, err
		}
	}
}

func (c *Client) imageOnce(ctx context.Context, op string, esn preview.ESN, ts, session string) (preview.Image, error) {
	q := url.Values{"id": {string(esn)}, "timestamp": {ts}, "asset_class": {"pre"}}
	target := c.Host() + "/asset/" + op + "/image.jpeg?" + q.Encode()
	for hop := 0; ; hop++ {
		req, err := c.newRequest(ctx, http.MethodGet, target, nil)
		if err != nil {
			return preview.Image{}, err
		}
		req.AddCookie(&http.Cookie{Name: "auth_key", Value: session})
		resp, err := c.hc.Do(req)
		if err != nil {
			return preview.Image{}, fmt.Errorf("een %s %s: %w", op, esn, redactURLError(err))
		}
		if resp.StatusCode == http.StatusMovedPermanently && hop < maxRedirects {
			next, ok := c.redirectTarget(req.URL, resp.Header.Get("Location"))
			drain(resp)
			if !ok {
				return preview.Image{}, &StatusError{Op: op, Code: resp.StatusCode}
			}
			target = next
			continue
		}
		return c.readImage(op, esn, resp)
	}
}

// redirectTarget resolves a 301's Location and accepts it only on the same
// host or a sibling under the same parent domain, so the session key is
// never handed to a stranger.
func (c *Client) redirectTarget(from *url.URL, loc string) (string, bool) {
	to, err := from.Parse(loc)
	if err != nil || (to.Scheme != "http" && to.Scheme != "https") {
		return "", false
	}
	if to.Host == from.Host || parentDomain(to.Hostname()) == parentDomain(from.Hostname()) && parentDomain(from.Hostname()) != "" {
		return to.String(), true
	}
	return "", false
}

// parentDomain returns the last two labels of a DNS name ("" for IPs and
// single-label names).
func parentDomain(host string) string {
	labels := strings.Split(host, ".")
	if len(labels) < 3 || strings.Trim(host, "0123456789.") == "" {
		return ""
	}
	return strings.Join(labels[len(labels)-2:], ".")
}

func (c *Client) readImage(op string, esn preview.ESN, resp *http.Response) (preview.Image, error) {
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return preview.Image{}, &StatusError{Op: op, Code: resp.StatusCode, Wait: ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	ts, err := preview.ParseHeaderTimestamp(resp.Header.Get("x-ee-timestamp"))
	if err != nil {
		return preview.Image{}, fmt.Errorf("een %s %s: x-ee-timestamp: %w", op, esn, err)
	}
	if resp.ContentLength > c.cfg.MaxImageBytes {
		return preview.Image{}, fmt.Errorf("een %s %s: %w (%d > %d bytes)", op, esn, ErrTooLarge, resp.ContentLength, c.cfg.MaxImageBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxImageBytes+1))
	if err != nil {
		return preview.Image{}, fmt.Errorf("een %s %s: reading image: %w", op, esn, err)
	}
	if int64(len(body)) > c.cfg.MaxImageBytes {
		return preview.Image{}, fmt.Errorf("een %s %s: %w (limit %d bytes)", op, esn, ErrTooLarge, c.cfg.MaxImageBytes)
	}
	if !preview.IsJPEG(body) {
		return preview.Image{}, fmt.Errorf("een %s %s: %w (%d bytes, Content-Type %q)", op, esn, preview.ErrNotJPEG, len(body), resp.Header.Get("Content-Type"))
	}
	return preview.Image{TS: ts, JPEG: body}, nil
}

// drain lets the connection be reused; a bounded read so a huge body is
// not pulled just to be thrown away.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
