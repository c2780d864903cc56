package bench

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/testbed"
)

// redisServer is the benchmark's own redis-server (a testbed one, taking
// up to 20,000 clients) and a client of it.
type redisServer struct {
	*testbed.RedisServer
	client *redis.Client
}

// startRedis runs redis-server with its data in dir until stop is called.
func startRedis(dir string) (*redisServer, error) {
	srv, err := testbed.StartRedis(testbed.RedisOptions{Dir: dir, MaxClients: 20000})
	if err != nil {
		return nil, err
	}
	return &redisServer{RedisServer: srv, client: srv.Client()}, nil
}

// stop kills the server.
func (r *redisServer) stop() { r.Close() }

// info returns the fields of INFO section as a map.
func (r *redisServer) info(ctx context.Context, section string) (map[string]string, error) {
	s, err := r.client.Info(ctx, section).Result()
	if err != nil {
		return nil, err
	}
	m := make(map[string]string)
	for line := range strings.Lines(s) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			m[k] = v
		}
	}
	return m, nil
}

// usedMemory is INFO memory's used_memory, in bytes.
func (r *redisServer) usedMemory(ctx context.Context) (int64, error) {
	m, err := r.info(ctx, "memory")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(m["used_memory"], 10, 64)
}

// cpu is Redis' user + system CPU time so far (INFO cpu).
func (r *redisServer) cpu(ctx context.Context) (time.Duration, error) {
	m, err := r.info(ctx, "cpu")
	if err != nil {
		return 0, err
	}
	u, _ := strconv.ParseFloat(m["used_cpu_user"], 64)
	s, _ := strconv.ParseFloat(m["used_cpu_sys"], 64)
	return time.Duration((u + s) * float64(time.Second)), nil
}

// commandCalls is INFO commandstats' calls per command (lower case),
// counting the commands scripts run as well as the clients' own.
func (r *redisServer) commandCalls(ctx context.Context) (map[string]int64, error) {
	return testbed.CommandCalls(ctx, r.client)
}
