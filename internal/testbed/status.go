package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/camrelay/camrelay/internal/eensim"
	"github.com/camrelay/camrelay/internal/fetcher"
	"github.com/camrelay/camrelay/internal/preview"
)

var statusClient = &http.Client{Timeout: 10 * time.Second}

// GetJSON decodes the JSON answer of GET url into v; an answer other
// than 200 is an error.
func GetJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := statusClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// FetcherStatus reads a fetcher's per-camera state from /status on its
// operators' port (admin is http://host:port).
func FetcherStatus(ctx context.Context, admin string) (map[preview.ESN]fetcher.CameraState, error) {
	var st map[preview.ESN]fetcher.CameraState
	return st, GetJSON(ctx, admin+"/status", &st)
}

// SimStats reads the EEN simulator's call counts (sim is http://host:port).
func SimStats(ctx context.Context, sim string) (eensim.Stats, error) {
	var st eensim.Stats
	return st, GetJSON(ctx, sim+"/_sim/stats", &st)
}
