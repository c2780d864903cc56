package deployments

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

const sentinelComposePath = "../docker-compose.sentinel.yml"

// TestComposeSentinelFile: the Sentinel override runs both Redis servers
// with docker-compose.yml's users (the README's rules) and points every
// fetcher and web replica at the sentinels.
func TestComposeSentinelFile(t *testing.T) {
	base := loadCompose(t)
	over := loadComposeFile(t, sentinelComposePath)
	rules := base.Services["redis"].Command
	for _, name := range []string{"redis", "redis-replica"} {
		if cmd := over.Services[name].Command; !slices.Equal(cmd[:min(len(rules), len(cmd))], rules) {
			t.Errorf("%s: its command does not begin with docker-compose.yml's redis command (the README's users)", name)
		}
	}
	for _, name := range append(base.servicesOf("fetcher"), base.servicesOf("web")...) {
		s := over.Services[name]
		url := s.Environment["REDIS_URL"]
		// In the Sentinel form, user:password@ is the sentinels' login;
		// Redis' user and password are parameters.
		user, pw := redisLogin(t, base.Services[name].Environment["REDIS_URL"])
		want := "redis://sentinel1:26379/0?master_name=camrelay&addr=sentinel2:26379&addr=sentinel3:26379&username=" + user + "&password=" + pw
		if url != want {
			t.Errorf("%s: REDIS_URL %q, want %q: its Redis user, through the three sentinels", name, url, want)
		}
		for _, sn := range []string{"sentinel1", "sentinel2", "sentinel3"} {
			if s.DependsOn[sn].Condition != "service_healthy" {
				t.Errorf("%s does not wait for %s", name, sn)
			}
		}
	}
}

// checkSentinel runs docker-compose.yml with docker-compose.sentinel.yml,
// on the images TestComposeUp built (tag), and kills the primary as the
// README says (docker compose kill redis): the sentinels promote the
// replica, frames resume at every camera, and an SSE viewer carries on in
// order on the same stream. It is a phase of TestComposeUp, after that
// project is down, so that CI builds the images once.
func checkSentinel(t *testing.T, cmd []string, tag string, lockTTL time.Duration) {
	c, addr := demoProject(t, cmd, tag, sentinelComposePath)
	c.must(4*time.Minute, "up", "-d", "--no-build")
	v := newViewer("http://" + addr)
	waitFor(t, 2*time.Minute, "every camera served through nginx", func() bool {
		for _, esn := range demoCameras {
			if _, err := v.frame(esn); err != nil {
				return false
			}
		}
		return true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	frames := v.follow(ctx, "/preview/"+fastCamera+"/events")
	sentinel := strings.TrimSpace(c.must(time.Minute, "ps", "-q", "sentinel1"))
	primary := strings.TrimSpace(c.must(time.Minute, "ps", "-q", "redis"))
	if got := masterOf(sentinel); got != "redis" {
		t.Fatalf("sentinel1 names %q as primary, want redis", got)
	}
	c.must(time.Minute, "kill", "redis")
	died := c.finishedAt(primary)
	waitFor(t, time.Minute, "the sentinels to promote redis-replica", func() bool { return masterOf(sentinel) == "redis-replica" })
	promoted := time.Since(died)
	waitFor(t, time.Minute, "every camera fresh after the failover", func() bool {
		for _, esn := range demoCameras {
			if !v.freshAfter(esn, died) {
				return false
			}
		}
		return true
	})
	resumed := time.Since(died)
	bound := promoted + lockTTL + time.Second
	sse := viewerCarriedOn(t, frames, died)
	t.Logf("docker compose kill redis: redis-replica promoted within %s of the kill; the SSE viewer's next frame %s after the kill "+
		"(bound %s), on its first stream; every camera's still fresh through nginx (1 s microcache) within %s",
		fmtDur(promoted), fmtDur(sse), fmtDur(bound), fmtDur(resumed))
	if sse > bound {
		t.Errorf("frames resumed at the SSE viewer %s after the kill, want within %s", sse, bound)
	}
}

func fmtDur(d time.Duration) string { return d.Round(10 * time.Millisecond).String() }

// viewerCarriedOn reads the viewer's frames until one taken after since,
// and returns when it came: every frame newer than the one before, on the
// stream opened first.
func viewerCarriedOn(t *testing.T, frames <-chan sseFrame, since time.Time) time.Duration {
	t.Helper()
	var prev sseFrame
	for f := range frames { // ends with the viewer's context
		if prev.ts != "" && !f.ts.After(prev.ts) {
			t.Errorf("the SSE viewer got %s after %s", f.ts, prev.ts)
		}
		if f.reconnects > 0 {
			t.Errorf("the SSE viewer reconnected %d times", f.reconnects)
		}
		prev = f
		if f.ts.Time().After(since) {
			return f.at.Sub(since)
		}
	}
	t.Fatal("the SSE viewer saw no frame taken after the kill")
	return 0
}

// redisLogin is the user and password of a redis://user:password@…
// URL whose password may be a ${…} of compose's.
func redisLogin(t *testing.T, url string) (user, password string) {
	login, _, ok := strings.Cut(strings.TrimPrefix(url, "redis://"), "@")
	user, password, ok2 := strings.Cut(login, ":")
	if !ok || !ok2 {
		t.Fatalf("REDIS_URL %q: no user and password", url)
	}
	return user, password
}

// masterOf is the primary a sentinel names ("" when it cannot say); the
// images have no shell, but redis-cli is one.
func masterOf(sentinel string) string {
	out, err := exec.Command("docker", "exec", sentinel, "redis-cli", "-p", "26379",
		"sentinel", "get-master-addr-by-name", "camrelay").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}
