package preview

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestParseCamerasValid(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Camera
	}{
		{" 1006073b=Ski slope, 10060A2C ,", []Camera{{ESN: "1006073b", Name: "Ski slope"}, {ESN: "10060a2c", Name: "10060a2c"}}},
		{"1006073b@500ms", []Camera{{ESN: "1006073b", Name: "1006073b", Interval: 500 * time.Millisecond}}},
		{"1006073b=Construction site,10060a2c=Ski slope@500ms,1009c3de=Harbour @ 2s", []Camera{
			{ESN: "1006073b", Name: "Construction site"},
			{ESN: "10060a2c", Name: "Ski slope", Interval: 500 * time.Millisecond},
			{ESN: "1009c3de", Name: "Harbour", Interval: 2 * time.Second}}},
		{"1006073b=a=b", []Camera{{ESN: "1006073b", Name: "a=b"}}},
		{"1006073b=Café ☕", []Camera{{ESN: "1006073b", Name: "Café ☕"}}},
		{"1006073b=Ski slope@500ms; always ,10060a2c;always", []Camera{
			{ESN: "1006073b", Name: "Ski slope", Interval: 500 * time.Millisecond, Always: true},
			{ESN: "10060a2c", Name: "10060a2c", Always: true}}},
		{"1006073b=Kennel;signed;origins=https://a.example| http://b.example:8080|https://a.example,10060abc;origins=http://127.0.0.1:5", []Camera{
			{ESN: "1006073b", Name: "Kennel", Signed: true, Origins: "https://a.example|http://b.example:8080"},
			{ESN: "10060abc", Name: "10060abc", Origins: "http://127.0.0.1:5"}}},
	} {
		got, err := ParseCameras(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseCameras(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseCamerasErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `no camera listed (want esn[=Name][@interval][;option]... separated by commas)`},
		{" , ,", `no camera listed (want esn[=Name][@interval][;option]... separated by commas)`},
		{"nothex", `"nothex": malformed camera id: want 8 hexadecimal digits, got 6 characters (a name may not contain "," ";" or "@")`},
		{"1006073b=Ski, slope", `"slope": malformed camera id: want 8 hexadecimal digits, got 5 characters (a name may not contain "," ";" or "@")`},
		{"1006073b,1006073B", `1006073b is listed twice`},
		{"1006073b=", `1006073b: empty name after "=" (leave out "=" to show the id)`},
		{"1006073b= @1s", `1006073b: empty name after "=" (leave out "=" to show the id)`},
		{"1006073b=Bad\x00name", `1006073b: the name has a control character`},
		{"1006073b@soon", `1006073b: "soon" after "@" is not an interval like 500ms (a name may not contain "@")`},
		{"1006073b=Cafe @ Main St", `1006073b: "Main St" after "@" is not an interval like 500ms (a name may not contain "@")`},
		{"1006073b@", `1006073b: "" after "@" is not an interval like 500ms (a name may not contain "@")`},
		{"1006073b@100ms", `1006073b: interval 100ms is outside 250ms..16s`},
		{"1006073b@20s", `1006073b: interval 20s is outside 250ms..16s`},
		{"1006073b@500500us", `1006073b: interval 500.5ms is not whole milliseconds`},
		{"1006073b;foo", `1006073b: unknown option "foo"`},
		{"1006073b=Kennel;signed=yes", `1006073b: option "signed" takes no value`},
		{"1006073b;origins", `1006073b: option "origins" wants origins separated by "|", e.g. origins=https://a.example|https://b.example`},
		{"1006073b=Ski slope@500ms; always=yes", `1006073b: option "always" takes no value`},
		{"1006073b;Always", `1006073b: unknown option "Always"`},
		{"1006073b=Kennel;", `1006073b: empty option after ";"`},
	} {
		_, err := ParseCameras(tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("ParseCameras(%q): %v\nwant: %s", tc.in, err, tc.want)
		}
	}
	if _, err := ParseCameras("nothex"); !errors.Is(err, ErrBadESN) {
		t.Errorf("a bad id is not ErrBadESN: %v", err)
	}
}

// TestCameraOptionTable: an option is one entry of cameraOptions, with or
// without a value; its error names the camera.
func TestCameraOptionTable(t *testing.T) {
	cameraOptions["test-rename"] = func(c *Camera, v string) error {
		if v == "" {
			return errors.New("test-rename needs a value")
		}
		c.Name = v
		return nil
	}
	defer delete(cameraOptions, "test-rename")
	got, err := ParseCameras("1006073b=Kennel;test-rename=Yard,10060abc")
	if err != nil || got[0].Name != "Yard" || got[1].Name != "10060abc" {
		t.Errorf("option applied: %+v, %v", got, err)
	}
	if _, err := ParseCameras("1006073b;test-rename"); err == nil || err.Error() != "1006073b: test-rename needs a value" {
		t.Errorf("option's own error: %v", err)
	}
}

// Origins must be what a browser sends in an Origin header, or a camera's
// allowed sites would silently never match.
func TestCheckOrigin(t *testing.T) {
	for _, ok := range []string{"https://a.example", "http://127.0.0.1:8080", "https://[::1]:443"} {
		if err := CheckOrigin(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a.example", "https://a.example/", "https://a.example/x", "ftp://a.example",
		"https://A.example", "https://a.example?x", "https://a.example#", "https://u@a.example", "https://a.example:0",
		"https://a.example:99999", "https://", "https://:80", "*", "https://a.example:x"} {
		if err := CheckOrigin(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseCameras("1006073b;origins=https://a.example|https://b.example/"); err == nil ||
		err.Error() != `1006073b: origins: "https://b.example/" is not an origin like https://www.example.com (lower case, scheme, host, optional port; no path)` {
		t.Errorf("one clear line: %v", err)
	}
	c := Camera{Origins: "https://a.example|http://b.example:8080"}
	if !c.AllowsOrigin("http://b.example:8080") || c.AllowsOrigin("https://b.example") || c.AllowsOrigin("") || (Camera{}).AllowsOrigin("") {
		t.Error("AllowsOrigin")
	}
}
