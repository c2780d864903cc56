package app

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/camrelay/camrelay/internal/backoff"
	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redisstore"
)

const (
	// namesEvery is how often the account's camera names are read again.
	namesEvery = 10 * time.Minute
	// maxNameRunes bounds a name taken from the account.
	maxNameRunes = 100
)

// cameraLister is what names need of the v3 client.
type cameraLister interface {
	Cameras(ctx context.Context) ([]eenv3.Camera, error)
}

// nameSource names the cameras CAMERAS lists without a name (their name
// is their id) after the account's camera list. It never adds a camera:
// CAMERAS stays the public allow-list.
type nameSource struct {
	client  cameraLister
	cams    []preview.Camera // CAMERAS
	unnamed map[preview.ESN]bool
	store   *redisstore.Store
	log     *slog.Logger

	mu    sync.Mutex
	names map[preview.ESN]string // from the account, cleaned
}

// newNameSource returns nil when CAMERAS names every camera.
func newNameSource(client cameraLister, cams []preview.Camera, store *redisstore.Store, log *slog.Logger) *nameSource {
	unnamed := map[preview.ESN]bool{}
	for _, c := range cams {
		if c.Name == string(c.ESN) {
			unnamed[c.ESN] = true
		}
	}
	if len(unnamed) == 0 {
		return nil
	}
	return &nameSource{client: client, cams: cams, unnamed: unnamed, store: store, log: log, names: map[preview.ESN]string{}}
}

// apply returns cams with the account's names where CAMERAS gave none.
func (n *nameSource) apply(cams []preview.Camera) []preview.Camera {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]preview.Camera, len(cams))
	for i, c := range cams {
		if name := n.names[c.ESN]; name != "" && n.unnamed[c.ESN] {
			c.Name = name
		}
		out[i] = c
	}
	return out
}

// loop reads the account's names at start and every namesEvery, backing
// off while EEN or the grant fails, and publishes the cameras at once
// when a name changed.
func (n *nameSource) loop(ctx context.Context) {
	bo := backoff.Backoff{Min: 5 * time.Second, Max: time.Minute}
	warned := false
	for {
		wait := backoff.Jitter(namesEvery)
		list, err := n.client.Cameras(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			// A lost grant is said once by the grant manager, not here.
			if !warned && !errors.Is(err, preview.ErrLoginRefused) {
				n.log.Warn("fetcher: camera names from EEN unavailable; the ids are shown meanwhile", "err", err)
				warned = true
			}
			wait = bo.Next()
		default:
			warned = false
			bo.Reset()
			if n.learn(list) {
				if err := n.store.PublishCameras(ctx, n.apply(n.cams), time.Now()); err != nil && ctx.Err() == nil {
					n.log.Warn("fetcher: publishing cameras failed", "err", err)
				}
			}
		}
		if backoff.Sleep(ctx, wait) != nil {
			return
		}
	}
}

// learn takes the names of the unnamed cameras from list and reports
// whether any changed; it logs the cameras the account does not list.
func (n *nameSource) learn(list []eenv3.Camera) bool {
	names := map[preview.ESN]string{}
	for _, c := range list {
		if name := cleanName(c.Name); n.unnamed[c.ID] && name != "" {
			names[c.ID] = name
		}
	}
	n.mu.Lock()
	changed := !maps.Equal(names, n.names)
	n.names = names
	n.mu.Unlock()
	if !changed {
		return false
	}
	var missing []string
	for esn := range n.unnamed {
		if names[esn] == "" {
			missing = append(missing, string(esn))
		}
	}
	if len(missing) == 0 {
		n.log.Info("fetcher: camera names from EEN", "named", len(names))
	} else {
		slices.Sort(missing)
		n.log.Info("fetcher: camera names from EEN; the account names not every camera: their ids are shown", "named", len(names), "unnamed", strings.Join(missing, ","))
	}
	return true
}

// cleanName makes an account's camera name fit CAMERAS' grammar and a web
// page's title: no "," ";" "@" or control characters, spaces collapsed,
// at most maxNameRunes.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == ',' || r == ';' || r == '@' || unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxNameRunes {
		s = strings.TrimSpace(string(r[:maxNameRunes]))
	}
	return s
}

// namedStore is the fetcher's store, publishing the cameras with the
// account's names.
type namedStore struct {
	*redisstore.Store
	names *nameSource
}

func (s namedStore) PublishCameras(ctx context.Context, cams []preview.Camera, now time.Time) error {
	return s.Store.PublishCameras(ctx, s.names.apply(cams), now)
}
