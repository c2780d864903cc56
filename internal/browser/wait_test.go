package browser

import (
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/apptest"
)

func apptestWait(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	apptest.WaitFor(t, within, what, cond)
}
