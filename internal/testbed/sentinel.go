package testbed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelMaster is the name the sentinels of a SentinelSet monitor.
const SentinelMaster = "camrelay"

// SentinelOptions shape a SentinelSet.
type SentinelOptions struct {
	// DownAfter is how long the primary must not answer before the
	// sentinels call it down (down-after-milliseconds); default 2 s.
	DownAfter time.Duration
	// FailoverTimeout is the sentinels' failover-timeout: how long one
	// failover attempt may take before another sentinel tries; default
	// 10 s, well above a failover on loopback (about a second).
	FailoverTimeout time.Duration
	// Users are ACL rules both servers get (RedisOptions.Users), as either
	// may be the primary; the default user stays open.
	Users []string
}

// SentinelSet is Redis as Sentinel runs it: a primary, one replica and
// three redis-sentinel processes, on free loopback ports, each with its
// own directory (the sentinels rewrite their config files there).
type SentinelSet struct {
	Primary   *RedisServer // the server the sentinels name as primary
	Replica   *RedisServer // its replica; nil after KillPrimary promoted it
	Sentinels []*Sentinel
	opt       SentinelOptions
	t         testing.TB
}

// Sentinel is one redis-sentinel process.
type Sentinel struct {
	Port   int
	cmd    *exec.Cmd
	out    *SyncBuffer
	exited chan struct{}
	client *redis.SentinelClient
}

// SentinelBinary finds redis-sentinel: $REDIS_SENTINEL, else on $PATH.
func SentinelBinary() (string, error) {
	if p := os.Getenv("REDIS_SENTINEL"); p != "" {
		return p, nil
	}
	p, err := exec.LookPath("redis-sentinel")
	if err != nil {
		return "", fmt.Errorf("redis-sentinel not found (apt-get install redis-sentinel, or set REDIS_SENTINEL): %w", err)
	}
	return p, nil
}

// Sentinels runs a SentinelSet for t and stops every process when t ends.
// It returns once the replica is in sync and every sentinel knows the
// replica and the two other sentinels, so a failover can start at once.
// Without redis-server or redis-sentinel the test skips (fails with
// CAMRELAY_NO_SKIP=1).
func Sentinels(t testing.TB, opt SentinelOptions) *SentinelSet {
	t.Helper()
	bin, err := SentinelBinary()
	if err == nil {
		_, err = RedisBinary()
	}
	if err != nil {
		Unavailable(t, err.Error()+": skipping a test that needs Redis Sentinel")
	}
	if opt.DownAfter == 0 {
		opt.DownAfter = 2 * time.Second
	}
	if opt.FailoverTimeout == 0 {
		opt.FailoverTimeout = 10 * time.Second
	}
	s := &SentinelSet{opt: opt, t: t, Primary: RedisWith(t, RedisOptions{Users: opt.Users})}
	s.Replica = RedisWith(t, RedisOptions{Users: opt.Users, Args: []string{"--replicaof", "127.0.0.1", strconv.Itoa(s.Primary.Port)}})
	rep := s.Replica.Client()
	WaitFor(t, 10*time.Second, "the replica in sync", func() bool {
		return infoField(rep, "replication", "master_link_status") == "up"
	})
	for range 3 {
		sn, err := startSentinel(bin, t.TempDir(), s.Primary.Port, opt)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sn.Close)
		s.Sentinels = append(s.Sentinels, sn)
	}
	// A sentinel learns of the replica from the primary's INFO, and of
	// its peers from their hello messages on the primary, every 2 s.
	WaitFor(t, 20*time.Second, "every sentinel to know the replica and its two peers", func() bool {
		for _, sn := range s.Sentinels {
			ctx := context.Background()
			reps, err := sn.client.Replicas(ctx, SentinelMaster).Result()
			peers, err2 := sn.client.Sentinels(ctx, SentinelMaster).Result()
			if err != nil || err2 != nil || len(reps) != 1 || len(peers) != 2 || reps[0]["flags"] != "slave" {
				return false
			}
		}
		return true
	})
	return s
}

