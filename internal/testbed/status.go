package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/camrelay/camrelay/internal/fetcher"
	"github.com/camrelay/camrelay/internal/preview"
)

var statusClient = &http.Client{Timeout: 10 * time.Second}

// FetcherStatus reads a fetcher's per-camera state from /status on its
// operators' port (admin is http://host:port).
func FetcherStatus(ctx context.Context, admin string) (map[preview.ESN]fetcher.CameraState, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, admin+"/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := statusClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/status: %s", admin, resp.Status)
	}
	var st map[preview.ESN]fetcher.CameraState
	return st, json.NewDecoder(resp.Body).Decode(&st)
}
