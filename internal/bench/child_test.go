package bench

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestChildCPUProfile: with $CAMRELAY_BENCH_CPUPROFILE set, a program
// child writes its CPU profile there when it stops.
func TestChildCPUProfile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(profileEnv, dir)
	p, err := startSim(t.Context(), cameraList(1, 0x30000000), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p.Stop()
	files, _ := filepath.Glob(filepath.Join(dir, "eensim-*.pprof"))
	if len(files) != 1 {
		t.Fatalf("profiles in %s: %v, want one eensim-<pid>.pprof", dir, files)
	}
	if b, err := os.ReadFile(files[0]); err != nil || len(b) == 0 {
		t.Errorf("profile %s: %d bytes, %v", files[0], len(b), err)
	}
}

func TestReadResponse(t *testing.T) {
	for _, c := range []struct {
		name, resp string
		want       int
		closing    bool
		err        string
	}{
		{"whole body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"x\"\r\n\r\nhello", 5, false, ""},
		{"header case", "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello", 5, false, ""},
		{"closing", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", 5, true, ""},
		{"keep-alive", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nconnection: keep-alive\r\n\r\nhello", 5, false, ""},
		{"not 200", "HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nhello", 0, false, "status line"},
		{"other length", "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nhell", 0, false, "Content-Length 4, want 5"},
		{"no length", "HTTP/1.1 200 OK\r\n\r\nhello", 0, false, "Content-Length -1"},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", 0, false, "unexpected EOF"},
	} {
		n, closing, err := readResponse(bufio.NewReader(strings.NewReader(c.resp)), 5)
		switch {
		case c.err == "" && (err != nil || n != c.want || closing != c.closing):
			t.Errorf("%s: %d, closing %v, %v; want %d, closing %v", c.name, n, closing, err, c.want, c.closing)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.err)
		}
	}
}
