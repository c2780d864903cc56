package bench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
)

// runWriteLoopChild is the fan-out scenario's floor: an SSE server with
// nothing around the write. It answers every GET with a chunked event
// stream and frame 0, and at each "pub k" from the parent writes frame k,
// one pre-built chunk, to every connection in one loop on one goroutine:
// no goroutine per client, no channel, no deadline, no counter. What it
// costs per event is what a loopback write costs.
func runWriteLoopChild(ctx context.Context, cmds <-chan string) error {
	if err := raiseFileLimit(16384); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	say("listening writeloop %s", ln.Addr())
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				if _, err := http.ReadRequest(bufio.NewReaderSize(c, 512)); err != nil {
					c.Close()
					return
				}
				// Listed in the same critical section as frame 0 is written:
				// once a client has frame 0, the next publish reaches it.
				mu.Lock()
				defer mu.Unlock()
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n%s", loopChunk(0))
				conns = append(conns, c)
			}()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	for {
		var line string
		select {
		case line = <-cmds:
		case <-ctx.Done():
			return nil
		}
		var k int
		if _, err := fmt.Sscanf(line, "pub %d", &k); err != nil {
			return fmt.Errorf("bad command %q", line)
		}
		chunk := loopChunk(k)
		mu.Lock()
		for _, c := range conns {
			c.Write(chunk) // a failed client just misses frames: the swarm says so
		}
		mu.Unlock()
	}
}

// loopChunk is frame k as one HTTP chunk: an SSE event of the size of
// camrelay's (about 190 bytes), framed.
func loopChunk(k int) []byte {
	ev := fmt.Sprintf("event: frame\nid: %s-%020d\ndata: {\"esn\":%q,\"ts\":\"%020d\",\"url\":\"/preview/%s.jpg?ts=%020d\",\"etag\":\"\\\"%016x\\\"\"}\n\n",
		imageESN, k, imageESN, k, imageESN, k, k)
	return fmt.Appendf(nil, "%s\r\n%s\r\n", strconv.FormatInt(int64(len(ev)), 16), ev)
}
