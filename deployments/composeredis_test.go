package deployments

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/testbed"
)

// composeVar is a ${NAME:-default} of the compose file.
var composeVar = regexp.MustCompile(`\$\{\w+:-([^}]*)\}`)

// withDefaults is s as compose makes it when no variable is set.
func withDefaults(s string) string { return composeVar.ReplaceAllString(s, "$1") }

// redisUsers splits a redis-server command line's --user options into
// rules, one word list each, by user name.
func redisUsers(args []string) map[string][]string {
	users := map[string][]string{}
	for i := 0; i < len(args); i++ {
		if args[i] != "--user" || i+1 >= len(args) {
			continue
		}
		j := i + 1
		for j < len(args) && !strings.HasPrefix(args[j], "--") {
			j++
		}
		users[args[i+1]] = args[i+1 : j]
		i = j - 1
	}
	return users
}

// readmeUsers returns the README's ACL rules ("ACL SETUSER name …") as
// word lists by user name.
func readmeUsers(t *testing.T) map[string][]string {
	t.Helper()
	users := map[string][]string{}
	for line := range strings.SplitSeq(readme(t), "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[0] == "ACL" && f[1] == "SETUSER" {
			users[f[2]] = f[2:]
		}
	}
	return users
}

// maskPasswords writes every ">password" of a rule as ">PASSWORD".
func maskPasswords(rule []string) []string {
	out := slices.Clone(rule)
	for i, w := range out {
		if strings.HasPrefix(w, ">") {
			out[i] = ">PASSWORD"
		}
	}
	return out
}

// TestComposeFileRedis: the compose file's Redis keeps its data in a named
// volume with an append-only file, and has the README's two users, whose
// passwords the fetchers' and web replicas' REDIS_URLs carry. It runs that
// command line on the host's redis-server: the EEN v3 token set written by
// the fetcher user survives a SIGKILL and restart, the web user cannot
// read it, and a connection without a user can only PING (the healthcheck).
func TestComposeFileRedis(t *testing.T) {
	c := loadCompose(t)
	rs := c.Services["redis"]
	args := make([]string, len(rs.Command))
	for i, a := range rs.Command {
		args[i] = withDefaults(a)
	}
	if len(args) == 0 || args[0] != "redis-server" {
		t.Fatalf("redis command %q: want redis-server and its options", args)
	}
	if opt := option(args, "--appendonly"); opt != "yes" {
		t.Errorf("redis: --appendonly %q, want yes: a restart must keep the EEN v3 token set", opt)
	}
	if opt := option(args, "--dir"); opt != "/data" || !slices.Contains(rs.Volumes, "redis-data:/data") || !hasKey(c.Volumes, "redis-data") {
		t.Errorf("redis: --dir %q, volumes %q: want its data in the named volume redis-data at /data", opt, rs.Volumes)
	}
	users, want := redisUsers(args), readmeUsers(t)
	for _, name := range []string{"camrelay-fetcher", "camrelay-web"} {
		if got := maskPasswords(users[name]); want[name] == nil || !slices.Equal(got, maskPasswords(want[name])) {
			t.Errorf("redis user %s:\n%q\nthe README's:\n%q", name, got, want[name])
		}
	}
	if t.Failed() {
		return
	}
	checkComposeRedisRuns(t, c, args)
}

// option is the value after name in args.
func option(args []string, name string) string {
	if i := slices.Index(args, name); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// checkComposeRedisRuns runs the compose file's Redis command line on the
// host, on loopback with a data directory of its own, and logs in as the
// users the compose services' REDIS_URLs name.
func checkComposeRedisRuns(t *testing.T, c *composeSpec, args []string) {
	bin, err := testbed.RedisBinary()
	if err != nil {
		skipOrFail(t, err.Error())
	}
	addr, err := testbed.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	args = slices.Clone(args[1:])
	args[slices.Index(args, "--dir")+1] = t.TempDir()
	_, port, _ := strings.Cut(addr, ":")
	args = append(args, "--port", port, "--bind", "127.0.0.1")
	ctx := context.Background()
	fetcher, web := composeClient(t, c, "fetcher1", addr), composeClient(t, c, "web1", addr)
	anon := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer anon.Close()
	stop := startRedis(t, bin, args, anon)
	for name, cl := range map[string]*redis.Client{"fetcher1": fetcher, "web1": web} {
		if err := cl.Ping(ctx).Err(); err != nil {
			t.Fatalf("%s cannot log in with its REDIS_URL: %v", name, err)
		}
	}
	token := "camrelay:een:token"
	if err := fetcher.HSet(ctx, token, "refresh_token", "rt-1").Err(); err != nil {
		t.Fatalf("the fetcher user cannot store the token set: %v", err)
	}
	if err := web.HGetAll(ctx, token).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("the web user reads the token set: %v", err)
	}
	if err := anon.HGetAll(ctx, token).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("a connection without a user reads the token set: %v", err)
	}
	stop() // SIGKILL: the answer to HSET came after the write to the append-only file
	startRedis(t, bin, args, anon)
	if got, err := fetcher.HGet(ctx, token, "refresh_token").Result(); got != "rt-1" {
		t.Errorf("after a SIGKILL and restart the token set holds %q (%v), want rt-1", got, err)
	}
}

// composeClient is a client logged in as the service's REDIS_URL says, at addr.
func composeClient(t *testing.T, c *composeSpec, service, addr string) *redis.Client {
	t.Helper()
	u, err := url.Parse(withDefaults(c.Services[service].Environment["REDIS_URL"]))
	if err != nil || u.User == nil {
		t.Fatalf("%s: REDIS_URL names no user: %v", service, err)
	}
	pass, _ := u.User.Password()
	cl := redis.NewClient(&redis.Options{Addr: addr, Username: u.User.Username(), Password: pass, MaxRetries: -1})
	t.Cleanup(func() { cl.Close() })
	return cl
}

// startRedis starts redis-server with args, waits until anon's PING (the
// compose healthcheck) answers, and returns a function that kills it.
func startRedis(t *testing.T, bin string, args []string, anon *redis.Client) (kill func()) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out := &testbed.SyncBuffer{Keep: 4 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	kill = func() { cmd.Process.Signal(os.Kill); <-done }
	t.Cleanup(kill)
	err := testbed.Wait(context.Background(), 10*time.Second, "redis-server to answer PING", func() bool {
		select {
		case <-done:
			return true
		default:
			return anon.Ping(context.Background()).Err() == nil
		}
	})
	select {
	case <-done:
		t.Fatalf("redis-server exited: %s", out.String())
	default:
	}
	if err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	return kill
}

func hasKey(m map[string]any, k string) bool { _, ok := m[k]; return ok }
