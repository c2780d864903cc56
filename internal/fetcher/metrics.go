package fetcher

import "github.com/prometheus/client_golang/prometheus"

// metrics are the fetcher's Prometheus series. Per-camera series carry the
// ESN, which is public anyway (it is in every image URL).
type metrics struct {
	leading         *prometheus.GaugeVec
	stored          *prometheus.CounterVec
	refused         *prometheus.CounterVec
	upstream        *prometheus.CounterVec
	upstreamErrors  *prometheus.CounterVec
	lastFrame       *prometheus.GaugeVec
	frameDelay      prometheus.Histogram
	handovers       prometheus.Counter
	refreshFailures prometheus.Counter
	fetchers        prometheus.Gauge
	assigned        prometheus.Gauge
	cameraState     *prometheus.GaugeVec
	wakeups         *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	const ns = "camrelay_fetcher_"
	m := &metrics{
		leading: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: ns + "leading",
			Help: "1 while this fetcher leads the camera."}, []string{"camera"}),
		stored: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "frames_stored_total",
			Help: "Frames stored in Redis."}, []string{"camera"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "frames_refused_total",
			Help: "Frames the fenced write refused: lock_lost or not_newer."}, []string{"camera", "reason"}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "upstream_requests_total",
			Help: "Upstream image calls by operation."}, []string{"op"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "upstream_errors_total",
			Help: "Failed upstream image calls by camera and kind (HTTP status, network, bad_image)."}, []string{"camera", "kind"}),
		lastFrame: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: ns + "last_frame_timestamp_seconds",
			Help: "EEN time of the camera's last stored frame."}, []string{"camera"}),
		frameDelay: prometheus.NewHistogram(prometheus.HistogramOpts{Name: ns + "frame_delay_seconds",
			Help:    "From a frame's EEN time to its storing in Redis.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}),
		handovers: prometheus.NewCounter(prometheus.CounterOpts{Name: ns + "handovers_total",
			Help: "Cameras given up because they were reassigned to another fetcher."}),
		refreshFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: ns + "lock_refresh_failures_total",
			Help: "Lock refreshes that failed for a reason other than losing the lock."}),
		fetchers: prometheus.NewGauge(prometheus.GaugeOpts{Name: ns + "live_fetchers",
			Help: "Live fetchers as this one sees them."}),
		assigned: prometheus.NewGauge(prometheus.GaugeOpts{Name: ns + "assigned_cameras",
			Help: "Cameras assigned to this fetcher."}),
		cameraState: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: ns + "camera_state",
			Help: "1 for the camera's state: pinned (followed all the time), watched or asleep (FETCH=watched)."}, []string{"camera", "state"}),
		wakeups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "wakeups_total",
			Help: "Leads this fetcher began of a camera followed only while watched: its wake-ups (and takeovers)."}, []string{"camera"}),
	}
	reg.MustRegister(m.leading, m.stored, m.refused, m.upstream, m.upstreamErrors, m.lastFrame,
		m.frameDelay, m.handovers, m.refreshFailures, m.fetchers, m.assigned, m.cameraState, m.wakeups)
	return m
}
