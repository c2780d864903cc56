package httpserver

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/camrelay/camrelay/internal/preview"
)

// publicCamera parses a camera id and checks the allow-list, which lives in
// memory: an id that is not public never reaches Redis or the upstream.
// While Redis is down the allow-list from before the outage still decides.
func (s *Server) publicCamera(id string) (preview.Camera, error) {
	esn, err := preview.ParseESN(id)
	if err != nil {
		return preview.Camera{}, err
	}
	cams, err := s.allowList()
	if err != nil {
		return preview.Camera{}, err
	}
	cam, ok := cams[esn]
	if !ok {
		return preview.Camera{}, preview.ErrNotPublic
	}
	return cam, nil
}

// previewFile serves /preview/{esn}.jpg and /preview/{esn}.mjpg.
func (s *Server) previewFile(c *gin.Context) {
	file := c.Param("file")
	id, kind, ok := strings.Cut(file, ".")
	if !ok || (kind != "jpg" && kind != "mjpg") || (kind == "mjpg" && c.Request.Method != http.MethodGet) {
		fail(c, http.StatusNotFound, "want /preview/{esn}.jpg or /preview/{esn}.mjpg")
		return
	}
	slot, ok := s.widthSlot(c)
	if !ok {
		return
	}
	cam, err := s.publicCamera(id)
	if err != nil {
		failErr(c, err)
		return
	}
	g, ok := s.admit(c, cam)
	if !ok {
		return
	}
	if kind == "mjpg" {
		s.mjpeg(c, cam.ESN, slot, g)
		return
	}
	s.still(c, cam, slot)
}

// widthSlot is the request's thumbnail width w (see widths.slot), or a
// 400 naming the offered widths.
func (s *Server) widthSlot(c *gin.Context) (int, bool) { return s.widthParam(c, "w") }

func (s *Server) widthParam(c *gin.Context, key string) (int, bool) {
	slot, err := s.widths.slot(c.Request.URL.RawQuery, key)
	if err != nil {
		fail(c, http.StatusBadRequest, s.widths.reason(key))
		return -1, false
	}
	return slot, true
}

// still serves the latest JPEG with validators, or 304. It is the hot
// path: header values come prepared with the image, so a request costs no
// formatting and touches no Redis unless the image is new (marking the
// camera watched is an atomic store; the marker tells Redis). A camera
// waking up is waited for, up to ColdWait. slot >= 0 asks for a thumbnail
// (see widths.slot).
func (s *Server) still(c *gin.Context, cam preview.Camera, slot int) {
	now := time.Now()
	s.interest.touch(cam.ESN, now)
	m, fresh := s.hub.Current(cam.ESN, now)
	if !fresh && s.coldWaitFor(cam) {
		m, fresh = s.awaitFrame(c.Request.Context(), cam.ESN)
	}
	if !fresh {
		failErr(c, s.noFrame(preview.ErrNoFrame))
		return
	}
	img, err := s.images.get(c.Request.Context(), m)
	if err != nil {
		failErr(c, s.noFrame(err))
		return
	}
	r := &img.rendition
	if slot >= 0 {
		if r, err = s.thumbnail(img, slot); err != nil {
			failErr(c, err)
			return
		}
		c.Writer.Header()["X-Image-Width"] = r.width
	}
	h := c.Writer.Header()
	h["Etag"] = r.etag
	h["Last-Modified"] = r.lastModified
	if cam.Signed {
		h["Cache-Control"] = privateStill // and no X-Accel-Expires, which nginx would obey
	} else {
		h["Cache-Control"] = s.stillCache
		if s.expiry != nil {
			h["X-Accel-Expires"] = s.expiry.header(now)
		}
	}
	h["X-Content-Type-Options"] = nosniff
	h["X-Frame-Timestamp"] = r.timestamp
	if notModified(c.Request, r.etag[0], img.TS) {
		c.Status(http.StatusNotModified)
		c.Writer.WriteHeaderNow()
		return
	}
	h["Content-Type"] = imageJPEG
	h["Content-Length"] = r.length
	c.Status(http.StatusOK)
	c.Writer.Write(r.jpeg) // HEAD: net/http writes the headers only
}

// Shared header values; never modified.
var (
	noCache   = []string{"no-cache"}
	nosniff   = []string{"nosniff"}
	imageJPEG = []string{"image/jpeg"}
)

// etagMatch implements If-None-Match's weak comparison over a list.
func etagMatch(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// cameraView is a public camera and its state, as /api/cameras lists it.
// State is live (a fresh frame), asleep (followed only while watched, and
// no fresh frame: a viewer wakes it) or offline; Online says live.
type cameraView struct {
	ESN    preview.ESN       `json:"esn"`
	Name   string            `json:"name"`
	TS     preview.Timestamp `json:"ts,omitempty"`
	AgeMS  int64             `json:"age_ms,omitempty"`
	Online bool              `json:"online"`
	State  string            `json:"state"`
	Image  string            `json:"image"`
	Events string            `json:"events"`
	// Widths are the thumbnail widths offered (?w=), the same for every
	// camera: a field of each, so the list's shape stays as it was.
	Widths []int `json:"widths"`
}

func (s *Server) listCameras(c *gin.Context) {
	cams, err := s.allowList()
	if err != nil {
		failErr(c, err)
		return
	}
	now := time.Now()
	out := make([]cameraView, 0, len(cams))
	for _, cam := range cams {
		if cam.Signed {
			continue // listed nowhere public
		}
		v := cameraView{ESN: cam.ESN, Name: cam.Name, Image: "/preview/" + string(cam.ESN) + ".jpg",
			Events: "/preview/" + string(cam.ESN) + "/events", Widths: s.widths.px}
		if meta, fresh := s.hub.Current(cam.ESN, now); meta.TS != "" {
			v.TS, v.AgeMS, v.Online = meta.TS, now.Sub(meta.SeenAt).Milliseconds(), fresh
		}
		switch {
		case v.Online:
			v.State = "live"
		case onDemand(cam):
			v.State = "asleep"
		default:
			v.State = "offline"
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ESN < out[j].ESN })
	c.Header("Cache-Control", "no-cache")
	c.JSON(http.StatusOK, out)
}

func (s *Server) healthz(c *gin.Context) { c.String(http.StatusOK, "ok\n") }

func (s *Server) readyz(c *gin.Context) {
	if why := s.notReady(time.Now()); why != "" {
		fail(c, http.StatusServiceUnavailable, "not ready: "+why)
		return
	}
	c.String(http.StatusOK, "ready\n")
}
