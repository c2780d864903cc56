package app

import (
	"strings"
	"testing"
)

// EEN_API and the v3 settings: one line per problem, naming the setting;
// v3 needs the client and not the v1 user, v1 the user and not the client.
func TestV3SettingsMessages(t *testing.T) {
	v3 := map[string]string{"EEN_API": "v3", "EEN_CLIENT_ID": "app", "EEN_CLIENT_SECRET": "s", "CAMERAS": "1006073b", "ADMIN_ADDR": "127.0.0.1:0", "REDIS_URL": "redis://127.0.0.1:1/0"}
	with := func(kv ...string) map[string]string { return withVars(v3, kv...) }
	for _, tc := range []struct {
		name string
		prog program
		vars map[string]string
		want []string
	}{
		{"all-in-one, unknown API", allProg, map[string]string{"EEN_API": "v4"}, []string{`camrelay: EEN_API: "v4" is neither v1 nor v3`}},
		{"fetcher, unknown API", fetcherProg, with("EEN_API", "V3"), []string{`fetcher: EEN_API: "V3" is neither v1 nor v3`}},
		{"fetcher v3 without client", fetcherProg, with("EEN_CLIENT_ID", "", "EEN_CLIENT_SECRET", ""), []string{
			"fetcher: EEN_CLIENT_ID is required", "fetcher: EEN_CLIENT_SECRET (or EEN_CLIENT_SECRET_FILE) is required"}},
		{"fetcher v3 bad URLs", fetcherProg, with("EEN_AUTH_URL", "auth.example.com", "EEN_BASE_URL", "ftp://x"), []string{
			`fetcher: EEN_AUTH_URL: auth URL "auth.example.com" is not an http(s) URL with a host`,
			`fetcher: EEN_BASE_URL: base URL "ftp://x" is not an http(s) URL with a host`}},
		{"fetcher v1 with a client id", fetcherProg, with("EEN_API", ""), []string{
			"fetcher: EEN_USERNAME is required with EEN_API=v1 (EEN_CLIENT_ID is set: for EEN API v3, set EEN_API=v3)"}},
		{"all-in-one v3 on EEN without cameras", allProg, map[string]string{"EEN_API": "v3", "EEN_CLIENT_ID": "app"}, []string{
			"camrelay: CAMERAS: no camera listed (want " + "esn[=Name][@interval][;option]... separated by commas)",
			"camrelay: EEN_CLIENT_SECRET (or EEN_CLIENT_SECRET_FILE) is required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, got := runExit(t, tc.prog, tc.vars)
			want := append(tc.want, tc.prog.name+": run with -h for the settings")
			if code != 2 || strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("exit %d, printed:\n%s\nwant exit 2 and:\n%s", code, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// A v3 fetcher needs no v1 user; its settings reach the v3 client, and
// EEN_BASE_URL stays unset unless given (the sign-in names the host).
func TestV3FetcherConfig(t *testing.T) {
	c, err := parseFetcherConfig(Env{Getenv: envOf(map[string]string{"EEN_API": "v3", "EEN_CLIENT_ID": "app", "EEN_CLIENT_SECRET": "s", "CAMERAS": "1006073b"}), Stderr: &strings.Builder{}})
	if err != nil || c.API != "v3" || c.V3.ClientID != "app" || c.V3.BaseURL != "" || c.V3.AuthURL != "https://auth.eagleeyenetworks.com" || c.V3.RedirectURL != "http://127.0.0.1:3333" {
		t.Fatalf("%+v, %v", c.V3, err)
	}
	c, err = parseFetcherConfig(Env{Getenv: envOf(map[string]string{"EEN_USERNAME": "u", "EEN_PASSWORD": "p", "CAMERAS": "1006073b"}), Stderr: &strings.Builder{}})
	if err != nil || c.API != "v1" || c.EEN.BaseURL != "https://login.eagleeyenetworks.com" {
		t.Fatalf("v1 defaults: %q %q, %v", c.API, c.EEN.BaseURL, err)
	}
}
