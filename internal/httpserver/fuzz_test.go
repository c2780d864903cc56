package httpserver

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// FuzzStreamRequests sends any query and Last-Event-ID to the SSE routes
// and any id to the image routes: the answer is a 2xx, 400, 404 or 503
// with a reason, never a panic, and every SSE data line is JSON about a
// public camera.
func FuzzStreamRequests(f *testing.F) {
	for _, seed := range [][2]string{
		{"esn=1006073b", "1006073b-20261124040506.250"},
		{"esn=1006073b&esn=1006073B", ""},
		{"esn=1006073b,deadbeef", "junk"},
		{"esn=", "\x00\xff"},
		{"esn=%zz", "1006073b-"},
		{"esn=1006073b&esn=" + strings.Repeat("1006073b,", 300), "-"},
		{"", "1006073b-99999999999999.999"},
	} {
		f.Add(seed[0], seed[1])
	}
	store := newFakeStore(preview.Camera{ESN: camA})
	srv := New(Config{}, store)
	ctx, cancel := context.WithCancel(context.Background())
	f.Cleanup(cancel)
	go srv.Run(ctx)
	store.put(camA, "20261124040506.250", "one")
	testbed.WaitFor(f, 5*time.Second, "replica ready with the frame", func() bool { return srv.ready(time.Now()) && hasFrame(srv) })
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, query, lastID string) {
		for _, target := range []string{"/events?" + query, "/preview/" + query + "/events", "/preview/" + query + ".jpg"} {
			req, err := http.NewRequest(http.MethodGet, "http://camrelay.test"+strings.ReplaceAll(target, "#", "%23"), nil)
			if err != nil {
				continue
			}
			rctx, rcancel := context.WithCancel(req.Context())
			rcancel() // streams write what they start with, then end
			req = req.WithContext(rctx)
			req.Header.Set("Last-Event-ID", lastID)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			checkAnswer(t, target, rec)
		}
	})
}

func hasFrame(s *Server) bool {
	_, ok := s.hub.Current(camA, time.Now())
	return ok
}

func checkAnswer(t *testing.T, target string, rec *httptest.ResponseRecorder) {
	switch rec.Code {
	case 200, 304:
	case 400, 404, 503:
		if !strings.Contains(rec.Body.String(), `"error"`) {
			t.Fatalf("%q: %d without a reason", target, rec.Code)
		}
		return
	default:
		t.Fatalf("%q: status %d", target, rec.Code)
	}
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/event-stream") {
		return
	}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var d struct{ ESN preview.ESN }
		if err := json.Unmarshal([]byte(data), &d); err != nil || d.ESN != camA {
			t.Fatalf("%q: data line %q", target, data)
		}
	}
}
