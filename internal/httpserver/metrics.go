package httpserver

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are a replica's Prometheus series, in a registry of its own
// unless Config.Registry shares one, so several replicas can run in one
// process. Per-camera series carry the ESN, which is public anyway.
type metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	bytes        *prometheus.CounterVec
	sseClients   prometheus.Gauge
	mjpegClients prometheus.Gauge
	dropped      prometheus.Counter
	rejected     *prometheus.CounterVec
	frameReads   *prometheus.CounterVec
	resubscribed prometheus.Counter
	marks        *prometheus.CounterVec
	wakes        prometheus.Counter
	coldWaits    *prometheus.CounterVec
	thumbnails   *prometheus.CounterVec
	resizeSecs   *prometheus.HistogramVec
	series       sync.Map // seriesKey → requestSeries, so a request costs no label lookup
}

// seriesKey and requestSeries are a request's series, resolved once per
// route and status, both bounded (see routeOf); withBytes keeps a route's
// bytes series out of /metrics until it has counted a byte, as before.
type seriesKey struct {
	route     string
	code      int
	withBytes bool
}

type requestSeries struct{ requests, bytes prometheus.Counter }

const ns = "camrelay_web_"

func newMetrics(reg *prometheus.Registry, s *Server) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "requests_total",
			Help: "HTTP requests by route and status; a stream counts once its headers are out."}, []string{"route", "code"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "response_bytes_total",
			Help: "Response body bytes written, by route; streams count as they write."}, []string{"route"}),
		sseClients: prometheus.NewGauge(prometheus.GaugeOpts{Name: ns + "sse_clients",
			Help: "Open Server-Sent Events streams."}),
		mjpegClients: prometheus.NewGauge(prometheus.GaugeOpts{Name: ns + "mjpeg_clients",
			Help: "Open MJPEG streams."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: ns + "slow_clients_dropped_total",
			Help: "Streaming clients dropped because they fell a full buffer behind."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "streams_rejected_total",
			Help: "Streams refused: limit=replica (503, MaxStreams open) or client (429, one address's cap)."}, []string{"limit"}),
		frameReads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "redis_frame_reads_total",
			Help: "Image reads from Redis (one per new image per replica) by result: ok, missing, error."}, []string{"result"}),
		resubscribed: prometheus.NewCounter(prometheus.CounterOpts{Name: ns + "redis_subscriptions_total",
			Help: "Pub/sub (re)subscriptions; more than one means Redis was lost and state re-read."}),
		marks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "watch_marks_total",
			Help: "Marks of watched cameras sent to Redis (at most one per camera per interval), by result: ok, error."}, []string{"result"}),
		wakes: prometheus.NewCounter(prometheus.CounterOpts{Name: ns + "wakes_total",
			Help: "Marks that found a camera unwatched and woke its fetcher."}),
		coldWaits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "cold_waits_total",
			Help: "Still-image requests that waited for a waking camera's first frame, by result: served, timeout, gone (the client left or the replica closed), full (MaxColdWaits reached: 503 at once)."}, []string{"result"}),
	}
	m.thumbnails, m.resizeSecs = thumbMetrics()
	reg.MustRegister(m.requests, m.bytes, m.sseClients, m.mjpegClients, m.dropped, m.rejected,
		m.frameReads, m.resubscribed, m.marks, m.wakes, m.coldWaits, m.thumbnails, m.resizeSecs, stateCollector{s})
	return m
}

// middleware counts each request when its handler returns: for a stream,
// once its headers are out and the stream runs on its own. Streams count
// their bytes themselves as they write.
func (m *metrics) middleware(c *gin.Context) {
	c.Next()
	route, stream := routeOf(c)
	n := c.Writer.Size()
	k := seriesKey{route, c.Writer.Status(), !stream && n > 0}
	v, ok := m.series.Load(k)
	if !ok {
		rs := requestSeries{requests: m.requests.WithLabelValues(route, codeText(k.code))}
		if k.withBytes {
			rs.bytes = m.bytes.WithLabelValues(route)
		}
		v, _ = m.series.LoadOrStore(k, rs)
	}
	rs := v.(requestSeries)
	rs.requests.Inc()
	if k.withBytes {
		rs.bytes.Add(float64(n))
	}
}

// routeOf names a request's route for labels, bounded to the routes that
// exist, and tells whether it is a stream.
func routeOf(c *gin.Context) (string, bool) {
	switch p := c.FullPath(); p {
	case "":
		return "other", false
	case "/preview/:file":
		if strings.HasSuffix(c.Param("file"), ".mjpg") {
			return "/preview/{esn}.mjpg", true
		}
		return "/preview/{esn}.jpg", false
	case "/preview/:file/events":
		return "/preview/{esn}/events", true
	case "/events":
		return p, true
	case "/embed/:file":
		return "/embed/{esn}", false
	default:
		return p, false
	}
}

// codeText avoids an allocation per request for the usual statuses.
func codeText(code int) string {
	switch code {
	case 200:
		return "200"
	case 304:
		return "304"
	case 400:
		return "400"
	case 404:
		return "404"
	case 503:
		return "503"
	}
	return strconv.Itoa(code)
}

// serveMetrics is GET /metrics.
func (s *Server) serveMetrics() gin.HandlerFunc {
	h := promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
	return gin.WrapH(h)
}

// stateCollector reads the replica's state at scrape time: subscription,
// readiness and the age of each camera's latest image.
type stateCollector struct{ s *Server }

var (
	subscribedDesc = prometheus.NewDesc(ns+"redis_subscribed",
		"1 while the pub/sub subscription is live and state was re-read after it.", nil, nil)
	redisUpDesc = prometheus.NewDesc(ns+"redis_up",
		"1 when Redis answered the replica's last check.", nil, nil)
	readyDesc = prometheus.NewDesc(ns+"ready",
		"1 when /readyz answers 200.", nil, nil)
	ageDesc = prometheus.NewDesc(ns+"image_age_seconds",
		"Age of the camera's latest image by its EEN timestamp.", []string{"camera"}, nil)
	seenDesc = prometheus.NewDesc(ns+"image_seen_age_seconds",
		"Time since this replica learnt of the camera's latest image; past FRAME_TTL it is not served.", []string{"camera"}, nil)
)

func (sc stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{subscribedDesc, redisUpDesc, readyDesc, ageDesc, seenDesc} {
		ch <- d
	}
}

func (sc stateCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	ch <- prometheus.MustNewConstMetric(subscribedDesc, prometheus.GaugeValue, boolValue(sc.s.subscribed.Load()))
	ch <- prometheus.MustNewConstMetric(redisUpDesc, prometheus.GaugeValue, boolValue(sc.s.redisUp.Load()))
	ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, boolValue(sc.s.ready(now)))
	cams := sc.s.cameras.Load()
	if cams == nil {
		return
	}
	for esn := range *cams { // public cameras only: bounded by the allow-list
		m, _ := sc.s.hub.Current(esn, now)
		if m.TS == "" {
			continue
		}
		ch <- prometheus.MustNewConstMetric(ageDesc, prometheus.GaugeValue, now.Sub(m.TS.Time()).Seconds(), string(m.ESN))
		ch <- prometheus.MustNewConstMetric(seenDesc, prometheus.GaugeValue, now.Sub(m.SeenAt).Seconds(), string(m.ESN))
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