func startSentinel(bin, dir string, primaryPort int, opt SentinelOptions) (*Sentinel, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := strings.Cut(addr, ":")
	conf := fmt.Sprintf(`port %s
bind 127.0.0.1
protected-mode no
dir %s
loglevel notice
sentinel monitor %[3]s 127.0.0.1 %[4]d 2
sentinel down-after-milliseconds %[3]s %[5]d
sentinel failover-timeout %[3]s %[6]d
sentinel parallel-syncs %[3]s 1
`, port, dir, SentinelMaster, primaryPort, opt.DownAfter.Milliseconds(), opt.FailoverTimeout.Milliseconds())
	file := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	sn := &Sentinel{out: &SyncBuffer{Keep: 8 << 10}, exited: make(chan struct{})}
	sn.Port, _ = strconv.Atoi(port)
	sn.cmd = exec.Command(bin, file)
	sn.cmd.Stdout, sn.cmd.Stderr = sn.out, sn.out
	if err := sn.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting redis-sentinel: %w", err)
	}
	go func() { sn.cmd.Wait(); close(sn.exited) }()
	sn.client = redis.NewSentinelClient(&redis.Options{Addr: addr, MaxRetries: -1})
	err = Wait(context.Background(), 10*time.Second, "redis-sentinel to answer", func() bool {
		select {
		case <-sn.exited:
			return true
		default:
			return sn.client.Ping(context.Background()).Err() == nil
		}
	})
	select {
	case <-sn.exited:
		return nil, fmt.Errorf("redis-sentinel exited at start: %s", sn.out)
	default:
	}
	if err != nil {
		sn.Close()
		return nil, fmt.Errorf("redis-sentinel on port %s: %w: %s", port, err, sn.out)
	}
	return sn, nil
}

// Addr is the sentinel's host:port.
func (sn *Sentinel) Addr() string { return "127.0.0.1:" + strconv.Itoa(sn.Port) }

// Log is the end of what the sentinel printed (its view of a failover).
func (sn *Sentinel) Log() string { return sn.out.String() }

// Close kills the sentinel.
func (sn *Sentinel) Close() {
	sn.client.Close()
	sn.cmd.Process.Kill()
	<-sn.exited
}

// URL is the Sentinel form of REDIS_URL: the first sentinel as host, the
// others as addr parameters, and the monitored master's name.
func (s *SentinelSet) URL() string {
	u := "redis://" + s.Sentinels[0].Addr() + "?master_name=" + SentinelMaster
	for _, sn := range s.Sentinels[1:] {
		u += "&addr=" + sn.Addr()
	}
	return u
}

// Client returns a go-redis client that follows the primary through the
// sentinels, as camrelay's programs do; it is closed when the test ends.
func (s *SentinelSet) Client() *redis.Client {
	addrs := make([]string, len(s.Sentinels))
	for i, sn := range s.Sentinels {
		addrs[i] = sn.Addr()
	}
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: SentinelMaster, SentinelAddrs: addrs})
	s.t.Cleanup(func() { c.Close() })
	return c
}

// KillPrimary kills the primary with SIGKILL, then waits until every
// sentinel names the replica as primary and the replica says it is one.
// before, if not nil, runs just after the kill, while the replica is still
// a replica. It returns how long the promotion took from the kill.
func (s *SentinelSet) KillPrimary(before func(replica *RedisServer)) time.Duration {
	s.t.Helper()
	if s.Replica == nil {
		s.t.Fatal("testbed: KillPrimary with no replica left")
	}
	s.Primary.Kill()
	killed := time.Now()
	if before != nil {
		before(s.Replica)
	}
	want := strconv.Itoa(s.Replica.Port)
	rep := s.Replica.Client()
	within := s.opt.DownAfter + s.opt.FailoverTimeout
	WaitFor(s.t, within, "the sentinels to promote the replica", func() bool {
		for _, sn := range s.Sentinels {
			addr, err := sn.client.GetMasterAddrByName(context.Background(), SentinelMaster).Result()
			if err != nil || len(addr) != 2 || addr[1] != want {
				return false
			}
		}
		return infoField(rep, "replication", "role") == "master"
	})
	took := time.Since(killed)
	s.Primary, s.Replica = s.Replica, nil
	return took
}

// DownAfter is the sentinels' down-after-milliseconds.
func (s *SentinelSet) DownAfter() time.Duration { return s.opt.DownAfter }

// infoField is one field of a server's INFO section, "" when unknown.
func infoField(c *redis.Client, section, field string) string {
	info, err := c.Info(context.Background(), section).Result()
	if err != nil {
		return ""
	}
	for l := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), field+":"); ok {
			return v
		}
	}
	return ""
}
