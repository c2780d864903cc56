package testbed

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisServer is a redis-server process on a free loopback port with its
// own data directory and no persistence unless RedisOptions.AppendOnly.
type RedisServer struct {
	bin  string
	dir  string
	Port int
	opt  RedisOptions
	cmd  *exec.Cmd
	out  *SyncBuffer
	// exited is closed when the process has ended.
	exited chan struct{}
	tls    *tls.Config // client side, when the server speaks TLS only
	// CAFile is the PEM file of the CA that signed a TLS server's certificate.
	CAFile string

	mu      sync.Mutex
	clients []*redis.Client // made by Client, closed by Close
}

// RedisOptions change how the server runs.
type RedisOptions struct {
	Dir        string   // data directory (created); required by StartRedis
	TLS        bool     // serve TLS only, with a certificate from a fresh CA
	Users      []string // ACL rules, e.g. "app on >pw ~app:* +get"; the default user stays open
	MaxClients int      // redis-server's maxclients; 0 keeps its default
	// AppendOnly keeps an append-only file in Dir, so that Restart (and a
	// Kill then start) keeps what was fsynced, as deployments run Redis.
	AppendOnly  bool
	AppendFsync string   // with AppendOnly: "always", "everysec" (Redis' default) or "no"
	Port        int      // listen here; 0 picks a free loopback port
	Args        []string // more redis-server arguments: "--replicaof", host, port, or a Cluster node's
}

// RedisBinary finds redis-server: $REDIS_SERVER, else on $PATH.
func RedisBinary() (string, error) {
	if p := os.Getenv("REDIS_SERVER"); p != "" {
		return p, nil
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("redis-server not found (apt-get install redis-server, or set REDIS_SERVER): %w", err)
	}
	return p, nil
}

// StartRedis runs a redis-server until Close, and returns once it answers.
// It takes no testing.TB: the bench command starts its Redis with it.
func StartRedis(opt RedisOptions) (*RedisServer, error) {
	bin, err := RedisBinary()
	if err != nil {
		return nil, err
	}
	if opt.Dir == "" {
		return nil, errors.New("testbed: RedisOptions.Dir is required")
	}
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return nil, err
	}
	s := &RedisServer{bin: bin, dir: opt.Dir, opt: opt, Port: opt.Port}
	if s.Port == 0 {
		addr, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		_, port, _ := net.SplitHostPort(addr)
		s.Port, _ = strconv.Atoi(port)
	}
	if opt.TLS {
		if s.CAFile, s.tls, err = writeCerts(s.dir); err != nil {
			return nil, fmt.Errorf("making TLS certificates: %w", err)
		}
	}
	if err := s.start(); err != nil {
		return nil, err
	}
	return s, nil
}

// Redis runs a redis-server for t and stops it when t ends. Without a
// redis-server the test skips, unless CAMRELAY_NO_SKIP=1 (set by CI), where
// it fails: CI must never skip these tests silently.
func Redis(t testing.TB) *RedisServer {
	t.Helper()
	return RedisWith(t, RedisOptions{})
}

// RedisWith is Redis with options; opt.Dir defaults to a temporary one.
func RedisWith(t testing.TB, opt RedisOptions) *RedisServer {
	t.Helper()
	if _, err := RedisBinary(); err != nil {
		Unavailable(t, err.Error()+": skipping a test that needs a real Redis")
	}
	if opt.Dir == "" {
		opt.Dir = t.TempDir()
	}
	s, err := StartRedis(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Unavailable skips t for want of a server or browser, or fails it when
// CAMRELAY_NO_SKIP=1: CI must never skip silently.
func Unavailable(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CAMRELAY_NO_SKIP") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Addr is host:port of the server.
func (s *RedisServer) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// URL is the redis:// (or rediss://) URL of the server.
func (s *RedisServer) URL() string {
	if s.tls != nil {
		return "rediss://" + s.Addr()
	}
	return "redis://" + s.Addr()
}

// Client returns a go-redis client, as the default user, closed by Close.
func (s *RedisServer) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), TLSConfig: s.tls})
	s.mu.Lock()
	s.clients = append(s.clients, c)
	s.mu.Unlock()
	return c
}

func (s *RedisServer) start() error {
	port := []string{"--port", strconv.Itoa(s.Port)}
	if s.tls != nil {
		port = []string{"--port", "0", "--tls-port", strconv.Itoa(s.Port)}
	}
	aof := []string{"--appendonly", "no"}
	if s.opt.AppendOnly {
		aof = []string{"--appendonly", "yes", "--appendfsync", cmp.Or(s.opt.AppendFsync, "everysec")}
	}
	args := append(port, "--bind", "127.0.0.1", "--dir", s.dir, "--save", "",
		"--protected-mode", "no", "--loglevel", "warning")
	args = append(args, aof...)
	if s.opt.MaxClients > 0 {
		args = append(args, "--maxclients", strconv.Itoa(s.opt.MaxClients))
	}
	if s.tls != nil {
		args = append(args, "--tls-auth-clients", "no",
			"--tls-cert-file", filepath.Join(s.dir, "server.pem"), "--tls-key-file", filepath.Join(s.dir, "server.key"),
			"--tls-ca-cert-file", s.CAFile)
	}
	args = append(args, s.opt.Args...)
	for _, u := range s.opt.Users {
		args = append(append(args, "--user"), strings.Fields(u)...)
	}
	cmd := exec.Command(s.bin, args...)
	s.out = &SyncBuffer{Keep: 4 << 10}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting redis-server: %w", err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() { cmd.Wait(); close(s.exited) }()
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, TLSConfig: s.tls})
	defer c.Close()
	err := Wait(context.Background(), 10*time.Second, "redis-server to answer", func() bool {
		select {
		case <-s.exited:
			return true
		default:
			return c.Ping(context.Background()).Err() == nil
		}
	})
	select {
	case <-s.exited:
		s.cmd = nil
		return fmt.Errorf("redis-server exited at start: %s", s.out)
	default:
	}
	if err != nil {
		s.Kill()
		return fmt.Errorf("redis-server on port %d: %w: %s", s.Port, err, s.out)
	}
	return nil
}

// Kill stops the server at once (SIGKILL), as a crash would.
func (s *RedisServer) Kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGCONT) // a paused process dies only once resumed
	s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Restart kills the server and starts it again on the same port: empty,
// or with what its append-only file kept (RedisOptions.AppendOnly).
func (s *RedisServer) Restart() error {
	s.Kill()
	return s.start()
}

// Close kills the server and closes the clients Client made.
func (s *RedisServer) Close() {
	s.mu.Lock()
	for _, c := range s.clients {
		c.Close()
	}
	s.clients = nil
	s.mu.Unlock()
	s.Kill()
}

// Pause freezes the server (SIGSTOP): connections stay open but nothing
// answers, as when Redis is unreachable behind a broken network.
func (s *RedisServer) Pause() { s.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume unfreezes a paused server (SIGCONT).
func (s *RedisServer) Resume() { s.cmd.Process.Signal(syscall.SIGCONT) }

// Prefix returns a key prefix unique to t, so tests sharing a server never
// see each other's keys.
func Prefix(t testing.TB) string {
	return fmt.Sprintf("test:%s:%d:", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
}
