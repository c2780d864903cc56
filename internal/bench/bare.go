package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// The bare image server child's job: the path of the image file it
// serves and, as JSON, the headers it sends with it.
const (
	bareEnv       = "CAMRELAY_BENCH_BARE"
	bareHeaderEnv = "CAMRELAY_BENCH_BARE_HEADER"
)

// bares are the image scenario's floors, child processes serving the
// still from memory with a bare net/http handler (no router, no
// middleware, no store) on the same loopback as the replica: same sends
// the replica's own headers, so the two send the same bytes but Date;
// plain sends only Content-Type and Content-Length, so the headers' own
// cost in net/http shows.
type bares struct{ same, plain *proc }

// startBares starts the floors of the replica at addr, which serves body
// at path, and checks the same floor answers what the replica does.
func startBares(ctx context.Context, dir, addr, path string, body []byte) (b bares, err error) {
	defer func() {
		if err != nil {
			b.stop()
		}
	}()
	h, _, err := getStill(ctx, addr, path)
	if err != nil {
		return b, fmt.Errorf("the replica's still: %w", err)
	}
	if b.same, err = startBare(ctx, dir, "bare", body, h); err != nil {
		return b, err
	}
	plain := http.Header{"Content-Type": {"image/jpeg"}, "Content-Length": {strconv.Itoa(len(body))}}
	if b.plain, err = startBare(ctx, dir, "bare-plain", body, plain); err != nil {
		return b, err
	}
	return b, sameStill(ctx, addr, b.same.Addr("bare"), path)
}

func (b bares) stop() {
	for _, p := range []*proc{b.same, b.plain} {
		if p != nil {
			p.Stop()
		}
	}
}

// startBare starts one floor serving body with header.
func startBare(ctx context.Context, dir, name string, body []byte, header http.Header) (*proc, error) {
	file := filepath.Join(dir, name+".jpg")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		return nil, err
	}
	h, err := json.Marshal(header)
	if err != nil {
		return nil, err
	}
	return startProc(ctx, "bare", map[string]string{bareEnv: file, bareHeaderEnv: string(h)}, "bare")
}

// getStill asks addr for path the way the load generator does (no
// Accept-Encoding, no Origin) and returns the answer's headers less Date,
// which net/http sends of its own, and its body.
func getStill(ctx context.Context, addr, path string) (http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("User-Agent", "camrelay-bench")
	c := &http.Client{Transport: &http.Transport{DisableCompression: true, DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("%s: status %s", path, resp.Status)
	}
	resp.Header.Del("Date")
	return resp.Header, body, nil
}

// sameStill checks the floor at bare answers path with the headers and
// body the replica at addr does, so bench and product cannot drift apart.
func sameStill(ctx context.Context, addr, bare, path string) error {
	want, wantBody, err := getStill(ctx, addr, path)
	if err != nil {
		return fmt.Errorf("the replica's still: %w", err)
	}
	got, gotBody, err := getStill(ctx, bare, path)
	if err != nil {
		return fmt.Errorf("the bare still: %w", err)
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		return fmt.Errorf("bench: bare net/http sends the headers %v, the replica %v", got, want)
	}
	if !bytes.Equal(gotBody, wantBody) {
		return errors.New("bench: bare net/http sends another body than the replica")
	}
	return nil
}

// runBareChild serves the file of $CAMRELAY_BENCH_BARE at every path
// until ctx ends, with the headers of $CAMRELAY_BENCH_BARE_HEADER.
func runBareChild(ctx context.Context) error {
	body, err := os.ReadFile(os.Getenv(bareEnv))
	if err != nil {
		return err
	}
	var header http.Header
	if err := json.Unmarshal([]byte(os.Getenv(bareHeaderEnv)), &header); err != nil {
		return fmt.Errorf("%s: %w", bareHeaderEnv, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	say("listening bare %s", ln.Addr())
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: bareHandler(body, header)}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// bareHandler answers every request with body and header, set the
// cheapest way net/http allows: its values built once and assigned to
// the response's map, as the replica does.
func bareHandler(body []byte, header http.Header) http.Handler {
	type field struct {
		k string
		v []string
	}
	var fields []field
	for k, v := range header {
		fields = append(fields, field{k, v})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		for _, f := range fields {
			h[f.k] = f.v
		}
		w.Write(body)
	})
}
