package app

import (
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/settings"
)

// The programs' default addresses: the settings and the healthcheck
// subcommands' probes both use them, so the two cannot drift apart.
const (
	defaultRedisURL         = "redis://127.0.0.1:6379/0"
	defaultListenAddr       = "127.0.0.1:8080" // web replica and all-in-one, for viewers
	defaultWebAdminAddr     = "127.0.0.1:9091" // web replica and all-in-one, for operators
	defaultFetcherAdminAddr = "127.0.0.1:9090" // apart from the web's: both may run on one host
	defaultSimAddr          = "127.0.0.1:8081"
	defaultLogLevel         = "info"
)

// sharedConfig is what every program that uses Redis reads the same way.
type sharedConfig struct {
	RedisURL    string
	RedisCAFile string
	KeyPrefix   string
	FrameTTL    time.Duration
	LogLevel    string
}

// bindShared declares the shared settings on s. Only REDIS_URL differs
// between programs: its default (the all-in-one's is empty: an embedded
// Redis) and what the program does with that Redis.
func bindShared(s *settings.Set, c *sharedConfig, redisURL, redisUsage string) {
	s.String(&c.RedisURL, "redis-url", "REDIS_URL", redisURL, redisUsage)
	s.String(&c.RedisCAFile, "redis-ca-file", "REDIS_CA_FILE", "", "PEM file of the CA that signed Redis' TLS certificate (default: the system's CAs)")
	s.String(&c.KeyPrefix, "key-prefix", "KEY_PREFIX", preview.DefaultKeyPrefix, "prefix of every Redis key and channel")
	s.Duration(&c.FrameTTL, "frame-ttl", "FRAME_TTL", preview.DefaultFrameTTL, "how long a stored frame stays servable")
	s.String(&c.LogLevel, "log-level", "LOG_LEVEL", defaultLogLevel, "debug, info, warn or error")
}
