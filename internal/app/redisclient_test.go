package app

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/testbed"
)

// A call's context deadline bounds it even when Redis hangs (frozen: the
// connection stays open and nothing answers). go-redis ignores the
// deadline at the socket unless told (ContextTimeoutEnabled), and the call
// would wait out go-redis' own timeouts (5 s measured), whatever its
// deadline said.
func TestRedisCallsEndAtTheirDeadline(t *testing.T) {
	rds := testbed.Redis(t)
	c, err := redisClient(rds.URL(), "", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Ping(t.Context()).Err(); err != nil { // a pooled connection, open before the freeze
		t.Fatal(err)
	}
	rds.Pause()
	defer rds.Resume()
	const deadline = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	start := time.Now()
	err = c.Get(ctx, "k").Err()
	if took := time.Since(start); err == nil || took > deadline+time.Second {
		t.Errorf("GET on a frozen Redis with a %s deadline: %v after %s", deadline, err, took.Round(time.Millisecond))
	}
}

// Every form of REDIS_URL binds deadlines to the socket (above).
func TestRedisFormsHonourDeadlines(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, raw := range []string{
		"redis://127.0.0.1:6379/0",
		"redis://127.0.0.1:26379?master_name=mymaster&addr=127.0.0.2:26379",
		"redis://127.0.0.1:7000?addr=127.0.0.2:7000&addr=127.0.0.3:7000",
	} {
		c, err := redisClient(raw, "", log)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		var on bool
		switch c := c.(type) {
		case *redis.Client:
			on = c.Options().ContextTimeoutEnabled
		case *redis.ClusterClient:
			on = c.Options().ContextTimeoutEnabled
		}
		if !on {
			t.Errorf("%s: ContextTimeoutEnabled off: a hung Redis holds each call for the read timeout", raw)
		}
		c.Close()
	}
}
