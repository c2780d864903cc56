package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/bsm/redislock"

	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/preview"
)

// The EEN v3 token set lives in one hash (preview.Keys.EENToken): the
// set itself (access_token, refresh_token, expires_ms, issued_ms,
// base_url), gen (its generation: +1 at each refresh), the claim on gen's
// refresh token (claim_gen, claim_owner, claim_ms), lost (why the grant is
// gone), not_before_ms (no claim before then: back-off or a recovery
// hold), fails (refreshes failed in a row) and seeds (fingerprints of
// refresh tokens seeded before). internal/grant says how they are used.
// None of it may appear in a log, error or metric.

// TokenRecord is the shared token set as Redis holds it.
type TokenRecord struct {
	Set    eenv3.TokenSet
	Issued time.Time // when the refresher received Set (its clock); zero for a seed
	Gen    int64     // 0: Redis holds no set
	// ClaimOwner is who claimed Gen's refresh token to present it; ""
	// while nobody has. A claimed refresh token may have been presented:
	// nobody else may ever present it.
	ClaimOwner string
	Lost       string // why the grant is gone; "" while usable
	Failures   int    // refreshes of this set that failed in a row
	// Restored marks a set written back after Redis lost it, until the
	// next claim: fetchers then put back a claim on it they saw before
	// (otherwise a missing claim was released, its token unspent).
	Restored bool
}

// ClaimResult is what ClaimToken found.
type ClaimResult int

// ClaimToken's answers.
const (
	Claimed     ClaimResult = 1  // the caller may present the refresh token, once
	ClaimKept   ClaimResult = 2  // the caller's claim is still there
	ClaimStale  ClaimResult = 0  // gen is not Redis' current one: read again
	ClaimTaken  ClaimResult = -1 // another owner claimed it
	ClaimHeld   ClaimResult = -2 // no claim before the returned wait has passed
	ClaimOnLost ClaimResult = -3 // the grant is lost
	seedsKept               = 8
)

// ReadToken returns the token record; Gen is 0 when Redis holds none.
func (s *Store) ReadToken(ctx context.Context) (TokenRecord, error) {
	h, err := s.rdb.HGetAll(ctx, s.keys.EENToken()).Result()
	if err != nil {
		return TokenRecord{}, fmt.Errorf("redisstore: reading the EEN token set: %w", err)
	}
	var r TokenRecord
	var bad []string
	num := func(field string) int64 {
		v, ok := h[field]
		if !ok {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			bad = append(bad, field)
		}
		return n
	}
	if r.Gen = num("gen"); r.Gen == 0 {
		return TokenRecord{}, nil
	}
	r.Set = eenv3.TokenSet{AccessToken: h["access_token"], RefreshToken: h["refresh_token"],
		Expiry: msTime(num("expires_ms")), BaseURL: h["base_url"]}
	r.Issued = msTime(num("issued_ms"))
	r.Lost, r.Failures, r.Restored = h["lost"], int(num("fails")), h["restored"] != ""
	if num("claim_gen") == r.Gen {
		r.ClaimOwner = h["claim_owner"]
	}
	if len(bad) > 0 {
		// Name the fields, never their values: they are credentials.
		return TokenRecord{}, fmt.Errorf("redisstore: the EEN token set has malformed fields %v", bad)
	}
	return r, nil
}

// ClaimToken claims gen's refresh token for owner. With Claimed the owner
// may present it once; whatever happens then, nobody else ever presents it.
// Asked again, ClaimKept says the claim is still there (a claim Redis
// forgot in a crash would be Claimed anew). With ClaimHeld, wait is how
// long claims are held off.
func (s *Store) ClaimToken(ctx context.Context, gen int64, owner string) (res ClaimResult, wait time.Duration, err error) {
	v, err := claimToken.Run(ctx, s.rdb, []string{s.keys.EENToken()}, gen, owner).Int64Slice()
	if err != nil || len(v) != 2 {
		return 0, 0, fmt.Errorf("redisstore: claiming the EEN refresh token: %w", errOr(err))
	}
	return ClaimResult(v[0]), time.Duration(v[1]) * time.Millisecond, nil
}

// ReleaseToken gives owner's claim on gen back, for a refresh token that
// was not spent (never sent, or EEN answered without rotating it), and
// holds every claim off for wait (the cluster's back-off). It reports
// whether the claim was there to release.
func (s *Store) ReleaseToken(ctx context.Context, gen int64, owner string, wait time.Duration) (bool, error) {
	n, err := releaseToken.Run(ctx, s.rdb, []string{s.keys.EENToken()}, gen, owner, wait.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("redisstore: releasing the EEN refresh token: %w", err)
	}
	return n == 1, nil
}

