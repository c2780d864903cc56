package bench

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// bareEnv carries the bare image server child's job: the path of the
// image file it serves.
const bareEnv = "CAMRELAY_BENCH_BARE"

// startBare starts the image scenario's floor: a child process serving
// body from memory with a bare net/http handler (no router, no
// middleware, no store), on the same loopback as the replica.
func startBare(ctx context.Context, dir string, body []byte) (*proc, error) {
	file := filepath.Join(dir, "bare.jpg")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		return nil, err
	}
	return startProc(ctx, "bare", map[string]string{bareEnv: file}, "bare")
}

// runBareChild serves the file of $CAMRELAY_BENCH_BARE at every path until
// ctx ends, with the headers a browser needs of an image.
func runBareChild(ctx context.Context) error {
	body, err := os.ReadFile(os.Getenv(bareEnv))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	say("listening bare %s", ln.Addr())
	size := strconv.Itoa(len(body))
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("Content-Length", size)
		w.Write(body)
	})}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
