package bench

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redisstore"
	"github.com/camrelay/camrelay/internal/signing"
	"github.com/camrelay/camrelay/internal/testbed"
)

// The image scenario's signed camera: the same image, behind a link.
const (
	signedESN = preview.ESN("10060abc")
	benchKeys = "bench:bench-signing-secret-0123456789abcdefghij"
)

// seedSigned makes signedESN a signed camera with body as its frame and
// returns its still's path with a day-long link, once replica 1 serves it.
func seedSigned(ctx context.Context, s *stack, body []byte) (string, error) {
	store := redisstore.New(s.rds.client, preview.DefaultKeyPrefix)
	if err := store.PublishCameras(ctx, []preview.Camera{{ESN: signedESN, Name: "bench", Signed: true}}, time.Now()); err != nil {
		return "", err
	}
	w := testbed.NewFrameWriter(store, time.Hour, time.Hour)
	w.Clock = time.Now().Add(-time.Hour)
	if _, err := w.Save(ctx, signedESN, body); err != nil {
		return "", err
	}
	keys, err := signing.ParseKeys(benchKeys)
	if err != nil {
		return "", err
	}
	l, err := keys.Sign(signedESN, "bench", time.Now().Add(24*time.Hour))
	if err != nil {
		return "", err
	}
	path := "/preview/" + string(signedESN) + ".jpg?" + l.Query()
	url := "http://" + s.Webs[0].Addr("web") + path
	err = testbed.Wait(ctx, 10*time.Second, "signed image served", func() bool { return httpStatus(ctx, url) == http.StatusOK })
	return path, err
}

// signedRow is a signed still's req/s beside the public still's, each
// ratio of the same run's pair.
func signedRow(conns int, signed, public *target) Row {
	var rs []float64
	for i := range min(len(signed.rates), len(public.rates)) {
		rs = append(rs, signed.rates[i]/public.rates[i])
	}
	return Row{Figure: fmt.Sprintf("req/s, 1 replica, signed still (?exp&kid&sig), %d conns", conns),
		Camrelay: num(median(signed.rates)) + " req/s", Peer: num(median(public.rates)) + " req/s (public still)",
		Ratio: fmt.Sprintf("%.2f", median(rs)), Target: "no measurable change"}
}