// SaveToken writes r when Redis' gen is older: a refreshed set, or one
// Redis lost (a restart) that a fetcher writes back. With r.ClaimOwner the
// set is written claimed (its refresh token may be spent); when Redis has
// r.Gen unclaimed, only that claim is put back. hold > 0 holds claims off
// for that long, so that a refresh in flight elsewhere lands first. It
// reports whether it wrote anything.
func (s *Store) SaveToken(ctx context.Context, r TokenRecord, hold time.Duration) (bool, error) {
	n, err := saveToken.Run(ctx, s.rdb, []string{s.keys.EENToken()}, r.Gen,
		r.Set.AccessToken, r.Set.RefreshToken, r.Set.Expiry.UnixMilli(), r.Issued.UnixMilli(), r.Set.BaseURL,
		r.ClaimOwner, hold.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("redisstore: storing the EEN token set: %w", err)
	}
	return n > 0, nil
}

// LoseToken marks gen's grant lost for reason (plain words, no secret).
// With stale > 0 it does so only when gen's claim is older than stale: its
// claimer died or hung with the refresh token perhaps spent.
func (s *Store) LoseToken(ctx context.Context, gen int64, reason string, stale time.Duration) (bool, error) {
	n, err := loseToken.Run(ctx, s.rdb, []string{s.keys.EENToken()}, gen, reason, stale.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("redisstore: marking the EEN grant lost: %w", err)
	}
	return n == 1, nil
}

// PutToken stores the set of a new grant ("fetcher connect"), replacing
// whatever Redis holds, and returns its gen. Running fetchers take it up
// within seconds.
func (s *Store) PutToken(ctx context.Context, set eenv3.TokenSet, issued time.Time) (int64, error) {
	if set.AccessToken == "" || set.RefreshToken == "" {
		return 0, errors.New("redisstore: an EEN token set needs an access token and a refresh token")
	}
	gen, err := putToken.Run(ctx, s.rdb, []string{s.keys.EENToken()},
		set.AccessToken, set.RefreshToken, set.Expiry.UnixMilli(), issued.UnixMilli(), set.BaseURL).Int64()
	if err != nil {
		return 0, fmt.Errorf("redisstore: storing the EEN token set: %w", err)
	}
	return gen, nil
}

// SeedResult is what SeedToken did.
type SeedResult int

// SeedToken's answers.
const (
	Seeded     SeedResult = 1  // stored: the first refresh will present it
	SetPresent SeedResult = 0  // Redis holds a usable set: the seed is not needed
	SeedUsed   SeedResult = -1 // this refresh token was seeded before: never again
)

// SeedToken stores a refresh token obtained elsewhere (EEN_REFRESH_TOKEN)
// when Redis holds no usable set and this token was never seeded before
// (Redis keeps its SHA-256 fingerprint, not the token). Claims wait hold,
// so that a fetcher remembering a newer set (Redis lost it) writes that
// back first.
func (s *Store) SeedToken(ctx context.Context, refreshToken string, hold time.Duration) (SeedResult, error) {
	if refreshToken == "" {
		return 0, errors.New("redisstore: an empty refresh token cannot seed the EEN token set")
	}
	sum := sha256.Sum256([]byte(refreshToken))
	n, err := seedToken.Run(ctx, s.rdb, []string{s.keys.EENToken()},
		refreshToken, hex.EncodeToString(sum[:]), hold.Milliseconds(), seedsKept).Int()
	if err != nil {
		return 0, fmt.Errorf("redisstore: seeding the EEN token set: %w", err)
	}
	return SeedResult(n), nil
}

// ObtainTokenLock takes the lock held while one fetcher refreshes the
// token set, waiting at most wait for it; preview.ErrLockLost when another
// holds it all that time.
func (s *Store) ObtainTokenLock(ctx context.Context, ttl, wait time.Duration) (*Lease, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	retry := redislock.LinearBackoff(min(max(wait/20, 10*time.Millisecond), 250*time.Millisecond))
	lock, err := redislock.New(s.rdb).Obtain(ctx, s.keys.EENTokenLock(), ttl, &redislock.Options{RetryStrategy: retry})
	if errors.Is(err, redislock.ErrNotObtained) || errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return nil, preview.ErrLockLost
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: taking the EEN token lock: %w", err)
	}
	return &Lease{lock: lock}, nil
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func errOr(err error) error {
	if err == nil {
		return errors.New("unexpected answer")
	}
	return err
}
