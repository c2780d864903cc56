package app

import (
	"cmp"
	"strings"

	"github.com/camrelay/camrelay/internal/een"
	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/settings"
)

// The values of EEN_API.
const (
	apiV1 = "v1"
	apiV3 = "v3"
)

// bindV3 declares EEN_API and the v3 client's settings, which the fetcher,
// the all-in-one and "fetcher connect" read alike.
func bindV3(s *settings.Set, api *string, c *eenv3.Config) {
	s.String(api, "een-api", "EEN_API", apiV1, "EEN API: v1 (a user name and password) or v3 (an OAuth2 client, signed in once with \"fetcher connect\")")
	s.String(&c.ClientID, "een-client-id", "EEN_CLIENT_ID", "", "v3: the OAuth2 client id of camrelay's application in EEN's developer portal")
	s.Secret(&c.ClientSecret, "een-client-secret", "EEN_CLIENT_SECRET", "v3: that application's client secret")
	s.String(&c.AuthURL, "een-auth-url", "EEN_AUTH_URL", eenv3.DefaultAuthURL, "v3: EEN's sign-in and token server")
	s.String(&c.RedirectURL, "een-redirect-url", "EEN_REDIRECT_URL", eenv3.DefaultRedirectURL, "v3: the redirect URL, exactly as whitelisted with EEN")
}

// checkAPI reports an EEN_API that is neither v1 nor v3; false then, and
// the caller checks nothing that depends on it (it would mislead).
func checkAPI(s *settings.Set, api string) bool {
	ok := api == apiV1 || api == apiV3
	s.Check(ok, "EEN_API: %q is neither v1 nor v3", api)
	return ok
}

// checkUpstream checks the settings of the API EEN_API names, and sets
// each API's base URL: v1's defaults to EEN's login host, v3's only
// overrides the host the sign-in names.
func checkUpstream(s *settings.Set, c *fetcherConfig) {
	if !checkAPI(s, c.API) {
		return
	}
	if c.API == apiV3 {
		c.V3.BaseURL = c.baseURL
		checkV3(s, c.V3)
		return
	}
	c.EEN.BaseURL = cmp.Or(c.baseURL, een.DefaultBaseURL)
	if c.EEN.Username == "" && c.V3.ClientID != "" {
		s.Check(false, "EEN_USERNAME is required with EEN_API=v1 (EEN_CLIENT_ID is set: for EEN API v3, set EEN_API=v3)")
		return
	}
	s.Require(c.EEN.Username, "EEN_USERNAME")
	s.Require(c.EEN.Password, "EEN_PASSWORD")
}

// checkV3 checks the v3 client's settings, one line per problem.
func checkV3(s *settings.Set, c eenv3.Config) {
	s.Require(c.ClientID, "EEN_CLIENT_ID")
	s.Require(c.ClientSecret, "EEN_CLIENT_SECRET")
	checkV3URL(s, "EEN_AUTH_URL", func(v *eenv3.Config) { v.AuthURL = c.AuthURL })
	checkV3URL(s, "EEN_REDIRECT_URL", func(v *eenv3.Config) { v.RedirectURL = c.RedirectURL })
	if c.BaseURL != "" {
		checkV3URL(s, "EEN_BASE_URL", func(v *eenv3.Config) { v.BaseURL = c.BaseURL })
	}
}

// checkV3URL checks the one URL set puts in a config whose other fields
// pass, so eenv3's error is about that URL; name is its setting.
func checkV3URL(s *settings.Set, name string, set func(*eenv3.Config)) {
	v := eenv3.Config{ClientID: "id", ClientSecret: "secret"}
	set(&v)
	if err := v.Validate(); err != nil {
		s.Check(false, "%s: %s", name, strings.TrimPrefix(err.Error(), "een v3: "))
	}
}
