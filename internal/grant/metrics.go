package grant

import "github.com/prometheus/client_golang/prometheus"

// metrics are the grant's Prometheus series: counts and times only, never
// a token.
type metrics struct {
	refreshes prometheus.Counter
	failures  *prometheus.CounterVec
	signIn    prometheus.Gauge
	expiry    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	const ns = "camrelay_een_v3_"
	m := &metrics{
		refreshes: prometheus.NewCounter(prometheus.CounterOpts{Name: ns + "token_refreshes_total",
			Help: "Refreshes of the shared token set this fetcher made."}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "token_refresh_failures_total",
			Help: "Refreshes that failed, by kind: sign_in_needed, unanswered, no_rotation, stale_claim (another's), client_rejected, retryable."},
			[]string{"kind"}),
		signIn: prometheus.NewGauge(prometheus.GaugeOpts{Name: ns + "sign_in_needed",
			Help: "1 while the EEN v3 grant is lost: run fetcher connect."}),
		expiry: prometheus.NewGauge(prometheus.GaugeOpts{Name: ns + "token_expiry_timestamp_seconds",
			Help: "When the access token in use expires."}),
	}
	reg.MustRegister(m.refreshes, m.failures, m.signIn, m.expiry)
	return m
}
