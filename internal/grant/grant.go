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
	ClaimSettle    time.Duration // wait between claim and call (AOF fsync, replication); 2 s, at most a quarter of the margin ahead of expiry; negative: none
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
