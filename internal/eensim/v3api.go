package eensim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/camrelay/camrelay/internal/backoff"
	"github.com/camrelay/camrelay/internal/preview"
)

// v3Access counts a v3 API call and checks its Bearer access token,
// answering 401 itself when it is missing, expired or revoked, or when a
// 401 storm is injected.
func (s *Server) v3Access(w http.ResponseWriter, r *http.Request, endpoint, esn string) bool {
	s.stats.count(endpoint, esn)
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch {
	case !strings.EqualFold(scheme, "Bearer") || !s.accessOK(strings.TrimSpace(tok)):
		s.apiFail(w, "missing, expired or revoked access token", http.StatusUnauthorized)
	case chance(s.cfg.Faults.Unauthorized):
		s.apiFail(w, "access token rejected (injected)", http.StatusUnauthorized)
	default:
		return true
	}
	return false
}

// apiFail answers a v3 API error as EEN does: {code, status, message, details}.
func (s *Server) apiFail(w http.ResponseWriter, msg string, code int) {
	s.stats.status(code)
	if code == http.StatusUnauthorized {
		s.stats.add(func(o *OAuthStats) { o.Unauthorized++ })
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"code": code, "status": http.StatusText(code), "message": msg, "details": []any{}})
}

// clientSettings serves GET /api/v3.0/clientSettings.
func (s *Server) clientSettings(w http.ResponseWriter, r *http.Request) {
	if s.v3Access(w, r, "clientSettings", "") {
		writeJSON(w, map[string]any{"httpsBaseUrl": s.baseURL(r)})
	}
}

// cameraPage is one page of GET /api/v3.0/cameras.
type cameraPage struct {
	Results       []cameraEntry `json:"results"`
	NextPageToken string        `json:"nextPageToken"`
	PrevPageToken string        `json:"prevPageToken"`
	TotalSize     int           `json:"totalSize"`
}

type cameraEntry struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// cameraList serves GET /api/v3.0/cameras: the cameras the user may see,
// by id, in pages.
func (s *Server) cameraList(w http.ResponseWriter, r *http.Request) {
	if !s.v3Access(w, r, "cameras", "") {
		return
	}
	all := s.visibleCameras()
	q := r.URL.Query()
	size, err := strconv.Atoi(q.Get("pageSize"))
	if q.Get("pageSize") == "" {
		size, err = s.cfg.CameraPageSize, nil
	}
	from, ok := readPageToken(q.Get("pageToken"), len(all))
	switch {
	case err != nil || size < 1:
		s.apiFail(w, "pageSize must be a positive whole number", http.StatusBadRequest)
		return
	case !ok:
		s.apiFail(w, "invalid pageToken", http.StatusBadRequest)
		return
	}
	size = min(size, s.cfg.CameraPageSize)
	to := min(from+size, len(all))
	page := cameraPage{Results: all[from:to], TotalSize: len(all)}
	if to < len(all) {
		page.NextPageToken = pageToken(to)
	}
	if from > 0 {
		page.PrevPageToken = pageToken(max(0, from-size))
	}
	writeJSON(w, page)
}

// visibleCameras lists the cameras the user may see, by id.
func (s *Server) visibleCameras() []cameraEntry {
	var all []cameraEntry
	for esn, c := range s.cameras {
		if !s.denied[esn] {
			all = append(all, cameraEntry{ID: string(esn), Name: c.Name})
		}
	}
	slices.SortFunc(all, func(a, b cameraEntry) int { return strings.Compare(a.ID, b.ID) })
	return all
}

const pagePrefix = "eensim-page:"

// pageToken is the opaque token of the page starting at offset.
func pageToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(pagePrefix + strconv.Itoa(offset)))
}

// readPageToken reads a page token; "" is the first page.
func readPageToken(tok string, total int) (int, bool) {
	if tok == "" {
		return 0, true
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	rest, found := strings.CutPrefix(string(b), pagePrefix)
	n, err2 := strconv.Atoi(rest)
	return n, err == nil && found && err2 == nil && n >= 0 && n < total
}

// liveImage serves GET /api/v3.0/media/liveImage.jpeg: it waits for the
// camera's next preview frame, as v1's next with "now" does.
func (s *Server) liveImage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	esn, err := preview.ParseESN(q.Get("deviceId"))
	if !s.v3Access(w, r, "liveImage", string(esn)) {
		return
	}
	cam, ok := s.cameras[esn]
	switch {
	case err != nil:
		s.apiFail(w, "deviceId must be a camera id (8 hexadecimal digits)", http.StatusBadRequest)
	case q.Get("type") != "preview":
		s.apiFail(w, `type must be "preview"`, http.StatusBadRequest)
	case !ok:
		s.apiFail(w, "no such camera", http.StatusNotFound)
	case s.denied[esn]:
		s.apiFail(w, "no access to this camera", http.StatusForbidden)
	case s.injectFault(w, r, true):
	default:
		now := s.cfg.Now()
		at := cam.after(now)
		if backoff.Sleep(r.Context(), at.Sub(now)) == nil {
			h := w.Header()
			h.Set("X-Een-Timestamp", at.UTC().Format(s.cfg.TimestampLayout))
			h.Set("X-Een-PrevToken", base64.RawURLEncoding.EncodeToString([]byte(string(esn)+"@"+ts(at.Add(-cam.Interval)).String())))
			s.writeJPEG(w, cam, at)
		}
	}
}
