package redisstore

import "github.com/redis/go-redis/v9"

// The token set's scripts. Each touches only KEYS[1], the token hash, so
// it runs on Redis Cluster, and uses only commands the README's ACL rule
// grants (HGET, HMGET, HSET, HDEL, TIME). Times are Redis' clock in ms, so
// hosts' clocks may differ. A claim counts only while claim_gen is gen.

// nowMS is the prelude of the scripts that need Redis' clock.
const nowMS = `
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`

// claimToken: ARGV gen, owner. Returns {code, wait_ms}: 1 claimed, 2 the
// owner's claim is still there, 0 gen is not the current one, -1 claimed
// by another, -2 held off for wait_ms, -3 the grant is lost. A new claim
// ends a write-back's "restored" mark (see saveToken).
var claimToken = redis.NewScript(nowMS + `
local f = redis.call('HMGET', KEYS[1], 'gen', 'lost', 'claim_gen', 'claim_owner', 'not_before_ms')
local gen = tonumber(f[1] or '0')
if gen == 0 or gen ~= tonumber(ARGV[1]) then return {0, 0} end
if f[2] then return {-3, 0} end
if f[3] and tonumber(f[3]) == gen then
  if f[4] == ARGV[2] then return {2, 0} end
  return {-1, 0}
end
local t = now()
local nb = tonumber(f[5] or '0')
if t < nb then return {-2, nb - t} end
redis.call('HSET', KEYS[1], 'claim_gen', gen, 'claim_owner', ARGV[2], 'claim_ms', t)
redis.call('HDEL', KEYS[1], 'restored')
return {1, 0}
`)

// releaseToken: ARGV gen, owner, wait_ms. Drops the owner's claim on gen
// (its refresh token was not spent) and holds every claim off for wait_ms,
// counting the failure. Returns 1 released, 0 no such claim.
var releaseToken = redis.NewScript(nowMS + `
local f = redis.call('HMGET', KEYS[1], 'claim_gen', 'claim_owner', 'fails')
if tonumber(f[1] or '-1') ~= tonumber(ARGV[1]) or f[2] ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], 'claim_gen', 'claim_owner', 'claim_ms')
redis.call('HSET', KEYS[1], 'not_before_ms', now() + tonumber(ARGV[3]), 'fails', tonumber(f[3] or '0') + 1)
return 1
`)

// saveToken: ARGV gen, access, refresh, expires_ms, issued_ms, base_url,
// claim_owner, hold_ms. Writes the set when Redis' gen is older (clearing
// claim, loss and back-off; with claim_owner, the set is written claimed;
// with hold_ms, claims wait that long and the set is marked "restored"
// until the next claim: while it is, fetchers put back claims they saw
// that the write-back lacks). When Redis has this very gen, it only puts
// back a claim Redis lost. Returns 1 written, 2 claim put back, 0 Redis
// has this gen or newer.
var saveToken = redis.NewScript(nowMS + `
local gen = tonumber(ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'gen', 'claim_gen')
local cur = tonumber(f[1] or '0')
if cur > gen then return 0 end
if cur == gen then
  if ARGV[7] == '' or (f[2] and tonumber(f[2]) == gen) then return 0 end
  redis.call('HSET', KEYS[1], 'claim_gen', gen, 'claim_owner', ARGV[7], 'claim_ms', now())
  return 2
end
redis.call('HDEL', KEYS[1], 'claim_gen', 'claim_owner', 'claim_ms', 'lost', 'not_before_ms', 'fails', 'restored')
redis.call('HSET', KEYS[1], 'gen', gen, 'access_token', ARGV[2], 'refresh_token', ARGV[3],
  'expires_ms', ARGV[4], 'issued_ms', ARGV[5], 'base_url', ARGV[6])
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[1], 'claim_gen', gen, 'claim_owner', ARGV[7], 'claim_ms', now())
end
if tonumber(ARGV[8]) > 0 then
  redis.call('HSET', KEYS[1], 'not_before_ms', now() + tonumber(ARGV[8]), 'restored', 1)
end
return 1
`)

// loseToken: ARGV gen, reason, stale_ms. Marks gen lost. With stale_ms > 0
// only when gen is claimed and the claim is older than stale_ms (its
// claimer died or hung). Returns 1 marked, 0 not.
var loseToken = redis.NewScript(nowMS + `
local f = redis.call('HMGET', KEYS[1], 'gen', 'lost', 'claim_gen', 'claim_ms')
if tonumber(f[1] or '0') ~= tonumber(ARGV[1]) or tonumber(ARGV[1]) == 0 or f[2] then return 0 end
local stale = tonumber(ARGV[3])
if stale > 0 then
  if tonumber(f[3] or '-1') ~= tonumber(ARGV[1]) then return 0 end
  if now() - tonumber(f[4] or '0') < stale then return 0 end
end
redis.call('HSET', KEYS[1], 'lost', ARGV[2])
return 1
`)

// putToken: ARGV access, refresh, expires_ms, issued_ms, base_url. A new
// grant: its gen is at least Redis' clock in ms, so it outranks every set
// of an older grant, even one a fetcher writes back after Redis lost it.
// Returns the new gen.
var putToken = redis.NewScript(nowMS + `
local cur = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
local gen = math.max(cur + 1, now())
redis.call('HDEL', KEYS[1], 'claim_gen', 'claim_owner', 'claim_ms', 'lost', 'not_before_ms', 'fails', 'restored')
redis.call('HSET', KEYS[1], 'gen', gen, 'access_token', ARGV[1], 'refresh_token', ARGV[2],
  'expires_ms', ARGV[3], 'issued_ms', ARGV[4], 'base_url', ARGV[5])
return gen
`)

// seedToken: ARGV refresh, fingerprint, hold_ms, keep. Stores a refresh
// token given by the operator when Redis holds no usable set and the
// fingerprint is not among the seeds used before (the last keep are
// remembered). Its gen is one above Redis' (1 when empty), so a fetcher
// that remembers a set Redis lost outranks it, and claims wait hold_ms
// for such a fetcher to write its set back. Returns 1 seeded, 0 a usable
// set is there, -1 this seed was used before.
var seedToken = redis.NewScript(nowMS + `
local f = redis.call('HMGET', KEYS[1], 'gen', 'refresh_token', 'lost', 'seeds')
local seeds = {}
for s in string.gmatch(f[4] or '', '%S+') do
  if s == ARGV[2] then return -1 end
  seeds[#seeds + 1] = s
end
if f[2] and not f[3] then return 0 end
seeds[#seeds + 1] = ARGV[2]
while #seeds > tonumber(ARGV[4]) do table.remove(seeds, 1) end
redis.call('HDEL', KEYS[1], 'claim_gen', 'claim_owner', 'claim_ms', 'lost', 'fails', 'restored')
redis.call('HSET', KEYS[1], 'gen', tonumber(f[1] or '0') + 1, 'access_token', '', 'refresh_token', ARGV[1],
  'expires_ms', 0, 'issued_ms', 0, 'base_url', '', 'seeds', table.concat(seeds, ' '),
  'not_before_ms', now() + tonumber(ARGV[3]))
return 1
`)
