package testbed

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClusterNodeTimeout is the cluster-node-timeout of a RedisCluster's nodes
// unless ClusterOptions say otherwise: how long a primary may be
// unreachable before its replica takes over.
const ClusterNodeTimeout = 2 * time.Second

// RedisCluster is a Redis Cluster of three primaries with one replica
// each, every node a redis-server on loopback, made by redis-cli.
type RedisCluster struct {
	Nodes []*RedisServer
	admin map[*RedisServer]*redis.Client // one client per node, for the harness
}

// redisCLI finds redis-cli: $REDIS_CLI, else on $PATH.
func redisCLI() (string, error) {
	p, err := exec.LookPath(cmp.Or(os.Getenv("REDIS_CLI"), "redis-cli"))
	if err != nil {
		return "", fmt.Errorf("redis-cli not found (apt-get install redis-tools, or set REDIS_CLI): %w", err)
	}
	return p, nil
}

// ClusterOptions shape a RedisCluster.
type ClusterOptions struct {
	NodeTimeout time.Duration // cluster-node-timeout; ClusterNodeTimeout when 0
	Users       []string      // ACL rules every node gets (RedisOptions.Users)
}

// StartRedisCluster starts six nodes under dir, makes them a cluster of
// three shards and returns once every node says the cluster is ok, every
// slot is served and every replica is in sync with its primary.
func StartRedisCluster(ctx context.Context, dir string, opt ClusterOptions) (*RedisCluster, error) {
	cli, err := redisCLI()
	if err != nil {
		return nil, err
	}
	c := &RedisCluster{admin: make(map[*RedisServer]*redis.Client)}
	var addrs []string
	for i := range 6 {
		port, err := clusterPort()
		if err != nil {
			c.Close()
			return nil, err
		}
		s, err := StartRedis(RedisOptions{Dir: filepath.Join(dir, fmt.Sprint("node", i)), Port: port, Users: opt.Users,
			// cluster-require-full-coverage no, as camrelay's docs ask: with
			// the default (yes) every node refuses every command (CLUSTERDOWN)
			// while one shard has no primary, and all cameras stop.
			Args: []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", strconv.Itoa(int(cmp.Or(opt.NodeTimeout, ClusterNodeTimeout).Milliseconds())),
				"--cluster-require-full-coverage", "no"}})
		if err != nil {
			c.Close()
			return nil, err
		}
		c.Nodes = append(c.Nodes, s)
		c.admin[s] = s.Client()
		addrs = append(addrs, s.Addr())
	}
	args := append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis-cli --cluster create: %w: %s", err, out)
	}
	if err := c.WaitHealthy(ctx, 30*time.Second); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// clusterPort is a free loopback port whose cluster bus port (10000 above
// it) is free too.
func clusterPort() (int, error) {
	for range 50 {
		addr, err := FreeAddr()
		if err != nil {
			return 0, err
		}
		_, p, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(p)
		if port+10000 > 65535 {
			continue
		}
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000))); err == nil {
			l.Close()
			return port, nil
		}
	}
	return 0, errors.New("no free loopback port with a free cluster bus port in 50 tries")
}

