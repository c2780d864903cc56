package testbed

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redisstore"
)

func TestRedisPlainRestartAndPrefix(t *testing.T) {
	rds := Redis(t)
	c := rds.Client()
	ctx := context.Background()
	if err := c.Set(ctx, Prefix(t)+"k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rds.Restart(); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, 5*time.Second, "the client back", func() bool { return c.Ping(ctx).Err() == nil })
	if n, _ := c.DBSize(ctx).Result(); n != 0 {
		t.Errorf("a restarted server has %d keys, want none", n)
	}
	if p := Prefix(t); !strings.HasPrefix(p, "test:TestRedisPlainRestartAndPrefix:") {
		t.Errorf("prefix %q", p)
	}
}

func TestRedisTLSWithUser(t *testing.T) {
	rds := RedisWith(t, RedisOptions{TLS: true, Users: []string{"app on >pw ~app:* +get +set"}})
	if !strings.HasPrefix(rds.URL(), "rediss://") || rds.CAFile == "" {
		t.Fatalf("URL %s, CA %q", rds.URL(), rds.CAFile)
	}
	c := rds.Client()
	ctx := context.Background()
	if err := c.Do(ctx, "AUTH", "app", "pw").Err(); err != nil {
		t.Fatalf("the ACL user: %v", err)
	}
	if err := c.Set(ctx, "other", "x", 0).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("the ACL user wrote outside its keys: %v", err)
	}
}

func TestStartRedisNeedsADir(t *testing.T) {
	if _, err := RedisBinary(); err != nil {
		Unavailable(t, err.Error())
	}
	if _, err := StartRedis(RedisOptions{}); err == nil {
		t.Fatal("no error without a data directory")
	}
}

func TestFrameWriterAndWatch(t *testing.T) {
	rds := Redis(t)
	prefix := Prefix(t)
	w := Watch(t, rds.Client(), prefix)
	fw := NewFrameWriter(redisstore.New(rds.Client(), prefix), time.Minute, time.Minute)
	ctx := context.Background()
	start := time.Now()
	var saved []preview.Frame
	for range 3 {
		f, err := fw.Save(ctx, "1006073b", []byte("\xff\xd8\xffjpeg"))
		if err != nil {
			t.Fatal(err)
		}
		saved = append(saved, f)
	}
	WaitFor(t, 5*time.Second, "three notices", func() bool { return len(w.Seen()) == 3 })
	if f, ok := w.After("1006073b", start); !ok || f.TS != saved[0].TS {
		t.Errorf("first notice after start: %+v %v, want ts %s", f, ok, saved[0].TS)
	}
	if err := w.InOrder("1006073b"); err != nil {
		t.Error(err)
	}
	// A restarted Redis forgets the lock: the writer takes it again.
	if err := rds.Restart(); err != nil {
		t.Fatal(err)
	}
	err := Wait(ctx, 10*time.Second, "a save after the restart", func() bool {
		_, err := fw.Save(ctx, "1006073b", []byte("\xff\xd8\xffjpeg"))
		return err == nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWait(t *testing.T) {
	n := 0
	if err := Wait(context.Background(), time.Second, "three calls", func() bool { n++; return n == 3 }); err != nil || n != 3 {
		t.Errorf("err %v after %d calls", err, n)
	}
	err := Wait(context.Background(), 50*time.Millisecond, "never", func() bool { return false })
	if err == nil || !strings.Contains(err.Error(), "timed out after 50ms waiting for never") {
		t.Errorf("err %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Wait(ctx, time.Minute, "never", func() bool { return false }); !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want canceled", err)
	}
}

func TestFreeAddrIsLoopback(t *testing.T) {
	addr, err := FreeAddr()
	if err != nil || !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("%q, %v", addr, err)
	}
}

func TestSyncBufferKeepsTheTail(t *testing.T) {
	b := &SyncBuffer{Keep: 4}
	for i := range 10 {
		fmt.Fprint(b, i)
	}
	if got := b.String(); !strings.HasSuffix("0123456789", got) || len(got) > 8 {
		t.Errorf("kept %q", got)
	}
	all := &SyncBuffer{}
	fmt.Fprint(all, "0123456789")
	if all.String() != "0123456789" {
		t.Errorf("kept %q", all.String())
	}
}

func TestReadSSE(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/events" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, ": hello\n\nevent: frame\nid: a-1\ndata: {}\n\nevent: frame\nid: a-2\ndata: {\"x\":1}\n\n")
	}))
	defer srv.Close()
	evs, err := ReadSSE(t.Context(), srv.URL+"/events", 5)
	want := []SSEEvent{{"frame", "a-1", "{}"}, {"frame", "a-2", `{"x":1}`}}
	if err != nil || fmt.Sprint(evs) != fmt.Sprint(want) {
		t.Errorf("got %v, %v; want %v", evs, err, want)
	}
	if _, err := ReadSSE(t.Context(), srv.URL+"/nope", 1); err == nil {
		t.Error("a 404 read as a stream")
	}
}

func TestFetcherStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/status" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `{"1006073b":{"leading":true,"stored":7}}`)
	}))
	defer srv.Close()
	st, err := FetcherStatus(t.Context(), srv.URL)
	if err != nil || !st["1006073b"].Leading || st["1006073b"].Stored != 7 {
		t.Errorf("%+v, %v", st, err)
	}
	if _, err := FetcherStatus(t.Context(), srv.URL+"/x"); err == nil {
		t.Error("a 404 read as a status")
	}
}
