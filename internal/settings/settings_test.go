package settings

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEnvFlagsAndProblems(t *testing.T) {
	env := map[string]string{"A_DUR": "nope", "A_INT": "7", "A_SHARE": "1.5", "A_STR": "from-env"}
	s := New("prog", func(k string) string { return env[k] }, &bytes.Buffer{})
	var d time.Duration
	var n int
	var f float64
	var str string
	s.Duration(&d, "dur", "A_DUR", time.Second, "a duration")
	s.Int(&n, "int", "A_INT", 1, "an int")
	s.Float(&f, "share", "A_SHARE", 0, "a share")
	s.String(&str, "str", "A_STR", "def", "a string")
	if err := s.Parse([]string{"-int", "9"}); err != nil {
		t.Fatal(err)
	}
	s.Check(false, "CUSTOM: %s", "broken")
	err := s.Err()
	if n != 9 || str != "from-env" || d != time.Second {
		t.Errorf("values: n=%d str=%q d=%s (flag wins over env; env over default)", n, str, d)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "A_DUR:") || !strings.HasPrefix(lines[1], "-share:") || lines[2] != "CUSTOM: broken" {
		t.Errorf("problems, one per line:\n%v", err)
	}
}

func TestSecretFileAndHelp(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(file, []byte("p4ss\n"), 0o600)
	var help bytes.Buffer
	s := New("prog", func(k string) string { return map[string]string{"PW_FILE": file}[k] }, &help)
	s.Describe("prog does things.")
	var pw string
	s.Secret(&pw, "pw", "PW", "the password")
	if err := s.Parse(nil); err != nil || pw != "p4ss" {
		t.Fatalf("secret from file: %q, %v", pw, err)
	}
	if err := s.Parse([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	if out := help.String(); !strings.Contains(out, "prog does things.") || !strings.Contains(out, "PW_FILE") || strings.Contains(out, "p4ss") {
		t.Errorf("help:\n%s", out)
	}
	missing := New("prog", func(k string) string { return map[string]string{"PW_FILE": "/nonexistent/pw"}[k] }, &help)
	missing.Secret(&pw, "pw", "PW", "the password")
	missing.Parse(nil)
	if err := missing.Err(); err == nil || !strings.HasPrefix(err.Error(), "PW_FILE: cannot read /nonexistent/pw") {
		t.Errorf("unreadable file: %v", err)
	}
}
