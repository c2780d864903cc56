package fanout_test

import (
	"fmt"
	"time"

	"github.com/camrelay/camrelay/internal/fanout"
	"github.com/camrelay/camrelay/internal/preview"
)

// A replica's feed publishes each frame notice once; every stream of the
// camera receives the same event, its SSE text encoded once.
func Example() {
	hub := fanout.New(15*time.Second, nil)
	sub := hub.Subscribe([]preview.ESN{"1006073b"}, func() {})
	defer hub.Unsubscribe(sub)

	hub.Publish(fanout.Meta{ESN: "1006073b", TS: "20261124040506.250", ETag: `"e1"`, SeenAt: time.Now()})
	hub.Beat()
	fmt.Printf("%s", (<-sub.Events()).SSE())
	fmt.Printf("%s", (<-sub.Events()).SSE())
	// Output:
	// event: frame
	// id: 1006073b-20261124040506.250
	// data: {"esn":"1006073b","ts":"20261124040506.250","url":"/preview/1006073b.jpg?ts=20261124040506.250","etag":"\"e1\""}
	//
	// : hb
}
