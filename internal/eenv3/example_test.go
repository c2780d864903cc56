package eenv3_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/preview"
)

// oneSet is the simplest Tokens: one set, and no way to a newer one.
type oneSet struct{ set eenv3.TokenSet }

func (o oneSet) Token(context.Context) (eenv3.TokenSet, error) { return o.set, nil }

func (o oneSet) Rejected(context.Context, eenv3.TokenSet) (eenv3.TokenSet, error) {
	return eenv3.TokenSet{}, eenv3.ErrSignInNeeded
}

// Follow a camera on v3: each liveImage call waits for the camera's next
// image. Here the API host is a stand-in that answers one image.
func ExampleClient_LiveImage() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer example-access-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-Een-Timestamp", "2026-11-30T13:04:09.754+00:00")
		w.Write([]byte("\xff\xd8\xff\xe0 a JPEG"))
	}))
	defer api.Close()

	c, err := eenv3.New(eenv3.Config{ClientID: "app", ClientSecret: "secret", BaseURL: api.URL},
		oneSet{eenv3.TokenSet{AccessToken: "example-access-token", Expiry: time.Now().Add(time.Hour)}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseIdleConnections()
	img, err := c.LiveImage(context.Background(), "1006073b")
	fmt.Println(img.TS, preview.IsJPEG(img.JPEG), err)
	// Output: 20261130130409.754 true <nil>
}

// Connect a program to EEN without a person: Visit follows the
// authorization URL with an HTTP client, as the all-in-one does with the
// simulator's automatic consent. The fetcher's connect subcommand sets
// Out instead, and a person follows the printed URL.
func ExampleAuth_Connect() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	redirect := "http://" + ln.Addr().String() + "/cb"
	een := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oauth2/authorize": // consents at once
			http.Redirect(w, r, redirect+"?code=c0de&state="+r.URL.Query().Get("state"), http.StatusFound)
		case "/oauth2/token":
			fmt.Fprint(w, `{"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt",`+
				`"httpsBaseUrl":{"hostname":"api.c001.eagleeyenetworks.com","port":443}}`)
		}
	}))
	defer een.Close()

	auth, _ := eenv3.NewAuth(eenv3.Config{AuthURL: een.URL, ClientID: "app", ClientSecret: "secret", RedirectURL: redirect})
	defer auth.CloseIdleConnections()
	browser := &http.Client{Transport: &http.Transport{}}
	defer browser.CloseIdleConnections()
	set, err := auth.Connect(context.Background(), eenv3.ConnectOptions{
		Listener: ln,
		Timeout:  time.Minute,
		Visit: func(ctx context.Context, authorizeURL string) error {
			req, _ := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodGet, authorizeURL, nil)
			resp, err := browser.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			_, err = io.Copy(io.Discard, resp.Body)
			return err
		},
	})
	fmt.Println(set.BaseURL, set.RefreshToken != "", err)
	// Output: https://api.c001.eagleeyenetworks.com true <nil>
}

// X-Een-Timestamp, in any ISO 8601 offset, becomes the stored v1 form.
func ExampleParseTimestamp() {
	ts, err := eenv3.ParseTimestamp("2026-11-30T14:04:09.7549+01:00")
	fmt.Println(ts, err)
	// Output: 20261130130409.754 <nil>
}
