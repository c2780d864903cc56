package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
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

// MetricSum reads a Prometheus text page once and sums the given series
// (name{labels} as written, labels sorted); an absent series or an
// unreadable page counts 0.
func MetricSum(ctx context.Context, url string, series ...string) float64 {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0
	}
	resp, err := statusClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var sum float64
	for line := range strings.Lines(string(b)) {
		for _, name := range series {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				sum += f
			}
		}
	}
	return sum
}
