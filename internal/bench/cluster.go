package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/child"
)

// clusterScenario runs the same cameras, a fetcher and a web replica on
// a single Redis and on a Redis Cluster of three shards (a replica each),
// one after the other, and counts what Redis does per camera: commands
// per second (INFO commandstats, scripts' own commands included, the
// bench's INFO left out), summed over the Cluster's primaries; and how
// many cluster-bus messages each frame notice costs (CLUSTER INFO's
// publishshard counters) against the same number of plain PUBLISHes,
// which the bus copies to every other node.
func clusterScenario(ctx context.Context, e *env) ([]Row, error) {
	n, interval := e.sized(60, 20), 500*time.Millisecond
	span := e.window(15*time.Second, 4*time.Second)
	cams := cameraList(n, 0x31000000)

	rds, err := startRedis(filepath.Join(e.dir, "cluster-single"))
	if err != nil {
		return nil, err
	}
	single, err := runCounted(ctx, e, rds.URL(), cams, interval, span, func(ctx context.Context) (map[string]int64, error) {
		calls, err := rds.commandCalls(ctx)
		return map[string]int64{"commands": sumCalls(calls)}, err
	})
	rds.stop()
	if err != nil {
		return nil, fmt.Errorf("single Redis: %w", err)
	}

	rc, err := testbed.StartRedisCluster(ctx, filepath.Join(e.dir, "cluster-nodes"), testbed.ClusterOptions{})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	prim, err := rc.Primaries(ctx)
	if err != nil {
		return nil, err
	}
	clustered, err := runCounted(ctx, e, rc.URL(), cams, interval, span, func(ctx context.Context) (map[string]int64, error) {
		byNode, err := rc.CommandCalls(ctx)
		if err != nil {
			return nil, err
		}
		c := make(map[string]int64)
		for addr, calls := range byNode {
			if _, ok := prim[addr]; ok {
				c["commands"] += sumCalls(calls)
				c["notices"] += calls["spublish"]
			}
		}
		c["bus"], err = rc.BusMessages(ctx, "publishshard")
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("Redis Cluster: %w", err)
	}
	sharded := clustered["notices"]
	if sharded <= 0 {
		return nil, fmt.Errorf("no SPUBLISH on the cluster in %s", span)
	}
	perSharded := float64(clustered["bus"]) / float64(sharded)

	// The peer: as many plain PUBLISHes (up to 2,000) of a notice's size.
	k := min(sharded, 2000)
	before, err := rc.BusMessages(ctx, "publish")
	if err != nil {
		return nil, err
	}
	cc := rc.Client()
	defer cc.Close()
	msg := strings.Repeat("x", 100)
	for range k {
		if err := cc.Publish(ctx, preview.Keys{Prefix: preview.DefaultKeyPrefix}.FramesChannel(), msg).Err(); err != nil {
			return nil, err
		}
	}
	var perPlain float64
	if err := testbed.Wait(ctx, 10*time.Second, "the PUBLISHes across the bus", func() bool {
		after, err := rc.BusMessages(ctx, "publish")
		perPlain = float64(after-before) / float64(k)
		return err == nil && after-before >= k*int64(len(rc.Live())-1)
	}); err != nil {
		return nil, err
	}
	e.log("cluster: %d SPUBLISH → %d bus messages; %d PUBLISH → %.0f each", sharded, clustered["bus"], k, perPlain)

	perCam := func(calls int64) float64 { return float64(calls) / span.Seconds() / float64(n) }
	return []Row{
		{
			Figure: fmt.Sprintf("Redis commands/s per camera, Cluster of 3 shards (primaries) vs single Redis (%d cameras, a frame every %s, 1 fetcher, 1 web)",
				n, interval),
			Camrelay: fmt.Sprintf("%.1f", perCam(clustered["commands"])), Peer: fmt.Sprintf("%.1f", perCam(single["commands"])),
			Ratio: ratio(perCam(clustered["commands"]), perCam(single["commands"])),
		},
		{
			Figure:   "cluster-bus messages per frame notice: SPUBLISH (to its shard's replica) vs plain PUBLISH (to every other node)",
			Camrelay: fmt.Sprintf("%.2f", perSharded), Peer: fmt.Sprintf("%.2f", perPlain),
			Ratio:  ratio(perSharded, perPlain),
			Target: "sharded: 1 per replica, flat as shards are added", Met: met(perSharded <= 1.05),
		},
	}, nil
}

// runCounted runs a stack of cams on redisURL (a fetcher and a web
// replica), waits until every camera stores frames, and returns how much
// each of count's counters grew over span.
func runCounted(ctx context.Context, e *env, redisURL string, cams []preview.ESN, interval, span time.Duration,
	count func(context.Context) (map[string]int64, error)) (map[string]int64, error) {
	s := child.NewStack(testbed.Vars(redisURL, joinESNs(cams), interval.String()))
	s.LogTail = 4 << 10
	s.Vars.Fetcher["LOG_LEVEL"] = "warn"
	s.Vars.Web["LOG_LEVEL"] = "warn"
	defer s.Close()
	if err := s.StartSim(ctx); err != nil {
		return nil, err
	}
	if _, err := s.AddFetchers(ctx, 1, nil); err != nil {
		return nil, err
	}
	if _, err := s.AddWebs(ctx, 1, nil); err != nil {
		return nil, err
	}
	if err := testbed.Wait(ctx, 60*time.Second, "every camera storing frames", func() bool {
		st := status(ctx, s.Fetchers[0])
		for _, esn := range cams {
			if st[esn].Stored == 0 {
				return false
			}
		}
		return true
	}); err != nil {
		return nil, err
	}
	before, err := count(ctx)
	if err != nil {
		return nil, err
	}
	e.log("cluster: %d cameras on %s, counting for %s", len(cams), redisURL, span)
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(span): // the measuring window
	}
	after, err := count(ctx)
	for k, v := range before {
		after[k] -= v
	}
	return after, err
}

// sumCalls adds up every command's calls but INFO (the bench's own).
func sumCalls(calls map[string]int64) int64 {
	var n int64
	for cmd, c := range calls {
		if cmd != "info" {
			n += c
		}
	}
	return n
}
