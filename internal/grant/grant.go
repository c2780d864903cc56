// Package grant keeps the one EEN API v3 token set that every fetcher of a
// cluster shares through Redis, and refreshes it once in the whole cluster.
//
// EEN's refresh tokens rotate: each refresh spends the token presented and
// returns a new one, and a spent token presented again makes EEN revoke
// the whole grant. So the rule this package keeps above all others is that
// no refresh token is ever presented twice, whatever dies or restarts when.
//
// How (the hash's fields are in internal/redisstore/token.go):
//   - Every set in Redis has a generation, gen, +1 at each refresh. A
//     refresh happens under a Redis lock (redislock, short TTL), but the
//     lock is not the fence: before presenting gen's refresh token, a
//     fetcher CLAIMS gen with a script that succeeds only while gen is
//     current and unclaimed. A claimed token counts as spent for good:
//     nobody else ever presents it, whether the claimer succeeds, fails
//     without an answer, hangs past the lock's TTL or dies. The claimer
//     stores the new set as gen+1 before anyone uses it.
//   - The claimer waits ClaimSettle between its claim and the call, so the
//     claim has reached Redis' append-only file (fsync everysec) and its
//     replicas: a Redis crash or failover then cannot forget it.
//   - Each Manager remembers the newest set and claim it has seen. When
//     Redis comes back older or empty (restarted without persistence, or
//     without its last second), a Manager writes its newer set back, claim
//     included, instead of letting the old refresh token be presented;
//     such a write-back (and a seed) holds every claim off for a while, so
//     that a refresh in flight elsewhere lands first.
//   - A refresh happens ahead of expiry (a quarter of the token's life, at
//     most MaxAhead, jittered so one fetcher goes first), so the access
//     token in use does not expire, and a fetcher killed before its claim
//     leaves time for another once the lock's TTL has passed. A 401 on a
//     set at least RejectedMinAge old refreshes it too, once.
//   - A fetcher that finds a newer gen in Redis uses it; it reads the hash
//     every PollEvery, when its set nears expiry and on a 401.
//   - EEN answering "invalid grant", a refresh that went unanswered (the
//     token may be spent) or a claim whose claimer never came back lose the
//     grant: Lost reports it, one log line says "EEN v3 sign-in needed: run
//     fetcher connect", a gauge shows it, and nobody calls the token
//     endpoint for it again. The access token is used until it expires. A
//     new grant (redisstore.PutToken, by "fetcher connect") ends it.
//   - Refreshes that EEN answered without rotating (5xx, 429, network
//     before sending) release the claim and hold the whole cluster off
//     with a growing, jittered wait (honouring Retry-After).
//
// What survives which fault is in docs/RELIABILITY.md. In short: Redis
// must run with appendonly (everysec) for the grant to survive a Redis
// restart when no fetcher is running; with running fetchers it survives
// one without persistence too, through the write-back. Killed in the
// seconds between its claim and storing the answer, a fetcher takes the
// new refresh token with it: the grant is then lost and reported, never
// reused. The token set never appears in logs, errors or metrics.
package grant

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/redisstore"
)

// RefreshFunc presents a refresh token at EEN's token endpoint. Its errors
// follow eenv3's contract: ErrSignInNeeded (grant gone), ErrClientRejected
// (client id or secret refused), ErrUnanswered (sent, no answer: the token
// is spent), anything else EEN answered without rotating (a RetryAfter()
// time.Duration method, if any, says how long to wait).
type RefreshFunc func(ctx context.Context, refreshToken string) (eenv3.TokenSet, error)

// Config sets a Manager up. Store and Refresh are required; the zero
// durations take the defaults named.
type Config struct {
	Store      *redisstore.Store
	Refresh    RefreshFunc
	Owner      string // this fetcher's id, in claims; a random suffix makes each Manager unique
	Log        *slog.Logger
	Registerer prometheus.Registerer // nil: metrics are kept but not exported

	LockTTL        time.Duration // the refresh lock's TTL, and the longest wait for it; 15 s
	RefreshTimeout time.Duration // the longest a refresh call may take; 10 s
	ClaimSettle    time.Duration // wait between claim and call (AOF fsync, replication); 2 s; negative: none
	PollEvery      time.Duration // how often Redis is read for a newer set; 5 s (jittered)
	MaxAhead       time.Duration // the most ahead of expiry a refresh happens; 5 min
	RejectedMinAge time.Duration // a set younger than this is not refreshed on a 401; 10 s
	RetryMin       time.Duration // first wait after a refresh EEN did not answer well; 1 s
	RetryMax       time.Duration // the longest such wait; 5 min

	Hooks Hooks // tests only
}

// Hooks let a test stop a refresh at its dangerous points, as a SIGKILL
// would. Nil hooks do nothing.
type Hooks struct {
	BeforeClaim   func(ctx context.Context) // the lock is held, gen not yet claimed
	BeforeRefresh func(ctx context.Context) // gen claimed and settled, the token not yet presented
}

func (c Config) withDefaults() Config {
	c.LockTTL = cmp.Or(c.LockTTL, 15*time.Second)
	c.RefreshTimeout = cmp.Or(c.RefreshTimeout, 10*time.Second)
	c.ClaimSettle = max(cmp.Or(c.ClaimSettle, 2*time.Second), 0)
	c.PollEvery = cmp.Or(c.PollEvery, 5*time.Second)
	c.MaxAhead = cmp.Or(c.MaxAhead, 5*time.Minute)
	c.RejectedMinAge = cmp.Or(c.RejectedMinAge, 10*time.Second)
	c.RetryMin = cmp.Or(c.RetryMin, time.Second)
	c.RetryMax = cmp.Or(c.RetryMax, 5*time.Minute)
	c.Log = cmp.Or(c.Log, slog.New(slog.DiscardHandler))
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Store == nil:
		return errors.New("grant: Config.Store is required")
	case c.Refresh == nil:
		return errors.New("grant: Config.Refresh is required")
	case c.LockTTL < 0 || c.RefreshTimeout < 0 || c.PollEvery < 0 || c.MaxAhead < 0 ||
		c.RejectedMinAge < 0 || c.RetryMin < 0 || c.RetryMax < c.RetryMin:
		return errors.New("grant: negative durations, or RetryMax below RetryMin")
	}
	return nil
}

// hold is how long a set written back after Redis lost it (or a seed)
// keeps every claim off: long enough for a claimer in flight to store its
// answer or put its claim back, and for every fetcher to read Redis.
func (c Config) hold() time.Duration { return c.ClaimSettle + c.RefreshTimeout + 2*c.PollEvery }

// staleClaim is the age past which a claim whose claimer never stored an
// answer (nor gave the claim back) means the refresh token is gone.
func (c Config) staleClaim() time.Duration {
	return 2*(c.ClaimSettle+c.RefreshTimeout) + c.LockTTL + c.PollEvery
}

// flightLimit bounds one read-and-maybe-refresh: waiting for the lock,
// settling, the call, and storing the answer.
func (c Config) flightLimit() time.Duration {
	return 2*c.LockTTL + c.ClaimSettle + c.RefreshTimeout + c.PollEvery
}

// ahead is how long before expiry a set of this life is refreshed.
func (c Config) ahead(life time.Duration) time.Duration { return min(life/4, c.MaxAhead) }

func uniqueOwner(id string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return cmp.Or(id, "fetcher") + "/" + hex.EncodeToString(b)
}
