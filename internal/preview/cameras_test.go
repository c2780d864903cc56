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
		{"1006073b=Kennel;signed,10060abc", `1006073b: unknown option "signed"`},
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
