package app

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/redis/go-redis/v9"
)

// reloadOnNetError makes a Cluster client re-read the slot map as soon as
// a node cannot be reached. go-redis re-reads it on a MOVED answer, but a
// dead primary answers nothing: without this the client waits for its
// next periodic reload (ClusterStateReloadInterval) while the replica has
// already taken over. go-redis runs at most one reload at a time and
// spaces them by 200 ms, so a burst of failures costs a few CLUSTER SLOTS.
type reloadOnNetError struct{ cc *redis.ClusterClient }

func (h reloadOnNetError) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h reloadOnNetError) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.check(ctx, err)
		return err
	}
}

func (h reloadOnNetError) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.check(ctx, err)
		return err
	}
}

// check reloads after a network error: not an answer from Redis (a
// redis.Error, redis.Nil included) and not the caller giving up.
func (h reloadOnNetError) check(ctx context.Context, err error) {
	var answer redis.Error
	var netErr net.Error
	if err != nil && ctx.Err() == nil && !errors.As(err, &answer) && (errors.As(err, &netErr) || errors.Is(err, io.EOF)) {
		h.cc.ReloadState(ctx)
	}
}
