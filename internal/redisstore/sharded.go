package redisstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/preview"
)

// On Redis Cluster a frame or wake notice goes by sharded pub/sub
// (SPUBLISH) on the camera's own channel (Keys.FrameShardChannel,
// Keys.WakeShardChannel): a script may publish only to a shard channel in
// the slot of its keys, and a sharded notice reaches only the shard that
// owns the slot, not every node as PUBLISH does. So a web replica (a
// fetcher, for wakes) subscribes to every public camera's channel, on the
// primary that serves it: one subscription per primary, holding one
// SSUBSCRIBE per channel (go-redis resubscribes a connection's shard
// channels in one command, which Redis refuses across slots, so a broken
// subscription is replaced here, never left to go-redis to renew).

// replanEvery is how often the camera list and the slot map are read
// again: new cameras, failovers and resharding are followed within it.
const replanEvery = time.Second

// retryAfter is how soon a failed node's subscription is tried again.
const retryAfter = 250 * time.Millisecond

// nodeSub is the sharded subscription on one primary.
type nodeSub struct {
	addr      string
	ps        *redis.PubSub
	channels  map[string]bool // channel → its SSUBSCRIBE confirmed
	confirmed int
	cancel    context.CancelFunc
}

// shardNote is what a node's reader hands the watch loop.
type shardNote struct {
	sub *nodeSub
	msg any
	err error
}

// subscribeSharded is subscribe on a Redis Cluster: it hears channel(esn)
// of every public camera. subscribed is called each time a primary's
// subscription has confirmed all its channels (a new camera, a failover,
// a resubscription), so the caller re-reads then.
func (s *Store) subscribeSharded(ctx context.Context, channel func(preview.ESN) string, message func(string), subscribed func()) error {
	cc := s.cluster
	notes := make(chan shardNote, 4096)
	subs := make(map[string]*nodeSub)
	defer func() {
		for _, sub := range subs {
			sub.close()
		}
	}()
	tick := time.NewTimer(0)
	defer tick.Stop()
	first := true
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			plan, err := s.shardPlan(ctx, cc, channel)
			if err != nil && len(subs) == 0 {
				return err
			}
			if err != nil {
				// One shard is down (the allow-list's, say): the others'
				// subscriptions carry on meanwhile.
				tick.Reset(retryAfter)
				continue
			}
			if first && len(plan) == 0 {
				subscribed() // nothing to hear yet: the caller may still read
			}
			first = false
			s.follow(ctx, cc, plan, subs, notes)
			tick.Reset(replanEvery)
		case n := <-notes:
			if subs[n.sub.addr] != n.sub {
				continue // from a subscription replaced meanwhile
			}
			switch m := n.msg.(type) {
			case *redis.Message:
				message(m.Payload)
			case *redis.Subscription:
				switch {
				case m.Kind == "ssubscribe" && !n.sub.channels[m.Channel]:
					n.sub.channels[m.Channel] = true
					if n.sub.confirmed++; n.sub.confirmed == len(n.sub.channels) {
						subscribed()
					}
				case m.Kind == "sunsubscribe":
					// Redis dropped the channel: its slot moved (resharding).
					n.err = fmt.Errorf("%s unsubscribed %s", n.sub.addr, m.Channel)
				}
			}
			if n.err != nil {
				// A dead or demoted node, or a moved slot: read the slot map
				// again and resubscribe that node's channels soon.
				delete(subs, n.sub.addr)
				n.sub.close()
				cc.ReloadState(ctx)
				tick.Reset(retryAfter)
			}
		}
	}
}

// shardPlan is every public camera's channel grouped by the primary that
// serves it, as the client's slot map says.
func (s *Store) shardPlan(ctx context.Context, cc *redis.ClusterClient, channel func(preview.ESN) string) (map[string][]string, error) {
	ids, err := s.rdb.HKeys(ctx, s.keys.Cameras()).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: reading cameras: %w", err)
	}
	plan := make(map[string][]string)
	for _, id := range ids {
		esn, err := preview.ParseESN(id)
		if err != nil {
			continue
		}
		ch := channel(esn)
		node, err := cc.MasterForKey(ctx, ch)
		if err != nil {
			return nil, fmt.Errorf("redisstore: finding the primary of %s: %w", esn, err)
		}
		plan[node.Options().Addr] = append(plan[node.Options().Addr], ch)
	}
	return plan, nil
}

// follow makes subs match plan: a primary's new channels are added to its
// subscription; one that lost channels (moved away) is replaced; primaries
// no longer in the plan are dropped.
func (s *Store) follow(ctx context.Context, cc *redis.ClusterClient, plan map[string][]string, subs map[string]*nodeSub, notes chan<- shardNote) {
	for addr, sub := range subs {
		if _, ok := plan[addr]; !ok {
			delete(subs, addr)
			sub.close()
		}
	}
	for addr, chans := range plan {
		sub := subs[addr]
		if sub != nil && sub.lost(chans) {
			delete(subs, addr)
			sub.close()
			sub = nil
		}
		if sub == nil {
			node, err := cc.MasterForKey(ctx, chans[0])
			if err != nil || node.Options().Addr != addr {
				continue // the map changed meanwhile: next round
			}
			sub = newNodeSub(ctx, addr, node, notes)
			subs[addr] = sub
		}
		for _, c := range chans {
			if _, ok := sub.channels[c]; ok {
				continue
			}
			sub.channels[c] = false
			// One command per channel: channels in different slots may not
			// share an SSUBSCRIBE. An error here shows on the reader too.
			sub.ps.SSubscribe(ctx, c)
		}
	}
}

// newNodeSub opens a sharded subscription on node and starts its reader.
func newNodeSub(ctx context.Context, addr string, node *redis.Client, notes chan<- shardNote) *nodeSub {
	ctx, cancel := context.WithCancel(ctx)
	sub := &nodeSub{addr: addr, ps: node.SSubscribe(ctx), channels: make(map[string]bool), cancel: cancel}
	go func() {
		for {
			msg, err := sub.ps.Receive(ctx)
			if err != nil && ctx.Err() != nil {
				return
			}
			select {
			case notes <- shardNote{sub: sub, msg: msg, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return sub
}

// lost reports whether the subscription holds a channel not in chans (its
// slot moved to another primary, or its camera left the allow-list).
func (n *nodeSub) lost(chans []string) bool {
	for c := range n.channels {
		if !slices.Contains(chans, c) {
			return true
		}
	}
	return false
}

func (n *nodeSub) close() {
	n.cancel()
	n.ps.Close()
}
