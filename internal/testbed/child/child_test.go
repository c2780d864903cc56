package child

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/app"
	"github.com/camrelay/camrelay/internal/testbed"
)

func TestMain(m *testing.M) {
	MaybeRun(map[string]Role{"program": Program("program", runEcho, setupEcho), "echo": func(ctx context.Context, cmds <-chan string) error {
		Say("ready")
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case c := <-cmds:
				Say("echo %s", c)
			}
		}
	}})
	os.Exit(m.Run())
}

// A program child says where it listens, answers gc, and stops on SIGTERM.
func TestProgramChild(t *testing.T) {
	p, err := Start(t.Context(), Spec{Role: "eensim", Vars: testbed.Vars("", "1006073b", "1s").Sim, Listeners: []string{"eensim"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	if _, err := testbed.SimStats(t.Context(), "http://"+p.Addr("eensim")); err != nil {
		t.Fatalf("the child's simulator: %v", err)
	}
	if err := p.Send("gc"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Expect("gc done", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Signal(syscall.SIGTERM)
	select {
	case <-p.Exited():
	case <-time.After(5 * time.Second):
		t.Fatal("still running 5 s after SIGTERM")
	}
}

// A role the caller adds runs too, and a frozen child can still be killed.
func TestExtraRoleAndKill(t *testing.T) {
	p, err := Start(t.Context(), Spec{Role: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Expect("ready", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Send("hello")
	if line, err := p.Expect("echo", 10*time.Second); err != nil || line != "echo hello" {
		t.Fatalf("%q, %v", line, err)
	}
	p.Signal(syscall.SIGSTOP)
	p.Kill()
	select {
	case <-p.Exited():
	default:
		t.Fatal("Kill returned before the child ended")
	}
}

func TestUnknownRole(t *testing.T) {
	_, err := Start(t.Context(), Spec{Role: "nope", Listeners: []string{"x"}})
	if err == nil || !strings.Contains(err.Error(), `unknown role "nope"`) {
		t.Fatalf("err %v", err)
	}
}

// A stack of children: the simulator, a fetcher and a replica that serves
// the camera; Close stops them all.
func TestStack(t *testing.T) {
	rds := testbed.Redis(t)
	s := NewStack(testbed.Vars(rds.URL(), "1006073b", "250ms"))
	s.Vars.Fetcher["LOG_LEVEL"] = "warn"
	if err := s.StartSim(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if s.Vars.Fetcher["EEN_BASE_URL"] != "http://"+s.Sim.Addr("eensim") {
		t.Errorf("fetchers point at %q", s.Vars.Fetcher["EEN_BASE_URL"])
	}
	if _, err := s.AddFetchers(t.Context(), 1, map[string]string{"LOCK_TTL": "2s"}); err != nil {
		t.Fatal(err)
	}
	web, err := s.AddWeb(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	testbed.WaitFor(t, 15*time.Second, "the camera led", func() bool {
		st, _ := testbed.FetcherStatus(t.Context(), "http://"+s.Fetchers[0].Addr("admin"))
		return st["1006073b"].Leading && st["1006073b"].Stored > 0
	})
	testbed.WaitFor(t, 10*time.Second, "the camera served", func() bool {
		resp, err := http.Get("http://" + web.Addr("web") + "/preview/1006073b.jpg")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	s.Close()
	for _, p := range []*Proc{s.Sim, s.Fetchers[0], web} {
		select {
		case <-p.Exited():
		default:
			t.Errorf("%s still running after Close", p.Role)
		}
	}
}

// A stack on the caller's upstream: fetchers, one with settings of its
// own, log in there; no simulator starts.
func TestStackOnCallersUpstream(t *testing.T) {
	rds := testbed.Redis(t)
	var mu sync.Mutex
	var bodies []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/g/aaa/authenticate" {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			bodies = append(bodies, string(b))
			mu.Unlock()
		}
		http.Error(w, "refused", http.StatusUnauthorized)
	}))
	t.Cleanup(upstream.Close)
	s := NewStack(testbed.Vars(rds.URL(), "1006073b", "250ms"))
	s.UseUpstream(upstream.URL)
	t.Cleanup(s.Close)
	if _, err := s.AddFetcher(t.Context(), map[string]string{"LOG_LEVEL": "error"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddFetcher(t.Context(), map[string]string{"LOG_LEVEL": "error", "EEN_PASSWORD": "its-own-Pa55"}); err != nil {
		t.Fatal(err)
	}
	if s.Sim != nil {
		t.Error("a simulator started")
	}
	testbed.WaitFor(t, 10*time.Second, "both fetchers' logins", func() bool {
		mu.Lock()
		defer mu.Unlock()
		all := strings.Join(bodies, "\n")
		return strings.Contains(all, testbed.SimPassword) && strings.Contains(all, "its-own-Pa55")
	})
}

// echoCmds carries the lines setupEcho got to runEcho (one program per
// child process).
var echoCmds <-chan string

func setupEcho(env *app.Env, cmds <-chan string) {
	env.Args = []string{"set", "up"}
	echoCmds = cmds
}

// runEcho is a program that says its Args and echoes the parent's lines
// its setup got.
func runEcho(ctx context.Context, env app.Env) error {
	Say("args %s", strings.Join(env.Args, " "))
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case c := <-echoCmds:
			Say("echo %s", c)
		}
	}
}

// A Program role runs with the Env its setup changed, gets the parent's
// lines but "gc", which it answers as camrelay's programs do.
func TestProgramRole(t *testing.T) {
	p, err := Start(t.Context(), Spec{Role: "program"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	if line, err := p.Expect("args", 10*time.Second); err != nil || line != "args set up" {
		t.Fatalf("%q, %v", line, err)
	}
	p.Send("gc")
	p.Send("hello")
	if _, err := p.Expect("gc done", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if line, err := p.Expect("echo", 10*time.Second); err != nil || line != "echo hello" {
		t.Fatalf("%q, %v", line, err)
	}
}
