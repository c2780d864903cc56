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
//     replicas, then checks it is still there: a Redis crash or failover
//     then cannot forget a claim whose token was presented.
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
// What survives which fault (no line presents a token twice, except the
// double fault named):
//
//	fetcher killed holding the lock,   another refreshes once the lock's TTL
//	  before its claim                 has passed, ahead of expiry
//	fetcher killed between claim and   its claim stays; after staleClaim the
//	  storing the answer               grant is marked lost (the new token
//	                                   died with it); sign in again
//	fetcher paused past the lock TTL   the others wait on its claim; resumed,
//	                                   it stores its answer (newer gen wins)
//	answer lost or call timed out      token spent: grant lost at once
//	EEN 5xx, 429, refused connection   claim released; the whole cluster
//	                                   waits RetryMin doubling to RetryMax
//	EEN invalid_grant                  grant lost, no further call
//	EEN invalid_client (one fetcher)   that fetcher not ready; others refresh
//	lost lock                          the claim fences
//	Redis restart, appendonly everysec claims are on disk (ClaimSettle); a set
//	                                   stored in the last second is written
//	                                   back by the fetchers that know it
//	Redis restart, no persistence,     the newest set is written back, with
//	  fetchers running                 the claims they saw; claims wait the
//	                                   hold, so a refresh in flight lands
//	Redis restart, no persistence,     grant gone: sign in again. A seed
//	  no fetcher running               (EEN_REFRESH_TOKEN) is then accepted
//	                                   again: if it was spent, EEN revokes
//	                                   the grant, which was unusable anyway
//	Redis failover to a replica        as a restart from the replica's data;
//	                                   ClaimSettle covers replication lag
//
// The double fault: Redis restarted without persistence while a fetcher is
// killed between presenting a token and storing the answer, with no live
// fetcher having seen its claim: after the hold, that token is presented
// again. Run Redis with appendonly.
//
// When the grant is lost the operator sees: Lost (readiness), one log line
// "EEN v3 sign-in needed: run fetcher connect" per fetcher and change, the
// gauge camrelay_een_v3_sign_in_needed. The token set never appears in
// logs, errors or metrics.
package grant
