package testbed

import (
	"maps"
	"time"
)

// The simulated EEN v3 client of every v3 stack: the simulator's and the
// fetchers'. The secret looks random, so a test can tell it from ordinary
// text in logs.
const (
	SimClientID     = "camrelay-testbed"
	SimClientSecret = "cs-testbed-5f1c9a0e7b3d42a8"
)

// WithV3 switches the stack to EEN API v3: the simulator gets the v3
// client with redirect (http://host:port) as its one registered redirect
// URL and access tokens living tokenLife (0: the simulator's default);
// the fetchers get EEN_API=v3 and that client, and lose the v1
// credentials. The sign-in (inproc.Connect) listens at redirect. Call it
// before WithSim, which then points EEN_AUTH_URL at the simulator too.
func (v StackVars) WithV3(redirect string, tokenLife time.Duration) StackVars {
	v.Sim, v.Fetcher = maps.Clone(v.Sim), maps.Clone(v.Fetcher)
	client := map[string]string{"EEN_CLIENT_ID": SimClientID, "EEN_CLIENT_SECRET": SimClientSecret, "EEN_REDIRECT_URL": redirect}
	maps.Copy(v.Sim, client)
	if tokenLife > 0 {
		v.Sim["EENSIM_ACCESS_TOKEN_TTL"] = tokenLife.String()
	}
	maps.Copy(v.Fetcher, client)
	v.Fetcher["EEN_API"] = "v3"
	delete(v.Fetcher, "EEN_USERNAME")
	delete(v.Fetcher, "EEN_PASSWORD")
	return v
}

// V3 reports whether the stack's fetchers speak EEN API v3.
func (v StackVars) V3() bool { return v.Fetcher["EEN_API"] == "v3" }
