package een

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/camrelay/camrelay/internal/preview"
)

// FuzzReadImage feeds hostile upstream answers (any status, headers,
// truncated, oversized or non-JPEG bodies, lying Content-Length) to the
// response handling: it never panics, never accepts more than the cap,
// and accepts only JPEGs with a valid timestamp.
func FuzzReadImage(f *testing.F) {
	jpeg := []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00")
	f.Add(200, "preview-20181001000000.045", jpeg, int64(len(jpeg)), "")
	f.Add(200, "preview-20181001000000.045", []byte("<html>nope</html>"), int64(-1), "")
	f.Add(200, "thumb-20181001000000.045", jpeg[:2], int64(100), "")
	f.Add(200, "", jpeg, int64(-1), "")
	f.Add(200, "preview-2018", bytes.Repeat([]byte{0xff}, 5000), int64(5000), "")
	f.Add(429, "", []byte{}, int64(0), "3")
	f.Add(503, "", []byte("busy"), int64(4), "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add(301, "", []byte{}, int64(0), "-1")
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", Username: "u", Password: "p", MaxImageBytes: 4096})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, status int, ts string, body []byte, length int64, retryAfter string) {
		resp := &http.Response{
			StatusCode:    status,
			Header:        http.Header{"X-Ee-Timestamp": {ts}, "Retry-After": {retryAfter}},
			Body:          io.NopCloser(bytes.NewReader(body)),
			ContentLength: length,
		}
		img, err := c.readImage("next", "1006073b", resp)
		if status != http.StatusOK {
			var se *StatusError
			if !errors.As(err, &se) || se.Code != status || se.Wait < 0 {
				t.Fatalf("status %d: err %v", status, err)
			}
			return
		}
		if err != nil {
			return
		}
		if !preview.IsJPEG(img.JPEG) || len(img.JPEG) > 4096 || !bytes.Equal(img.JPEG, body) {
			t.Fatalf("accepted a bad body of %d bytes", len(img.JPEG))
		}
		if _, perr := preview.ParseTimestamp(string(img.TS)); perr != nil {
			t.Fatalf("accepted timestamp %q", img.TS)
		}
	})
}
