package eenv3

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/camrelay/camrelay/internal/preview"
)

const (
	// cameraPageSize is how many cameras one page asks for.
	cameraPageSize = 100
	// maxCameraPages bounds the paging: a server that keeps naming a next
	// page is not followed for ever.
	maxCameraPages = 200
	// maxJSONAnswer bounds a JSON answer of the API.
	maxJSONAnswer = 4 << 20
)

// Camera is a camera the account sees.
type Camera struct {
	ID   preview.ESN
	Name string
}

// Cameras lists the account's cameras, all pages. Ids that are not ESNs
// are skipped, as are repeats.
func (c *Client) Cameras(ctx context.Context) ([]Camera, error) {
	var cams []Camera
	seen := map[preview.ESN]bool{}
	tokens := map[string]bool{}
	pageToken := ""
	for range maxCameraPages {
		q := url.Values{"pageSize": {strconv.Itoa(cameraPageSize)}}
		if pageToken != "" {
			q.Set("pageToken", pageToken)
		}
		var page struct {
			Results []struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"results"`
			NextPageToken string `json:"nextPageToken"`
		}
		if err := c.do(ctx, call{op: "cameras", path: "/api/v3.0/cameras", query: q, accept: "application/json", read: readJSON("cameras", &page)}); err != nil {
			return nil, err
		}
		for _, r := range page.Results {
			if esn, err := preview.ParseESN(r.ID); err == nil && !seen[esn] {
				seen[esn] = true
				cams = append(cams, Camera{ID: esn, Name: r.Name})
			}
		}
		if page.NextPageToken == "" {
			return cams, nil
		}
		if tokens[page.NextPageToken] {
			return nil, fmt.Errorf("een v3 cameras: the pages loop (a page token came twice)")
		}
		tokens[page.NextPageToken] = true
		pageToken = page.NextPageToken
	}
	return nil, fmt.Errorf("een v3 cameras: more than %d pages of %d cameras", maxCameraPages, cameraPageSize)
}

// ClientSettings asks EEN for the account's API host, "https://host[:port]",
// at the configured BaseURL, else the token set's, else DefaultAPIURL.
func (c *Client) ClientSettings(ctx context.Context) (string, error) {
	var base string
	err := c.do(ctx, call{
		op: "clientSettings", path: settingsPath, accept: "application/json",
		host: func(_ context.Context, set TokenSet) (string, error) {
			return cmp.Or(c.cfg.BaseURL, set.BaseURL, DefaultAPIURL), nil
		},
		read: readSettings(&base),
	})
	return base, err
}

const settingsPath = "/api/v3.0/clientSettings"

// clientSettings asks host for the account's API host with access, once.
func (c *Client) clientSettings(ctx context.Context, host, access string) (string, error) {
	var base string
	k := call{op: "clientSettings", path: settingsPath, accept: "application/json", read: readSettings(&base)}
	return base, c.get(ctx, host, k, access)
}

// readSettings reads clientSettings' httpsBaseUrl into base.
func readSettings(base *string) func(*http.Response) error {
	return func(resp *http.Response) error {
		var s struct {
			HTTPSBaseURL *hostPort `json:"httpsBaseUrl"`
		}
		if err := readJSON("clientSettings", &s)(resp); err != nil {
			return err
		}
		b, err := s.HTTPSBaseURL.url()
		if err == nil && b == "" {
			err = fmt.Errorf("no httpsBaseUrl")
		}
		if err != nil {
			return fmt.Errorf("een v3 clientSettings: %w", err)
		}
		*base = b
		return nil
	}
}

// readJSON decodes a bounded JSON answer into v.
func readJSON(op string, v any) func(*http.Response) error {
	return func(resp *http.Response) error {
		if err := json.NewDecoder(io.LimitReader(resp.Body, maxJSONAnswer)).Decode(v); err != nil {
			return fmt.Errorf("een v3 %s: bad answer: %w", op, err)
		}
		return nil
	}
}
