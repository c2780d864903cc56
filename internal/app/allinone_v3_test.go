package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/app"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/inproc"
)

// EEN_API=v3 runs the all-in-one on the simulated v3 with no manual step:
// it signs in on its own and serves frames; the grant is usable and no
// v1 login is made.
func TestAllInOneV3ServesAFrame(t *testing.T) {
	p := inproc.Run(t, "camrelay", app.RunAll, map[string]string{
		"EEN_API": "v3", "LISTEN_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0", "LOG_LEVEL": "info",
	}, "web", "admin")
	var jpeg string
	testbed.WaitFor(t, 15*time.Second, "a frame served", func() bool {
		code, b := body(t, p.URL("web")+"/preview/1006073b.jpg")
		jpeg = b
		return code == 200
	})
	if !preview.IsJPEG([]byte(jpeg)) {
		t.Errorf("not a JPEG: %.40q", jpeg)
	}
	_, m := body(t, p.URL("admin")+"/metrics")
	if !strings.Contains(m, "camrelay_een_v3_sign_in_needed 0") || strings.Contains(m, "camrelay_een_logins_total") {
		t.Errorf("metrics: want the v3 grant usable and no v1 login counter")
	}
	if code, b := body(t, p.URL("admin")+"/readyz"); code != 200 {
		t.Errorf("readyz %d %s", code, b)
	}
	noSecrets(t, "logs", p.Logs.String(), "all-in-one-simulated-client-secret")
}