// RedisClusterFor runs a cluster for t and stops it when t ends. Without
// redis-server or redis-cli the test skips, or fails when CAMRELAY_NO_SKIP=1.
func RedisClusterFor(t testing.TB, opt ClusterOptions) *RedisCluster {
	t.Helper()
	if _, err := RedisBinary(); err != nil {
		Unavailable(t, err.Error()+": skipping a test that needs a Redis Cluster")
	}
	if _, err := redisCLI(); err != nil {
		Unavailable(t, err.Error()+": skipping a test that needs a Redis Cluster")
	}
	c, err := StartRedisCluster(context.Background(), t.TempDir(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// Close kills every node.
func (c *RedisCluster) Close() {
	for _, s := range c.Nodes {
		s.Close()
	}
}

// Live is the nodes not killed.
func (c *RedisCluster) Live() []*RedisServer {
	var live []*RedisServer
	for _, s := range c.Nodes {
		if s.cmd != nil {
			live = append(live, s)
		}
	}
	return live
}

// URL is the cluster form of REDIS_URL: the first live node, and the
// others as addr= seeds.
func (c *RedisCluster) URL() string {
	live := c.Live()
	var q []string
	for _, s := range live[1:] {
		q = append(q, "addr="+s.Addr())
	}
	return "redis://" + live[0].Addr() + "?" + strings.Join(q, "&")
}

// Client is a cluster client of the live nodes; the caller closes it.
func (c *RedisCluster) Client() *redis.ClusterClient {
	var addrs []string
	for _, s := range c.Live() {
		addrs = append(addrs, s.Addr())
	}
	return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ClusterStateReloadInterval: time.Second})
}

// Node is the cluster's node at addr, or nil.
func (c *RedisCluster) Node(addr string) *RedisServer {
	for _, s := range c.Nodes {
		if s.Addr() == addr {
			return s
		}
	}
	return nil
}

// Slots is the slot map as one live node sees it.
func (c *RedisCluster) Slots(ctx context.Context) ([]redis.ClusterSlot, error) {
	var err error
	for _, s := range c.Live() {
		var slots []redis.ClusterSlot
		if slots, err = c.admin[s].ClusterSlots(ctx).Result(); err == nil {
			return slots, nil
		}
	}
	return nil, fmt.Errorf("reading the cluster's slots: %w", err)
}

// Primaries is the address of each shard's primary, and its replicas'.
func (c *RedisCluster) Primaries(ctx context.Context) (map[string][]string, error) {
	slots, err := c.Slots(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string)
	for _, r := range slots {
		var reps []string
		for _, n := range r.Nodes[1:] {
			reps = append(reps, n.Addr)
		}
		out[r.Nodes[0].Addr] = reps
	}
	return out, nil
}

// OwnerOf is the address of the primary serving key's slot.
func (c *RedisCluster) OwnerOf(ctx context.Context, key string) (string, error) {
	owner, _, err := c.ownerOf(ctx, key)
	return owner, err
}

// ownerOf is the primary serving key's slot and its replicas.
func (c *RedisCluster) ownerOf(ctx context.Context, key string) (string, []string, error) {
	slot, err := c.admin[c.Live()[0]].ClusterKeySlot(ctx, key).Result()
	if err != nil {
		return "", nil, err
	}
	slots, err := c.Slots(ctx)
	if err != nil {
		return "", nil, err
	}
	for _, r := range slots {
		if int64(r.Start) <= slot && slot <= int64(r.End) {
			var reps []string
			for _, n := range r.Nodes[1:] {
				reps = append(reps, n.Addr)
			}
			return r.Nodes[0].Addr, reps, nil
		}
	}
	return "", nil, fmt.Errorf("no node serves slot %d", slot)
}

// WaitHealthy waits until every live node says the cluster is ok with
// all 16384 slots served, every primary has a replica and every replica's
// link to its primary is up (a replica out of sync would not be elected).
func (c *RedisCluster) WaitHealthy(ctx context.Context, within time.Duration) error {
	var why string
	err := Wait(ctx, within, "a healthy Redis Cluster", func() bool {
		why = c.unhealthy(ctx)
		return why == ""
	})
	if err != nil {
		return fmt.Errorf("%w: %s", err, why)
	}
	return nil
}

// unhealthy says what is not yet right with the cluster, or "".
func (c *RedisCluster) unhealthy(ctx context.Context) string {
	for _, s := range c.Live() {
		info, err := c.admin[s].ClusterInfo(ctx).Result()
		if err != nil {
			return err.Error()
		}
		if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") {
			return s.Addr() + " says: " + strings.Join(strings.Fields(info)[:4], " ")
		}
		repl, err := c.admin[s].Info(ctx, "replication").Result()
		if err != nil {
			return err.Error()
		}
		if strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
			return s.Addr() + "'s link to its primary is down"
		}
	}
	prim, err := c.Primaries(ctx)
	if err != nil {
		return err.Error()
	}
	if len(prim) != 3 {
		return fmt.Sprintf("%d primaries, want 3", len(prim))
	}
	for p, reps := range prim {
		if len(reps) == 0 {
			return p + " has no replica yet"
		}
	}
	return ""
}

// KillOwnerOf kills -9 the primary serving key's slot, and returns it and
// the replica that took its place once every surviving node sees the
// replica serve the slot and the cluster is ok again.
func (c *RedisCluster) KillOwnerOf(ctx context.Context, key string, within time.Duration) (killed, promoted *RedisServer, err error) {
	owner, reps, err := c.ownerOf(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	if killed = c.Node(owner); killed == nil || len(reps) == 0 {
		return nil, nil, fmt.Errorf("%s serves %s with replicas %v: not a node of this cluster with a replica", owner, key, reps)
	}
	killed.Kill()
	err = Wait(ctx, within, "a replica promoted in place of "+owner, func() bool {
		now, _, err := c.ownerOf(ctx, key)
		if err != nil || now == owner {
			return false
		}
		promoted = c.Node(now)
		for _, s := range c.Live() {
			info, err := c.admin[s].ClusterInfo(ctx).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				return false
			}
		}
		return true
	})
	return killed, promoted, err
}

