package een_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/camrelay/camrelay/internal/een"
	"github.com/camrelay/camrelay/internal/eensim"
	"github.com/camrelay/camrelay/internal/framegen"
	"github.com/camrelay/camrelay/internal/preview"
)

// Follow a camera as EEN recommends: prev with "now" for an image at once,
// then next from the last image's timestamp. Here the upstream is the
// simulator on a still clock.
func ExampleClient_Next() {
	r, _ := framegen.New(640, 360)
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	sim, _ := eensim.New(eensim.Config{
		Username: "proxy@example.com",
		Password: "secret",
		Cameras:  []eensim.Camera{{ESN: "1006073b", Name: "Gate", Interval: time.Second}},
		Renderer: r,
		Now:      func() time.Time { return at },
	})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()

	c, err := een.New(een.Config{BaseURL: srv.URL, Username: "proxy@example.com", Password: "secret"})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	img, err := c.Prev(ctx, "1006073b", "now")
	if err != nil {
		fmt.Println(err)
		return
	}
	older, _ := c.Prev(ctx, "1006073b", img.TS.String())
	next, err := c.Next(ctx, "1006073b", older.TS.String())
	fmt.Println(img.TS, preview.IsJPEG(img.JPEG))
	fmt.Println(older.TS)
	fmt.Println(next.TS, err, c.Logins())
	// Output:
	// 20250304050606.754 true
	// 20250304050605.754
	// 20250304050606.754 <nil> 1
}
