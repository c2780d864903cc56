package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redisstore"
	"github.com/camrelay/camrelay/internal/testbed"
)

const esn = preview.ESN("1006073b")

func newStore(t *testing.T) (*redisstore.Store, *testbed.RedisServer) {
	srv := testbed.Redis(t)
	return redisstore.New(srv.Client(), testbed.Prefix(t)), srv
}

func frame(ts string, body string) preview.Frame {
	return preview.NewFrame(esn, preview.Timestamp(ts), []byte("\xff\xd8\xff"+body), time.Now())
}

func TestSaveFrameStoresPublishesAndExpires(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	lease, err := s.Locker().Obtain(ctx, esn, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	sub := s.Client().Subscribe(ctx, s.Keys().FramesChannel())
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription confirmation
		t.Fatal(err)
	}
	f := frame("20261124040506.250", "one")
	if err := s.SaveFrame(ctx, lease.Fence(), f, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	got, err := s.Frame(ctx, esn)
	if err != nil || got.TS != f.TS || got.ETag != f.ETag || string(got.JPEG) != string(f.JPEG) {
		t.Fatalf("Frame = %+v, %v; want the saved frame", got, err)
	}
	ttl := s.Client().PTTL(ctx, s.Keys().Frame(esn)).Val()
	if ttl <= 0 || ttl > 3*time.Second {
		t.Errorf("frame TTL = %s, want (0, 3s]", ttl)
	}
	msg, err := sub.ReceiveMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ev preview.FrameEvent
	if err := json.Unmarshal([]byte(msg.Payload), &ev); err != nil || ev != (preview.FrameEvent{ESN: esn, TS: f.TS, ETag: f.ETag, Size: len(f.JPEG)}) {
		t.Errorf("published %q (%v)", msg.Payload, err)
	}
}

func TestSaveFrameIsFenced(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	locks := s.Locker()
	old, err := locks.Obtain(ctx, esn, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveFrame(ctx, old.Fence(), frame("20261124040506.250", "a"), time.Minute); err != nil {
		t.Fatal(err)
	}
	// The old leader stalls past its TTL; a new leader takes over and writes.
	var cur preview.Lease
	deadline := time.Now().Add(5 * time.Second)
	for cur == nil {
		if time.Now().After(deadline) {
			t.Fatal("lock never expired")
		}
		if cur, _ = locks.Obtain(ctx, esn, 5*time.Second); cur == nil {
			time.Sleep(10 * time.Millisecond) // polling a condition with a deadline
		}
	}
	if err := s.SaveFrame(ctx, cur.Fence(), frame("20261124040507.250", "b"), time.Minute); err != nil {
		t.Fatal(err)
	}
	// The stalled leader wakes up with an even newer frame: refused.
	if err := s.SaveFrame(ctx, old.Fence(), frame("20261124040508.250", "c"), time.Minute); !errors.Is(err, preview.ErrLockLost) {
		t.Fatalf("stale leader's write: %v, want ErrLockLost", err)
	}
	if err := old.Refresh(ctx, time.Second); !errors.Is(err, preview.ErrLockLost) {
		t.Errorf("stale leader's refresh: %v, want ErrLockLost", err)
	}
	// The current leader cannot go back in time either.
	if err := s.SaveFrame(ctx, cur.Fence(), frame("20261124040506.999", "d"), time.Minute); !errors.Is(err, preview.ErrStale) {
		t.Fatalf("older frame: %v, want ErrStale", err)
	}
	got, _ := s.Frame(ctx, esn)
	if got.TS != "20261124040507.250" {
		t.Errorf("stored ts = %s, want the new leader's frame", got.TS)
	}
}

func TestNoFrameAndUnlockedWrite(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if _, err := s.Frame(ctx, esn); !errors.Is(err, preview.ErrNoFrame) {
		t.Errorf("Frame of a camera without one: %v, want ErrNoFrame", err)
	}
	if err := s.SaveFrame(ctx, "not-a-lock", frame("20261124040506.250", "x"), time.Minute); !errors.Is(err, preview.ErrLockLost) {
		t.Errorf("write without the lock: %v, want ErrLockLost", err)
	}
}

func TestCamerasAgeOut(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	now := time.Now()
	cams := []preview.Camera{{ESN: esn, Name: "Site"}, {ESN: "10060a2c", Name: "Slope", Signed: true, Origins: "https://a.example"}} // options survive the trip
	if err := s.PublishCameras(ctx, cams[:1], now.Add(-10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.PublishCameras(ctx, cams[1:], now); err != nil {
		t.Fatal(err)
	}
	got, err := s.Cameras(ctx, 3*time.Minute, now)
	if err != nil || len(got) != 1 || got[0] != cams[1] {
		t.Fatalf("Cameras = %v, %v; want only the fresh one", got, err)
	}
	if n := s.Client().HLen(ctx, s.Keys().Cameras()).Val(); n != 1 {
		t.Errorf("stale entry not pruned: %d entries", n)
	}
}

func TestWatchResubscribesAfterRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, srv := newStore(t)
	subscribed := make(chan struct{}, 8)
	events := make(chan preview.FrameEvent, 8)
	go s.Watch(ctx, func(ev preview.FrameEvent) { events <- ev }, func() { subscribed <- struct{}{} })
	<-subscribed
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-subscribed:
	case <-ctx.Done():
		t.Fatal("no resubscription after a Redis restart")
	}
	lease, err := s.Locker().Obtain(ctx, esn, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveFrame(ctx, lease.Fence(), frame("20261124040506.250", "z"), time.Minute); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if ev.ESN != esn || ev.TS != "20261124040506.250" {
			t.Errorf("event %+v", ev)
		}
	case <-ctx.Done():
		t.Fatal("no event after the resubscription")
	}
}
