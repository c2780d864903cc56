package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/redistest"
)

// redisServer is a redis-server process of the benchmark's own, on a free
// loopback port, with no persistence.
type redisServer struct {
	addr   string
	cmd    *exec.Cmd
	client *redis.Client
	exited chan struct{}
}

// startRedis runs redis-server ($REDIS_SERVER, else on $PATH) until ctx
// ends or stop is called.
func startRedis(ctx context.Context, dir string) (*redisServer, error) {
	bin, err := redistest.Binary()
	if err != nil {
		return nil, fmt.Errorf("redis-server not found (apt-get install redis-server, or set REDIS_SERVER): %w", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "--port", port, "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning",
		"--maxclients", "20000")
	var out tail
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &redisServer{addr: addr, cmd: cmd, exited: make(chan struct{}),
		client: redis.NewClient(&redis.Options{Addr: addr})}
	go func() { cmd.Wait(); close(r.exited) }()
	ping := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer ping.Close()
	deadline := time.Now().Add(10 * time.Second)
	for ping.Ping(ctx).Err() != nil {
		select {
		case <-r.exited:
			return nil, fmt.Errorf("redis-server exited at start: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("redis-server did not answer within 10s: %s", out.String())
		}
		time.Sleep(10 * time.Millisecond) // polling a condition with a deadline
	}
	return r, nil
}

// url is the redis:// URL of the server.
func (r *redisServer) url() string { return "redis://" + r.addr }

// stop kills the server.
func (r *redisServer) stop() {
	r.client.Close()
	r.cmd.Process.Kill()
	<-r.exited
}

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
	m, err := r.info(ctx, "commandstats")
	if err != nil {
		return nil, err
	}
	calls := make(map[string]int64)
	for k, v := range m {
		name, ok := strings.CutPrefix(k, "cmdstat_")
		if !ok {
			continue
		}
		for field := range strings.SplitSeq(v, ",") {
			if n, ok := strings.CutPrefix(field, "calls="); ok {
				calls[name], _ = strconv.ParseInt(n, 10, 64)
			}
		}
	}
	return calls, nil
}

// freeAddr asks the kernel for a free loopback port.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
