package testbed

import "maps"

// The simulated EEN user every stack's simulator and fetchers share.
const (
	SimUser     = "proxy@example.com"
	SimPassword = "stack-secret"
)

// StackVars are the settings of one stack's programs: the simulator's,
// every fetcher's and every web replica's, written here once. Callers
// add or override with maps.Copy.
type StackVars struct {
	Sim, Fetcher, Web map[string]string
}

// Vars is the settings of a stack on redisURL whose simulator serves
// cameras (comma-separated, "esn" or "esn=name") with a frame every
// interval (a Go duration); WithSim adds where the simulator listens.
func Vars(redisURL, cameras, interval string) StackVars {
	return StackVars{
		Sim: map[string]string{
			"EENSIM_ADDR": "127.0.0.1:0", "CAMERAS": cameras, "EENSIM_INTERVAL": interval,
			"EEN_USERNAME": SimUser, "EEN_PASSWORD": SimPassword,
		},
		Fetcher: map[string]string{
			"REDIS_URL": redisURL, "ADMIN_ADDR": "127.0.0.1:0", "CAMERAS": cameras,
			"EEN_USERNAME": SimUser, "EEN_PASSWORD": SimPassword,
		},
		Web: map[string]string{"REDIS_URL": redisURL, "LISTEN_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0"},
	}
}

// WithSim points the fetchers at the simulator listening at simURL: its
// API, and on v3 its sign-in and token endpoint too.
func (v StackVars) WithSim(simURL string) StackVars {
	v.Fetcher = maps.Clone(v.Fetcher)
	v.Fetcher["EEN_BASE_URL"] = simURL
	if v.V3() {
		v.Fetcher["EEN_AUTH_URL"] = simURL
	}
	return v
}

// With is a copy of m with k set to v.
func With(m map[string]string, k, v string) map[string]string {
	m = maps.Clone(m)
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}
