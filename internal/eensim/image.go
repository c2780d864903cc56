package eensim

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/camrelay/camrelay/internal/backoff"
	"github.com/camrelay/camrelay/internal/preview"
)

// image serves /asset/{prev,next,asset,after}/image.jpeg.
func (s *Server) image(w http.ResponseWriter, r *http.Request) {
	op := r.PathValue("op")
	if op != "prev" && op != "next" && op != "asset" && op != "after" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	cam, ok := s.camera(w, r, op)
	if !ok {
		return
	}
	if s.injectFault(w, r, false) {
		return
	}
	now := s.cfg.Now()
	at, status := s.resolve(cam, op, q.Get("timestamp"), now)
	if status != http.StatusOK {
		s.fail(w, fmt.Sprintf("no %s image", op), status)
		return
	}
	// next long-polls: the frame exists once its time has come.
	if op != "next" || backoff.Sleep(r.Context(), at.Sub(now)) == nil {
		s.writeFrame(w, cam, at)
	}
}

// resolve finds the frame an op asks for; the time may lie in the future
// only for next.
func (s *Server) resolve(cam *camera, op, raw string, now time.Time) (time.Time, int) {
	var t time.Time
	if raw == "now" {
		t = now
	} else {
		parsed, err := preview.ParseTimestamp(raw)
		if err != nil {
			return t, http.StatusBadRequest
		}
		t = parsed.Time()
	}
	oldest := now.Add(-history)
	var at time.Time
	switch op {
	case "prev":
		at = cam.latest(t)
		if at.Equal(t) && raw != "now" {
			at = at.Add(-cam.Interval) // strictly before
		}
		at = minTime(at, cam.latest(now)) // a later frame does not exist yet
	case "asset":
		if !cam.isFrame(t) || t.After(now) {
			return at, http.StatusNotFound
		}
		at = t
	case "after":
		at = cam.after(maxTime(t, oldest))
		if raw == "now" || at.After(now) {
			return at, http.StatusNotFound
		}
	case "next":
		// The first frame after t, but never later than the camera's next
		// one: a timestamp ahead of the newest frame waits for that.
		return minTime(cam.after(maxTime(t, oldest)), cam.after(now)), http.StatusOK
	}
	if at.Before(oldest) {
		return at, http.StatusNotFound
	}
	return at, http.StatusOK
}

// writeFrame answers a v1 image call with the frame at.
func (s *Server) writeFrame(w http.ResponseWriter, cam *camera, at time.Time) {
	h := w.Header()
	h.Set("x-ee-timestamp", "preview-"+ts(at).String())
	h.Set("x-ee-prev", "preview-"+ts(at.Add(-cam.Interval)).String())
	if next := at.Add(cam.Interval); next.After(s.cfg.Now()) {
		h.Set("x-ee-next", "unknown")
	} else {
		h.Set("x-ee-next", "preview-"+ts(next).String())
	}
	s.writeJPEG(w, cam, at)
}

// writeJPEG answers the JPEG of the frame at, v1 or v3.
func (s *Server) writeJPEG(w http.ResponseWriter, cam *camera, at time.Time) {
	b := cam.jpeg(s.cfg.Renderer, at)
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	s.stats.status(http.StatusOK)
	w.Write(b)
}

func (s *Server) fail(w http.ResponseWriter, msg string, code int) {
	s.stats.status(code)
	http.Error(w, msg, code)
}

// injectFault answers with an injected failure when one is drawn; v3
// calls answer in v3's form and are never redirected.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request, v3 bool) bool {
	f := s.cfg.Faults
	fail := s.fail
	if v3 {
		fail = s.apiFail
	}
	switch {
	case chance(f.Unavailable):
		fail(w, "service unavailable (injected)", http.StatusServiceUnavailable)
		return true
	case chance(f.RateLimited):
		// Whole seconds, rounded up: a client must not come back early.
		w.Header().Set("Retry-After", strconv.Itoa(int((max(f.RetryAfter, time.Second)+time.Second-1)/time.Second)))
		fail(w, "too many requests (injected)", http.StatusTooManyRequests)
		return true
	case !v3 && r.URL.Query().Get("archiver") == "" && chance(f.Redirect):
		u := *r.URL
		q := u.Query()
		q.Set("archiver", "2")
		u.RawQuery = q.Encode()
		s.stats.status(http.StatusMovedPermanently)
		http.Redirect(w, r, u.String(), http.StatusMovedPermanently)
		return true
	case chance(f.Slow):
		return backoff.Sleep(r.Context(), f.SlowDelay) != nil
	}
	return false
}

// list serves /asset/list/image: the frame times in a range.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cam, ok := s.camera(w, r, "list")
	if !ok {
		return
	}
	now := s.cfg.Now()
	start, err := preview.ParseTimestamp(q.Get("start_timestamp"))
	if err != nil {
		s.fail(w, "bad start_timestamp", http.StatusBadRequest)
		return
	}
	from, to, status := listRange(cam, start.Time(), q, now, now.Add(-history))
	if status != http.StatusOK {
		s.fail(w, "bad end_timestamp or count", status)
		return
	}
	type entry struct {
		T string `json:"t"`
		S string `json:"s"`
	}
	out := []entry{}
	for t := cam.after(from.Add(-time.Millisecond)); !t.After(to) && len(out) < 1000; t = t.Add(cam.Interval) {
		out = append(out, entry{T: "PRFR", S: ts(t).String()})
	}
	writeJSON(w, out)
}

// listRange turns end_timestamp or count into a closed time range.
func listRange(cam *camera, start time.Time, q map[string][]string, now, oldest time.Time) (from, to time.Time, status int) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if end := get("end_timestamp"); end != "" {
		e, err := preview.ParseTimestamp(end)
		if err != nil {
			return from, to, http.StatusBadRequest
		}
		from, to = start, e.Time()
	} else {
		n, err := strconv.Atoi(get("count"))
		if err != nil || n == 0 || n > 1000 || n < -1000 {
			return from, to, http.StatusBadRequest
		}
		span := time.Duration(n) * cam.Interval
		from, to = start, start.Add(span-time.Millisecond)
		if n < 0 {
			from, to = start.Add(span), start.Add(-time.Millisecond)
		}
	}
	return maxTime(from, oldest), minTime(to, now), http.StatusOK
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// camera counts a call to endpoint and checks its session, API key and
// camera id, answering 401/403/400 itself when one is wrong.
func (s *Server) camera(w http.ResponseWriter, r *http.Request, endpoint string) (*camera, bool) {
	esn, err := preview.ParseESN(r.URL.Query().Get("id"))
	s.stats.count(endpoint, string(esn))
	if code, msg := s.access(r); code != 0 {
		s.fail(w, msg, code)
		return nil, false
	}
	if err != nil {
		s.fail(w, "bad id: "+err.Error(), http.StatusBadRequest)
		return nil, false
	}
	cam, ok := s.cameras[esn]
	if !ok || s.denied[esn] {
		s.fail(w, "no access to this camera", http.StatusForbidden)
		return nil, false
	}
	return cam, true
}
