package preview

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Camera is a public camera: its id, the name shown to viewers, and the
// options CAMERAS gave it.
type Camera struct {
	ESN  ESN    `json:"esn"`
	Name string `json:"name"`
	// Interval is the simulator's preview interval ("@500ms"), zero when
	// not given. The fetcher ignores it, so one CAMERAS value serves both.
	Interval time.Duration `json:"-"`
	// Always pins the camera: followed all the time even when fetchers
	// follow only watched cameras (";always").
	Always bool `json:"always,omitempty"`
	// Watched says the camera is followed only while someone watches it
	// (FETCH=watched, not pinned): a replica shows it "waking up", not
	// "offline", while its first frame comes. Fetchers set it when they
	// announce the camera; CAMERAS has no option for it.
	Watched bool `json:"watched,omitempty"`
	// Signed: served only with a valid signed link (";signed"), and
	// listed nowhere public.
	Signed bool `json:"signed,omitempty"`
	// Origins are the sites allowed to embed the camera and read it
	// (";origins=https://a.example|https://b.example"); none: the
	// replica's defaults (CORS_ORIGINS; any site may frame the embed).
	// Kept as written, "|" between origins, so a Camera stays comparable.
	Origins string `json:"origins,omitempty"`
}

// Preview intervals an EEN camera can have; the simulator's "@interval"
// must be one of them, in whole milliseconds (EEN timestamps have them).
const (
	MinInterval = 250 * time.Millisecond
	MaxInterval = 16 * time.Second
)

// cameraOptions are the per-camera options CAMERAS may carry after ";"
// ("1006073b=Kennel;signed"): each sets fields of the Camera from the
// option's value (after "=", empty when none). An option is one entry here.
var cameraOptions = map[string]func(c *Camera, value string) error{
	"always":  flag("always", func(c *Camera) { c.Always = true }),
	"signed":  flag("signed", func(c *Camera) { c.Signed = true }),
	"origins": parseOrigins,
}

// parseOrigins reads ";origins=https://a.example|https://b.example".
func parseOrigins(c *Camera, value string) error {
	if value == "" {
		return fmt.Errorf("option \"origins\" wants origins separated by \"|\", e.g. origins=https://a.example|https://b.example")
	}
	var list []string
	for o := range strings.SplitSeq(value, "|") {
		o = strings.TrimSpace(o)
		if err := CheckOrigin(o); err != nil {
			return fmt.Errorf("origins: %w", err)
		}
		if !slices.Contains(list, o) {
			list = append(list, o)
		}
	}
	c.Origins = strings.Join(list, "|")
	return nil
}

// AllowsOrigin says whether the camera's own origins list o.
func (c Camera) AllowsOrigin(o string) bool {
	for a := range strings.SplitSeq(c.Origins, "|") {
		if a == o {
			return o != ""
		}
	}
	return false
}

// CheckOrigin says whether o is a web origin as browsers send it in an
// Origin header: http or https, a host, an optional port, nothing else.
func CheckOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" ||
		u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") ||
		strings.HasSuffix(o, "#") || strings.ContainsAny(o, " \t") || o != u.Scheme+"://"+u.Host || o != strings.ToLower(o) {
		return fmt.Errorf("%q is not an origin like https://www.example.com (lower case, scheme, host, optional port; no path)", o)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q has a bad port", o)
		}
	}
	return nil
}

// flag is an option that takes no value.
func flag(name string, set func(c *Camera)) func(c *Camera, value string) error {
	return func(c *Camera, value string) error {
		if value != "" {
			return fmt.Errorf("option %q takes no value", name)
		}
		set(c)
		return nil
	}
}

// CamerasSyntax is the grammar of CAMERAS, for error messages and -h.
const CamerasSyntax = "esn[=Name][@interval][;option]... separated by commas"

// ParseCameras parses the CAMERAS setting, shared by the fetcher and the
// simulator: comma-separated entries, each
//
//	esn[=Name][@interval][;option]...
//
// The ESN is 8 hexadecimal digits (upper case is normalised); the name
// defaults to the ESN and may hold spaces but not "," ";" or "@"; "=" with
// an empty name, an ESN listed twice, an interval outside 250ms..16s and
// an unknown option are errors. Blank entries are skipped. Errors start
// with the camera they are about, for the caller to prefix with "CAMERAS: ".
func ParseCameras(s string) ([]Camera, error) {
	var cams []Camera
	seen := make(map[ESN]bool)
	for entry := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		c, err := parseCamera(entry)
		if err != nil {
			return nil, err
		}
		if seen[c.ESN] {
			return nil, fmt.Errorf("%s is listed twice", c.ESN)
		}
		seen[c.ESN] = true
		cams = append(cams, c)
	}
	if len(cams) == 0 {
		return nil, fmt.Errorf("no camera listed (want %s)", CamerasSyntax)
	}
	return cams, nil
}

// parseCamera parses one entry: esn[=Name][@interval][;option]...
func parseCamera(entry string) (Camera, error) {
	head, opts, hasOpts := strings.Cut(entry, ";")
	head, interval, hasInterval := strings.Cut(head, "@")
	id, name, hasName := strings.Cut(head, "=")
	id = strings.TrimSpace(id)
	esn, err := ParseESN(id)
	if err != nil {
		return Camera{}, fmt.Errorf("%q: %w (a name may not contain \",\" \";\" or \"@\")", id, err)
	}
	c := Camera{ESN: esn, Name: strings.TrimSpace(name)}
	switch {
	case hasName && c.Name == "":
		return Camera{}, fmt.Errorf("%s: empty name after \"=\" (leave out \"=\" to show the id)", esn)
	case strings.ContainsFunc(c.Name, unicode.IsControl):
		return Camera{}, fmt.Errorf("%s: the name has a control character", esn)
	case c.Name == "":
		c.Name = string(esn)
	}
	if hasInterval {
		if c.Interval, err = parseInterval(interval); err != nil {
			return Camera{}, fmt.Errorf("%s: %w", esn, err)
		}
	}
	if hasOpts {
		for opt := range strings.SplitSeq(opts, ";") {
			if err := setOption(&c, strings.TrimSpace(opt)); err != nil {
				return Camera{}, fmt.Errorf("%s: %w", esn, err)
			}
		}
	}
	return c, nil
}

// parseInterval reads the simulator's preview interval.
func parseInterval(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q after \"@\" is not an interval like 500ms (a name may not contain \"@\")", s)
	}
	if err := CheckInterval(d); err != nil {
		return 0, fmt.Errorf("interval %w", err)
	}
	return d, nil
}

// CheckInterval says whether d can be a camera's preview interval; the
// error names d, for the caller to say where it was set.
func CheckInterval(d time.Duration) error {
	switch {
	case d < MinInterval || d > MaxInterval:
		return fmt.Errorf("%s is outside %s..%s", d, MinInterval, MaxInterval)
	case d%time.Millisecond != 0:
		return fmt.Errorf("%s is not whole milliseconds", d)
	}
	return nil
}

// setOption applies one ";option" or ";option=value" through cameraOptions.
func setOption(c *Camera, opt string) error {
	key, value, _ := strings.Cut(opt, "=")
	key = strings.TrimSpace(key)
	if key == "" {
		return fmt.Errorf("empty option after \";\"")
	}
	set, ok := cameraOptions[key]
	if !ok {
		return fmt.Errorf("unknown option %q", key)
	}
	return set(c, strings.TrimSpace(value))
}