// CommandCalls is how many times each live node ran each command (INFO
// commandstats, lower-case names: "spublish", "evalsha"), by node address.
func (c *RedisCluster) CommandCalls(ctx context.Context) (map[string]map[string]int64, error) {
	out := make(map[string]map[string]int64)
	for _, s := range c.Live() {
		calls, err := CommandCalls(ctx, c.admin[s])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Addr(), err)
		}
		out[s.Addr()] = calls
	}
	return out, nil
}

// CommandCalls is how many times the server of rdb ran each command, from
// INFO commandstats.
func CommandCalls(ctx context.Context, rdb *redis.Client) (map[string]int64, error) {
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, err
	}
	calls := make(map[string]int64)
	for line := range strings.SplitSeq(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "cmdstat_"), ":calls=")
		if !ok {
			continue
		}
		n, _, _ := strings.Cut(rest, ",")
		calls[name], _ = strconv.ParseInt(n, 10, 64)
	}
	return calls, nil
}

// Calls is how many times the live nodes ran cmd, summed.
func (c *RedisCluster) Calls(ctx context.Context, cmd string) (int64, error) {
	byNode, err := c.CommandCalls(ctx)
	var n int64
	for _, calls := range byNode {
		n += calls[cmd]
	}
	return n, err
}

// BusMessages is how many cluster-bus messages of kind ("publish",
// "publishshard") the live nodes received, summed (CLUSTER INFO's
// cluster_stats_messages_<kind>_received).
func (c *RedisCluster) BusMessages(ctx context.Context, kind string) (int64, error) {
	var n int64
	for _, s := range c.Live() {
		info, err := c.admin[s].ClusterInfo(ctx).Result()
		if err != nil {
			return 0, err
		}
		for line := range strings.SplitSeq(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "cluster_stats_messages_"+kind+"_received:"); ok {
				m, _ := strconv.ParseInt(v, 10, 64)
				n += m
			}
		}
	}
	return n, nil
}

// CallsFor is Calls for a test: it fails t when a node does not answer.
func (c *RedisCluster) CallsFor(t testing.TB, cmd string) int64 {
	t.Helper()
	n, err := c.Calls(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// ReshardTo moves key's slot to the primary at to, with the slots before
// it in its primary's range (redis-cli --cluster reshard moves a
// primary's lowest slots first), keys and all, and returns once every
// live node sees to serve key's slot.
func (c *RedisCluster) ReshardTo(ctx context.Context, key, to string, within time.Duration) error {
	cli, err := redisCLI()
	if err != nil {
		return err
	}
	slot, err := c.admin[c.Live()[0]].ClusterKeySlot(ctx, key).Result()
	if err != nil {
		return err
	}
	slots, err := c.Slots(ctx)
	if err != nil {
		return err
	}
	var from string
	var n int64
	for _, r := range slots {
		if int64(r.Start) <= slot && slot <= int64(r.End) {
			from, n = r.Nodes[0].Addr, slot-int64(r.Start)+1
		}
	}
	src, dst := c.Node(from), c.Node(to)
	if src == nil || dst == nil || src == dst {
		return fmt.Errorf("resharding %s from %s to %s: not two primaries of this cluster", key, from, to)
	}
	fromID, err := c.admin[src].ClusterMyID(ctx).Result()
	if err != nil {
		return err
	}
	toID, err := c.admin[dst].ClusterMyID(ctx).Result()
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, cli, "--cluster", "reshard", to, "--cluster-from", fromID, "--cluster-to", toID,
		"--cluster-slots", strconv.FormatInt(n, 10), "--cluster-yes").CombinedOutput()
	if err != nil {
		return fmt.Errorf("redis-cli --cluster reshard: %w: %s", err, out)
	}
	return Wait(ctx, within, "every node to see "+to+" serve slot "+strconv.FormatInt(slot, 10), func() bool {
		for _, s := range c.Live() {
			slots, err := c.admin[s].ClusterSlots(ctx).Result()
			if err != nil {
				return false
			}
			for _, r := range slots {
				if int64(r.Start) <= slot && slot <= int64(r.End) && r.Nodes[0].Addr != to {
					return false
				}
			}
		}
		return true
	})
}
