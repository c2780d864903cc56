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
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "A_DUR:") || !strings.HasPrefix(lines[1], "A_SHARE:") || lines[2] != "CUSTOM: broken" {
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

// TestProblemLines: each problem is one line naming where the value came
// from (the variable or the flag), nothing is printed before the caller
// reports, and no line repeats.
func TestProblemLines(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		require bool // USER and PW
		want    []string
	}{
		{"bad flag value", nil, []string{"-int", "abc"}, false, []string{`-int: "abc" is not a positive whole number`}},
		{"bad flag and variable", map[string]string{"A_DUR": "soon"}, []string{"-share", "2"}, false,
			[]string{`A_DUR: "soon" is not a positive duration (e.g. 15s, 1500ms)`, `-share: "2" is not a share between 0 and 1`}},
		{"secret and its file", map[string]string{"PW": "x", "PW_FILE": "/etc/hostname", "USER": "u"}, nil, true,
			[]string{"PW and PW_FILE are both set: set only one"}},
		{"only the user missing", map[string]string{"PW": "x"}, nil, true, []string{"USER is required"}},
		{"only the secret missing", map[string]string{"USER": "u"}, nil, true, []string{"PW (or PW_FILE) is required"}},
		{"both missing", nil, nil, true, []string{"USER is required", "PW (or PW_FILE) is required"}},
		{"unreadable file, not also missing", map[string]string{"USER": "u", "PW_FILE": "/nonexistent/pw"}, nil, true,
			[]string{"PW_FILE: cannot read /nonexistent/pw: no such file or directory"}},
		{"bad address", map[string]string{"ADDR": "nonsense"}, nil, false,
			[]string{`ADDR: "nonsense" is not host:port (e.g. 127.0.0.1:8080, or :8080 for every interface)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			s := New("prog", func(k string) string { return tc.env[k] }, &out)
			var d time.Duration
			var n int
			var f float64
			var user, pw, addr string
			s.Duration(&d, "dur", "A_DUR", time.Second, "a duration")
			s.Int(&n, "int", "A_INT", 1, "an int")
			s.Float(&f, "share", "A_SHARE", 0, "a share")
			s.String(&user, "user", "USER", "", "a user")
			s.Secret(&pw, "pw", "PW", "a password")
			s.Addr(&addr, "addr", "ADDR", "127.0.0.1:8080", "an address")
			if err := s.Parse(tc.args); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if tc.require {
				s.Require(user, "USER")
				s.Require(pw, "PW")
			}
			if out.Len() > 0 {
				t.Errorf("printed before the caller reports:\n%s", out.String())
			}
			var got []string
			if err := s.Err(); err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestFlagSyntaxErrorPrintsNothing: an unknown flag is returned for the
// caller to report once; the usage is printed only for -h.
func TestFlagSyntaxErrorPrintsNothing(t *testing.T) {
	var out bytes.Buffer
	s := New("prog", func(string) string { return "" }, &out)
	var n int
	s.Int(&n, "int", "A_INT", 1, "an int")
	err := s.Parse([]string{"-nope"})
	if err == nil || err.Error() != "flag provided but not defined: -nope" || out.Len() > 0 {
		t.Errorf("err = %v, printed:\n%s", err, out.String())
	}
}
