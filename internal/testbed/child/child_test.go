package child

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/testbed"
)

func TestMain(m *testing.M) {
	MaybeRun(map[string]Role{"echo": func(ctx context.Context, cmds <-chan string) error {
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
