package preview

// DefaultKeyPrefix starts every camrelay key and channel in Redis.
const DefaultKeyPrefix = "camrelay:"

// Keys names camrelay's Redis keys. A camera's keys carry its ESN as a
// Redis Cluster hash tag, so one script can touch them all on one shard.
type Keys struct{ Prefix string }

// Frame is the hash holding a camera's latest image.
func (k Keys) Frame(esn ESN) string { return k.Prefix + "{" + string(esn) + "}:frame" }

// Lock is the redislock key of the camera's leader.
func (k Keys) Lock(esn ESN) string { return k.Prefix + "{" + string(esn) + "}:lock" }

// Cameras is the hash of public cameras: the allow-list.
func (k Keys) Cameras() string { return k.Prefix + "cameras" }

// Fetchers is the sorted set of live fetchers by heartbeat.
func (k Keys) Fetchers() string { return k.Prefix + "fetchers" }

// FetcherCameras is the hash of live fetcher id → the cameras it lists,
// so that each camera is assigned only among the fetchers that follow it.
func (k Keys) FetcherCameras() string { return k.Prefix + "fetchers:cameras" }

// Watch is set by web replicas while someone watches the camera, with a
// TTL: fetchers that follow only watched cameras follow it while it lives.
func (k Keys) Watch(esn ESN) string { return k.Prefix + "{" + string(esn) + "}:watch" }

// WakeChannel carries the ESN of a camera that someone started watching,
// so that its fetcher wakes at once instead of polling.
func (k Keys) WakeChannel() string { return k.Prefix + "wake" }

// EENToken is the hash of the EEN API v3 token set shared by every
// fetcher. It is a credential: only fetchers' Redis user may read it.
func (k Keys) EENToken() string { return k.Prefix + "een:token" }

// EENTokenLock is the redislock key held while one fetcher refreshes the
// shared EEN token set.
func (k Keys) EENTokenLock() string { return k.Prefix + "een:token:lock" }

// FramesChannel is the pub/sub channel of FrameEvents.
func (k Keys) FramesChannel() string { return k.Prefix + "frames" }

// FrameShardChannel is the camera's own channel of FrameEvents on Redis
// Cluster, published with SPUBLISH: it carries the camera's hash tag, so
// it lives in the slot of the camera's keys, where the frame script may
// publish, and only that slot's shard carries it.
func (k Keys) FrameShardChannel(esn ESN) string { return k.Prefix + "{" + string(esn) + "}:frames" }

// WakeShardChannel is WakeChannel on Redis Cluster, one per camera, for
// SPUBLISH from the script that sets the camera's watch key.
func (k Keys) WakeShardChannel(esn ESN) string { return k.Prefix + "{" + string(esn) + "}:wake" }
