package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/testbed"
)

// aclRule is the least a camrelay user needs, as the README documents it:
// its own keys and channel, and only the commands camrelay sends.
const aclRule = "camrelay on >acl-pass-1 ~camrelay:* &camrelay:* -@all " +
	"+ping +hello +auth +client|setname +select " +
	"+get +set +del +getrange +pexpire +pttl +hset +hget +hmget +hgetall +hdel +hkeys " +
	"+zadd +zrange +zremrangebyscore +zrem +publish +subscribe +evalsha +eval +time"

// camrelay works over TLS as a Redis ACL user limited to its key prefix and
// channel, and that user can reach nothing else.
func TestTLSAndACLUser(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: not in -short mode")
	}
	rds := testbed.RedisWith(t, testbed.RedisOptions{TLS: true, Users: []string{aclRule}})
	url := strings.Replace(rds.URL(), "rediss://", "rediss://camrelay:acl-pass-1@", 1)
	tls := map[string]string{"REDIS_CA_FILE": rds.CAFile}
	_, _, web := camStack(t, url, "", tls, tls)
	w := web.URL("web")
	testbed.WaitFor(t, 10*time.Second, "the replica ready", func() bool { return status(w+"/readyz") == 200 })
	events, err := testbed.ReadSSE(t.Context(), w+"/preview/"+camA+"/events", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) < 3 {
		t.Fatalf("%d events", len(events))
	}

	opt, _ := redis.ParseURL(url)
	opt.TLSConfig = rds.Client().Options().TLSConfig
	user := redis.NewClient(opt)
	defer user.Close()
	ctx := context.Background()
	rds.Client().Set(ctx, "other:secret", "x", 0)
	if err := user.Get(ctx, "other:secret").Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("the camrelay user read another key: %v", err)
	}
	if err := user.FlushAll(ctx).Err(); err == nil {
		t.Error("the camrelay user may FLUSHALL")
	}
	plain := redis.NewClient(&redis.Options{Addr: rds.Addr()})
	defer plain.Close()
	if plain.Ping(ctx).Err() == nil {
		t.Error("the server answered without TLS")
	}
}
