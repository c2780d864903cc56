package app

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/signing"
	"github.com/camrelay/camrelay/internal/testbed"
)

const signKeys = "k1:k1-secret-0123456789abcdefghijklmnopqrstuv,k2:k2-another-secret-9876543210ZYXWVUTSRQPONM"

// verifyURL checks a printed link with the replicas' own check.
func verifyURL(t *testing.T, raw string, esn preview.ESN) *url.URL {
	t.Helper()
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	keys, _ := signing.ParseKeys(signKeys)
	if _, err := keys.Verify(esn, u.RawQuery, time.Now()); err != nil {
		t.Errorf("%s does not verify: %v", raw, err)
	}
	return u
}

func TestWebSign(t *testing.T) {
	run := func(vars map[string]string, args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		err := RunWeb(context.Background(), Env{Args: append([]string{"sign"}, args...), Getenv: envOf(vars), Stdout: &out, Stderr: &errb})
		code := Exit("web", err, &errb)
		return out.String(), errb.String(), code
	}
	keys := map[string]string{"SIGNING_KEYS": signKeys, "PUBLIC_URL": "https://cams.example.com/"}
	out, _, code := run(keys, "1006073B", "-ttl", "2h", "-path", "/preview/{esn}.jpg", "-kid", "k2")
	u := verifyURL(t, out, "1006073b")
	if code != 0 || u.Path != "/preview/1006073b.jpg" || u.Host != "cams.example.com" || u.Query().Get("kid") != "k2" || strings.Count(out, "\n") != 1 {
		t.Errorf("exit %d, printed %q", code, out)
	}
	if exp := u.Query().Get("exp"); exp == "" || time.Until(time.Unix(atoiT(t, exp), 0)) < 119*time.Minute {
		t.Errorf("exp %s is not 2h ahead", exp)
	}
	out, _, _ = run(map[string]string{"SIGNING_KEYS": signKeys}, "10060abc")
	if u := verifyURL(t, out, "10060abc"); u.Path != "/embed/10060abc" || u.Host != "" || u.Query().Get("kid") != "k1" {
		t.Errorf("defaults: %q", out)
	}
	for _, c := range []struct {
		vars map[string]string
		args []string
		want string
	}{
		{keys, []string{"nothex"}, "web: sign: give the camera: web sign {esn} (malformed camera id: want 8 hexadecimal digits, got 6 characters)\n"},
		{map[string]string{}, []string{"1006073b"}, "web: sign: no keys: set SIGNING_KEYS (or SIGNING_KEYS_FILE) as the replicas have it\n"},
		{keys, []string{"1006073b", "-kid", "k9"}, "web: sign: no signing key \"k9\"\n"},
		{keys, []string{"1006073b", "-path", "/"}, "web: sign: -path \"/\" is not one of /embed/{esn}, /preview/{esn}.jpg, /preview/{esn}.mjpg, /preview/{esn}/events\n"},
		{map[string]string{"SIGNING_KEYS": "k1:" + strings.Repeat("s", 31)}, []string{"1006073b"}, "web: sign: SIGNING_KEYS: key \"k1\": the secret is 31 bytes, at least 32 wanted (e.g. openssl rand -base64 33)\n"},
	} {
		out, stderr, code := run(c.vars, c.args...)
		if code != 1 || out != "" || stderr != c.want {
			t.Errorf("%v: exit %d, out %q, stderr %q\nwant %q", c.args, code, out, stderr, c.want)
		}
	}
}

func atoiT(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	for _, c := range s {
		n = n*10 + int64(c-'0')
	}
	return n
}

// The README's Python and Node snippets make links the replicas accept.
func TestReadmeSigningSnippets(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "## Signed links\n")
	section, _, _ = strings.Cut(section, "\n## ")
	block := func(lang string) string {
		m := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```").FindStringSubmatch(section)
		if m == nil {
			t.Fatalf("no %s block in the README's Signed links", lang)
		}
		return m[1]
	}
	secret := "k2-another-secret-9876543210ZYXWVUTSRQPONM"
	for _, c := range []struct{ tool, code string }{
		{"python3", block("python") + "\nprint(signed_link('https://cams.example.com', '1006073B', 'k2', '" + secret + "', 600, '/preview/{esn}.mjpg'))\n"},
		{"node", block("js") + "\nconsole.log(signedLink('https://cams.example.com', '1006073B', 'k2', '" + secret + "', 600));\n"},
	} {
		if _, err := exec.LookPath(c.tool); err != nil {
			testbed.Unavailable(t, c.tool+" not found: skipping the README's snippet for it")
		}
		flag := map[string]string{"python3": "-c", "node": "-e"}[c.tool]
		out, err := exec.Command(c.tool, flag, c.code).Output()
		if err != nil {
			t.Fatalf("%s: %v", c.tool, err)
		}
		if u := verifyURL(t, string(out), "1006073b"); u.Host != "cams.example.com" {
			t.Errorf("%s printed %s", c.tool, out)
		}
	}
}
