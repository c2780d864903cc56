package bench

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// scaleScenario runs one fetcher on one core (GOMAXPROCS=1) following
// many simulated cameras at 1 frame/s, and measures over Runs windows the
// frames it stores per second of its CPU time, Redis' and the fetcher's
// memory per camera and the Redis traffic of the cameras' locks.
func scaleScenario(ctx context.Context, e *env) ([]Row, error) {
	n, win := cmp.Or(e.Cameras, e.sized(2000, 100)), e.window(10*time.Second, 2*time.Second)
	const lockTTL = 5 * time.Second
	s, err := e.startStack(ctx, "scale", n, time.Second, lockTTL)
	if err != nil {
		return nil, err
	}
	defer s.close()
	used0, err := s.rds.usedMemory(ctx)
	if err != nil {
		return nil, err
	}
	f, err := s.AddFetcher(ctx, map[string]string{"GOMAXPROCS": "1"})
	if err != nil {
		return nil, err
	}
	err = testbed.Wait(ctx, time.Until(deadlineOf(ctx, time.Now().Add(time.Minute)))-time.Duration(e.Runs)*win-10*time.Second, "every camera led and storing", func() bool {
		_, stored := leaders(ctx, s.Fetchers)
		return stored >= int64(2*n) && s.settled(ctx)
	})
	if err != nil {
		return nil, err
	}
	select {
	case <-time.After(e.window(5*time.Second, 500*time.Millisecond)): // settle: backlogs caught up
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	samples := make([]scaleSample, 0, e.Runs+1)
	for r := range e.Runs + 1 {
		if r > 0 {
			select {
			case <-time.After(win): // a measured window
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		m, err := s.scaleSample(ctx, f)
		if err != nil {
			return nil, err
		}
		samples = append(samples, m)
	}
	mem, err := s.keyMemory(ctx)
	if err != nil {
		return nil, err
	}
	fm, err := memoryOf(f)
	if err != nil {
		return nil, err
	}
	return append(scaleRows(e, n, lockTTL, used0, samples, mem), Row{
		Figure:   "fetcher memory per camera, its fixed share included: Go heap + stacks; RSS",
		Camrelay: fmt.Sprintf("%.1f KB; %.1f KB", float64(fm.heap)/float64(n)/1024, float64(fm.rss)/float64(n)/1024),
	}), nil
}

// scaleRows turns the samples between the windows into figures: rates are
// medians over the windows, the rest is over all of them.
func scaleRows(e *env, n int, lockTTL time.Duration, used0 int64, samples []scaleSample, mem keyMem) []Row {
	var rates, perCores, fc, sc, rc []float64
	for i := 1; i < len(samples); i++ {
		a, b := samples[i-1], samples[i]
		secs := b.at.Sub(a.at).Seconds()
		rates = append(rates, float64(b.stored-a.stored)/secs)
		fc = append(fc, (b.cpu-a.cpu).Seconds()/secs)
		sc = append(sc, (b.simCPU-a.simCPU).Seconds()/secs)
		rc = append(rc, (b.redisCPU-a.redisCPU).Seconds()/secs)
		perCores = append(perCores, rates[i-1]/max(fc[i-1], 1e-9))
		e.log("scale: window %d: %d cameras: %.0f frames/s; CPU cores: fetcher %.2f, simulator %.2f, Redis %.2f",
			i, n, rates[i-1], fc[i-1], sc[i-1], rc[i-1])
	}
	a, b := samples[0], samples[len(samples)-1]
	secs := b.at.Sub(a.at).Seconds()
	delta := make(map[string]float64)
	for k, v := range b.calls {
		delta[k] = float64(v-a.calls[k]) / secs / float64(n)
	}
	e.log("scale: Redis calls per camera per second: %s", fmtCalls(delta))
	rate, perCore := median(rates), median(perCores)
	perCam := float64(b.used-used0) / float64(n)
	growth := float64(b.used-a.used) / float64(n)
	// Per stored frame the fenced write runs one PEXPIRE (the frame's TTL);
	// every other PEXPIRE is a lock renewal (one EVALSHA), every SET a lock
	// taken, every DEL one released.
	renew := delta["pexpire"] - float64(b.stored-a.stored)/secs/float64(n)
	return []Row{
		{Figure: fmt.Sprintf("frames stored/s, %s cameras at 1 frame/s, one fetcher with GOMAXPROCS=1 (%s)", num(float64(n)), ofWindows(len(rates))),
			Camrelay: num(rate), Target: fmt.Sprintf("%s (every frame)", num(float64(n))), Met: met(rate >= 0.97*float64(n))},
		{Figure: fmt.Sprintf("cameras at 1 frame/s per fetcher core (CPU: fetcher %.2f, simulator %.2f, Redis %.2f cores)",
			median(fc), median(sc), median(rc)),
			Camrelay: num(perCore), Target: "≥ 2,000", Met: met(perCore >= 2000)},
		{Figure: "Redis memory per camera (used_memory Δ ÷ cameras)", Camrelay: fmt.Sprintf("%.1f KB", perCam/1024),
			Target: fmt.Sprintf("≤ 1 frame key (%.1f KB, JPEG %.1f KB) + 2 KB", mem.frame/1024, mem.jpeg/1024),
			Met:    met(perCam <= mem.frame+2048)},
		{Figure: fmt.Sprintf("frame key TTL left (max); Redis memory growth per camera over %s", b.at.Sub(a.at).Round(time.Second)),
			Camrelay: fmt.Sprintf("%.1f s; %+.2f KB", mem.maxTTL.Seconds(), growth/1024),
			Target:   "≤ FRAME_TTL (15 s); ≈ 0", Met: met(mem.maxTTL <= preview.DefaultFrameTTL && mem.maxTTL > 0 && growth < 1024)},
		{Figure: fmt.Sprintf("lock traffic per camera: Redis calls/s (renew, take, release; LOCK_TTL %s)", lockTTL),
			Camrelay: fmt.Sprintf("%.2f (%.2f, %.2f, %.2f)", renew+delta["set"]+delta["del"], renew, delta["set"], delta["del"]),
			Target:   fmt.Sprintf("≈ 3 ÷ LOCK_TTL = %.2f", 3/lockTTL.Seconds())},
	}
}

// scaleSample is what the scale scenario reads at each end of its window.
type scaleSample struct {
	at                    time.Time
	stored                int64
	cpu, simCPU, redisCPU time.Duration
	calls                 map[string]int64
	used                  int64
}

func (s *stack) scaleSample(ctx context.Context, f *proc) (scaleSample, error) {
	var m scaleSample
	var err error
	_, m.stored = leaders(ctx, s.Fetchers)
	m.at = time.Now()
	if m.cpu, err = cpuOf(f); err != nil {
		return m, err
	}
	if m.simCPU, err = cpuOf(s.Sim); err != nil {
		return m, err
	}
	if m.redisCPU, err = s.rds.cpu(ctx); err != nil {
		return m, err
	}
	if m.calls, err = s.rds.commandCalls(ctx); err != nil {
		return m, err
	}
	m.used, err = s.rds.usedMemory(ctx)
	return m, err
}

type keyMem struct {
	frame, jpeg float64 // bytes, averaged over a sample of cameras
	maxTTL      time.Duration
}

// keyMemory samples up to 50 cameras' frame keys: MEMORY USAGE, the JPEG
// size and the longest remaining TTL.
func (s *stack) keyMemory(ctx context.Context) (keyMem, error) {
	var m keyMem
	k := preview.Keys{Prefix: preview.DefaultKeyPrefix}
	sample := s.cams[:min(50, len(s.cams))]
	for _, esn := range sample {
		key := k.Frame(esn)
		u, err := s.rds.client.MemoryUsage(ctx, key).Result()
		if err != nil {
			return m, fmt.Errorf("MEMORY USAGE %s: %w", key, err)
		}
		j, _ := s.rds.client.HStrLen(ctx, key, "jpeg").Result()
		ttl, _ := s.rds.client.PTTL(ctx, key).Result()
		m.frame += float64(u)
		m.jpeg += float64(j)
		m.maxTTL = max(m.maxTTL, ttl)
	}
	m.frame /= float64(len(sample))
	m.jpeg /= float64(len(sample))
	return m, nil
}

// fmtCalls lists per-command rates, busiest first.
func fmtCalls(d map[string]float64) string {
	keys := slices.Collect(maps.Keys(d))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(d[b], d[a]) })
	var parts []string
	for _, k := range keys {
		if d[k] >= 0.005 {
			parts = append(parts, fmt.Sprintf("%s %.2f", k, d[k]))
		}
	}
	return strings.Join(parts, ", ")
}
