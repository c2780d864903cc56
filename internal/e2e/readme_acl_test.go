package e2e

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/testbed"
)

// The README's two Redis users, and the passwords the tests give them.
const (
	fetcherUser = "camrelay-fetcher"
	webUser     = "camrelay-web"
)

var aclPasswords = map[string]string{fetcherUser: "acl-fetcher-pass-1", webUser: "acl-web-pass-1"}

// readmeACL returns the README's ACL rule of each camrelay user, as
// redis-server's --user takes it ("name reset on >password ~keys …"), with
// the test's password for the README's placeholder. Reading them from the
// README keeps the documented rules the tested ones.
func readmeACL(t *testing.T) map[string]string {
	t.Helper()
	md, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]string{}
	for line := range strings.SplitSeq(string(md), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[0] != "ACL" || f[1] != "SETUSER" {
			continue
		}
		pass, ok := aclPasswords[f[2]]
		if !ok {
			t.Fatalf("README.md: ACL rule of an unknown user %q", f[2])
		}
		for i, tok := range f {
			if strings.HasPrefix(tok, ">") {
				f[i] = ">" + pass
			}
		}
		rules[f[2]] = strings.Join(f[2:], " ")
	}
	if len(rules) != len(aclPasswords) {
		t.Fatalf("README.md: ACL rules of %d users, want %s and %s", len(rules), fetcherUser, webUser)
	}
	return rules
}

// userURL is the server's URL logged in as user.
func userURL(rds *testbed.RedisServer, user string) string {
	scheme, rest, _ := strings.Cut(rds.URL(), "://")
	return scheme + "://" + user + ":" + aclPasswords[user] + "@" + rest
}

// userClient is a client of the server logged in as user.
func userClient(t *testing.T, rds *testbed.RedisServer, user string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(userURL(rds, user))
	if err != nil {
		t.Fatal(err)
	}
	opt.TLSConfig = rds.Client().Options().TLSConfig
	opt.MaxRetries = -1 // a refusal is an answer, not a reason to retry
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// refused reports whether Redis refused a command for want of permission.
func refused(err error) bool {
	return err != nil && strings.Contains(err.Error(), "NOPERM")
}

// expectRefused runs each command as c and fails t for every one that
// Redis does not refuse with NOPERM.
func expectRefused(t *testing.T, c *redis.Client, who string, cmds ...[]any) {
	t.Helper()
	for _, cmd := range cmds {
		if err := c.Do(context.Background(), cmd...).Err(); !refused(err) {
			t.Errorf("%s: %v answered %v, want NOPERM", who, cmd, err)
		}
	}
}

// expectAllowed runs each command as c and fails t for every one that
// Redis refuses.
func expectAllowed(t *testing.T, c *redis.Client, who string, cmds ...[]any) {
	t.Helper()
	for _, cmd := range cmds {
		if err := c.Do(context.Background(), cmd...).Err(); err != nil && err != redis.Nil {
			t.Errorf("%s: %v answered %v, want it allowed", who, cmd, err)
		}
	}
}

// refusals lists what Redis refused the camrelay users so far (its ACL
// LOG), one line each.
func refusals(admin *redis.Client) ([]string, error) {
	entries, err := admin.ACLLog(context.Background(), 100).Result()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if _, ours := aclPasswords[e.Username]; ours {
			out = append(out, e.Username+": "+e.Reason+" "+e.Object+" (in "+e.Context+")")
		}
	}
	return out, nil
}
