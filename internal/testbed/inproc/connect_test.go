package inproc

import (
	"strings"
	"testing"

	"github.com/camrelay/camrelay/internal/app"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redisstore"
	"github.com/camrelay/camrelay/internal/testbed"
)

// Connect signs a v3 stack in through the simulator's consent: the token
// set is in Redis, the code is returned and was not printed. A wrong
// client secret is an error that says why.
func TestConnect(t *testing.T) {
	rds := testbed.Redis(t)
	redirect, err := testbed.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	v := testbed.Vars(rds.URL(), "1006073b", "250ms").WithV3("http://"+redirect, 0)
	sim := Run(t, "eensim", app.RunSim, v.Sim, "eensim")
	v = v.WithSim(sim.URL("eensim"))
	if v.Fetcher["EEN_AUTH_URL"] != sim.URL("eensim") || v.Fetcher["EEN_USERNAME"] != "" {
		t.Fatalf("v3 fetcher settings: %v", v.Fetcher)
	}
	got, err := Connect(t.Context(), v.Fetcher)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := redisstore.New(rds.Client(), preview.DefaultKeyPrefix).ReadToken(t.Context())
	if err != nil || rec.Gen == 0 || rec.Set.RefreshToken == "" {
		t.Fatalf("no token set in Redis: gen %d, %v", rec.Gen, err)
	}
	if got.Code == "" || strings.Contains(got.Output, got.Code) || strings.Contains(got.Output, rec.Set.RefreshToken) {
		t.Errorf("code %d chars; printed:\n%s", len(got.Code), got.Output)
	}
	_, err = Connect(t.Context(), testbed.With(v.Fetcher, "EEN_CLIENT_SECRET", "not-the-secret"))
	if err == nil || !strings.Contains(err.Error(), "EEN refused the client id or secret") {
		t.Errorf("wrong secret: %v", err)
	}
}
