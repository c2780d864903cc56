package app

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/camrelay/camrelay/internal/preview"
)

// camerasOf parses CAMERAS as each program does and returns the cameras
// ("esn=Name" each) or the CAMERAS line of its error.
var camerasOf = map[string]func(cameras string) (string, error){
	"fetcher": func(cameras string) (string, error) {
		c, err := parseFetcherConfig(Env{Getenv: envOf(map[string]string{"CAMERAS": cameras, "EEN_USERNAME": "u", "EEN_PASSWORD": "p"}), Stderr: &bytes.Buffer{}})
		return listed(c.Cameras), err
	},
	"eensim": func(cameras string) (string, error) {
		c, err := parseSimConfig(Env{Getenv: envOf(map[string]string{"CAMERAS": cameras}), Stderr: &bytes.Buffer{}})
		var out []string
		for _, sc := range c.Config.Cameras {
			out = append(out, fmt.Sprintf("%s=%s", sc.ESN, sc.Name))
		}
		return strings.Join(out, ","), err
	},
	"all-in-one, simulated": func(cameras string) (string, error) {
		c, err := parseAllConfig(Env{Getenv: envOf(map[string]string{"CAMERAS": cameras}), Stderr: &bytes.Buffer{}})
		return listed(c.Cameras), err
	},
	"all-in-one, real EEN": func(cameras string) (string, error) {
		c, err := parseAllConfig(Env{Getenv: envOf(map[string]string{"CAMERAS": cameras, "EEN_USERNAME": "u", "EEN_PASSWORD": "p"}), Stderr: &bytes.Buffer{}})
		return listed(c.Cameras), err
	},
}

func listed(cams []preview.Camera) string {
	var out []string
	for _, c := range cams {
		out = append(out, fmt.Sprintf("%s=%s", c.ESN, c.Name))
	}
	return strings.Join(out, ",")
}

// TestCamerasOneSyntax: the fetcher, the simulator and the all-in-one
// accept the same CAMERAS values and refuse the same ones with the same
// line.
func TestCamerasOneSyntax(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1006073b=Ski slope@500ms,10060A2C", "1006073b=Ski slope,10060a2c=10060a2c"},
		{"1006073b@500ms", "1006073b=1006073b"},
		{DemoCameras, "1006073b=Construction site,10060a2c=Ski slope,100b4f17=Shop front,1009c3de=Harbour"},
		{"1006073b@soon", `CAMERAS: 1006073b: "soon" after "@" is not an interval like 500ms (a name may not contain "@")`},
		{"1006073b@100ms", "CAMERAS: 1006073b: interval 100ms is outside 250ms..16s"},
		{"1006073b=Kennel;signed,10060abc", "1006073b=Kennel,10060abc=10060abc"},
		{"1006073b=Kennel;sealed,10060abc", `CAMERAS: 1006073b: unknown option "sealed"`},
		{"1006073b;origins=https://a.example/", `CAMERAS: 1006073b: origins: "https://a.example/" is not an origin like https://www.example.com (lower case, scheme, host, optional port; no path)`},
		{"1006073b,1006073B", "CAMERAS: 1006073b is listed twice"},
		{"1006073b=", `CAMERAS: 1006073b: empty name after "=" (leave out "=" to show the id)`},
		{"1006073b=Ski, slope", `CAMERAS: "slope": malformed camera id: want 8 hexadecimal digits, got 5 characters (a name may not contain "," ";" or "@")`},
	} {
		for prog, parse := range camerasOf {
			cams, err := parse(tc.in)
			got := cams
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("%s, CAMERAS=%q:\n got: %s\nwant: %s", prog, tc.in, got, tc.want)
			}
		}
	}
}
