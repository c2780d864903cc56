package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/eensim"
	"github.com/camrelay/camrelay/internal/framegen"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/inproc"
)

const (
	secretPassword = "Pa55-w0rd-that-must-not-leak"
	secretAPIKey   = "api-key-that-must-not-leak-42"
)

// sessionRecorder remembers every session key the simulator hands out.
type sessionRecorder struct {
	mu   sync.Mutex
	keys []string
}

func (r *sessionRecorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		for _, c := range rec.Result().Cookies() {
			if c.Name == "auth_key" {
				r.mu.Lock()
				r.keys = append(r.keys, c.Value)
				r.mu.Unlock()
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

// The whole system runs with known credentials; the password, the API key
// and every session key EEN handed out appear in no log line, no HTTP
// answer of any route (errors and metrics included) and no Redis key or
// value.
func TestSecretsGoNowhere(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: not in -short mode")
	}
	rds := testbed.Redis(t)
	prefix := testbed.Prefix(t)
	r, err := framegen.New(640, 360)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := eensim.New(eensim.Config{
		Username: testbed.SimUser, Password: secretPassword, APIKey: secretAPIKey,
		Cameras:  []eensim.Camera{{ESN: camA, Name: "Site", Interval: 250 * time.Millisecond}},
		Faults:   eensim.Faults{ExpireEvery: time.Second}, // several re-logins during the test
		Renderer: r,
	})
	if err != nil {
		t.Fatal(err)
	}
	var sessions sessionRecorder
	upstream := httptest.NewServer(sessions.wrap(sim.Handler()))
	defer upstream.Close()

	bed := inproc.StartStack(t, inproc.Options{RedisURL: rds.URL(), Cameras: camA + "=Site", Upstream: upstream.URL,
		Fetcher: map[string]string{"KEY_PREFIX": prefix, "LOG_LEVEL": "debug", "EEN_PASSWORD": secretPassword, "EEN_API_KEY": secretAPIKey},
		Web:     map[string]string{"KEY_PREFIX": prefix, "LOG_LEVEL": "debug"}})
	fetcher, web := bed.Fetchers[0], bed.Webs[0]
	w, wa, a := web.URL("web"), web.URL("admin"), fetcher.URL("admin")
	testbed.WaitFor(t, 15*time.Second, "an image", func() bool { return status(w+"/preview/"+camA+".jpg") == 200 })
	// Run past a few session expiries, so re-logins happen too.
	testbed.WaitFor(t, 15*time.Second, "three logins", func() bool { return sim.Stats().Total("login") >= 3 })

	var seen strings.Builder
	for _, path := range []string{
		w + "/", w + "/api/cameras", w + "/preview/" + camA + ".jpg", w + "/preview/deadbeef.jpg", w + "/preview/zz.jpg",
		w + "/embed/" + camA, w + "/camrelay.js", w + "/grid.js", w + "/healthz", w + "/readyz", w + "/nope",
		wa + "/metrics", wa + "/healthz", wa + "/readyz",
		a + "/status", a + "/metrics", a + "/healthz", a + "/readyz",
	} {
		seen.WriteString(dump(t, path, 0))
	}
	seen.WriteString(dump(t, w+"/preview/"+camA+"/events", 1500*time.Millisecond))
	seen.WriteString(dump(t, w+"/events?esn="+camA, 1500*time.Millisecond))
	seen.WriteString(dump(t, w+"/preview/"+camA+".mjpg", 1500*time.Millisecond))
	seen.WriteString(redisDump(t, rds))
	fetcher.Stop(t)
	web.Stop(t)
	seen.WriteString(fetcher.Logs.String())
	seen.WriteString(web.Logs.String())

	sessions.mu.Lock()
	secrets := append([]string{secretPassword, secretAPIKey}, sessions.keys...)
	sessions.mu.Unlock()
	if len(secrets) < 5 {
		t.Fatalf("only %d session keys recorded", len(secrets)-2)
	}
	all := seen.String()
	for _, s := range secrets {
		// The session key's random part alone, too ("c001~" is not secret).
		_, part, _ := strings.Cut(s, "~")
		for _, needle := range []string{s, part} {
			if needle != "" && strings.Contains(all, needle) {
				t.Errorf("a secret (%d chars) appears in logs, HTTP answers or Redis", len(needle))
			}
		}
	}
	t.Logf("checked %d bytes of logs, HTTP answers and Redis data against %d secrets", len(all), len(secrets))
}

// dump fetches url with its headers; a stream is read for d.
func dump(t *testing.T, url string, d time.Duration) string {
	ctx, cancel := context.WithTimeout(context.Background(), max(d, 5*time.Second))
	defer cancel()
	if d > 0 {
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	resp.Header.Write(&b)
	io.Copy(&b, resp.Body) // ends with the context for streams
	return b.String()
}

// redisDump returns every key and value of the test's Redis.
func redisDump(t *testing.T, rds *testbed.RedisServer) string {
	ctx := context.Background()
	rdb := rds.Client()
	var b strings.Builder
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys: %v %v", keys, err)
	}
	for _, k := range keys {
		b.WriteString(k)
		v, _ := rdb.Dump(ctx, k).Result()
		b.WriteString(v)
		if h, err := rdb.HGetAll(ctx, k).Result(); err == nil {
			for f, v := range h {
				b.WriteString(f + v)
			}
		}
	}
	return b.String()
}
