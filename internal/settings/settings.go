// Package settings reads a program's configuration from environment
// variables and flags of the same meaning (a flag wins), collecting one
// clear line per bad or missing setting.
package settings

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Set binds settings to variables. Errors are collected, not fatal, so
// start-up reports every problem at once.
type Set struct {
	fs     *flag.FlagSet
	out    io.Writer
	about  string
	getenv func(string) string
	errs   []error
	kinds  map[string]string // flag name → what -h calls its value
	secret map[string]bool   // variables that may also come from *_FILE
	bad    map[string]bool   // variables with a problem recorded already
}

// New returns a set for the program name reading the environment through
// getenv. Usage (-h) goes to out.
func New(name string, getenv func(string) string, out io.Writer) *Set {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// The flag package would print the whole usage after a syntax error,
	// then the caller the error again: Parse prints usage only for -h.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &Set{fs: fs, out: out, getenv: getenv,
		kinds: make(map[string]string), secret: make(map[string]bool), bad: make(map[string]bool)}
}

// Describe sets the text -h prints above the flags.
func (s *Set) Describe(text string) { s.about = strings.TrimSpace(text) }

// usage prints the description and every flag with its variable.
func (s *Set) usage() {
	fmt.Fprintf(s.out, "%s\n\nUsage: %s [flags]\n\nEvery flag can also be set by the environment variable named after it; a flag wins.\n\n", s.about, s.fs.Name())
	s.fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(s.out, "  -%s %s\n    \t%s", f.Name, s.kinds[f.Name], f.Usage)
		if f.DefValue != "" {
			fmt.Fprintf(s.out, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(s.out)
	})
}

// problem records one line for the user.
func (s *Set) problem(format string, args ...any) {
	s.errs = append(s.errs, fmt.Errorf(format, args...))
}

// value is a flag whose bad value is recorded as a problem instead of
// failing the parse, so every problem is reported at once, worded the same
// whether it came from a flag or a variable.
type value func(string) error

func (v value) String() string       { return "" }
func (v value) Set(raw string) error { return v(raw) }

// bind declares a setting: parse reads the variable now (when set) and the
// flag during Parse; a value it refuses is a problem named after its source.
func (s *Set) bind(flagName, envName, kind, def, usage string, parse func(string) error) {
	if raw := s.env(envName); raw != "" {
		if err := parse(raw); err != nil {
			s.problem("%s: %w", envName, err)
			s.bad[envName] = true
		}
	}
	s.fs.Var(value(func(raw string) error {
		if err := parse(raw); err != nil {
			s.problem("-%s: %w", flagName, err)
			s.bad[envName] = true
		}
		return nil
	}), flagName, describe(envName, usage))
	s.kinds[flagName] = kind
	s.fs.Lookup(flagName).DefValue = def
}

func (s *Set) env(name string) string {
	if name == "" {
		return ""
	}
	return s.getenv(name)
}

func describe(envName, usage string) string {
	if envName == "" {
		return usage
	}
	return usage + " (env " + envName + ")"
}

// String binds a string setting.
func (s *Set) String(p *string, flagName, envName, def, usage string) {
	*p = def
	s.bind(flagName, envName, "string", quote(def), usage, func(raw string) error { *p = raw; return nil })
}

// quote shows a string default in -h; an empty one is not shown.
func quote(def string) string {
	if def == "" {
		return ""
	}
	return strconv.Quote(def)
}

// Addr binds a listen address: host:port, the host optional.
func (s *Set) Addr(p *string, flagName, envName, def, usage string) {
	*p = def
	s.bind(flagName, envName, "host:port", quote(def), usage, func(raw string) error {
		_, port, err := net.SplitHostPort(raw)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
			return fmt.Errorf("%q is not host:port (e.g. 127.0.0.1:8080, or :8080 for every interface)", raw)
		}
		*p = raw
		return nil
	})
}

// Secret binds a secret: from the flag, the variable, or the file named by
// the variable with _FILE appended (trailing newline trimmed). Setting both
// variables is refused: which one wins would be a guess.
func (s *Set) Secret(p *string, flagName, envName, usage string) {
	fileVar := envName + "_FILE"
	s.secret[envName] = true
	v, file := s.getenv(envName), s.getenv(fileVar)
	switch {
	case v != "" && file != "":
		s.problem("%s and %s are both set: set only one", envName, fileVar)
		s.bad[envName], v = true, ""
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			s.problem("%s: cannot read %s: %v", fileVar, file, errors.Unwrap(err))
			s.bad[envName] = true
		}
		v = strings.TrimRight(string(b), "\r\n")
	}
	*p = v
	// The value is a secret: never print it as a flag default.
	s.bind(flagName, "", "string", "", describe(envName, usage)+" (also "+fileVar+")", func(raw string) error { *p = raw; return nil })
}

// Duration binds a Go duration (e.g. 15s, 1500ms) that must be positive.
func (s *Set) Duration(p *time.Duration, flagName, envName string, def time.Duration, usage string) {
	*p = def
	s.bind(flagName, envName, "duration", def.String(), usage, func(raw string) error {
		d, err := time.ParseDuration(raw)
		if err != nil || d <= 0 {
			return fmt.Errorf("%q is not a positive duration (e.g. 15s, 1500ms)", raw)
		}
		*p = d
		return nil
	})
}

// OptionalDuration binds a duration that is off when zero.
func (s *Set) OptionalDuration(p *time.Duration, flagName, envName, usage string) {
	*p = 0
	s.bind(flagName, envName, "duration", "", usage+" (0: off)", func(raw string) error {
		d, err := time.ParseDuration(raw)
		if err != nil || d < 0 {
			return fmt.Errorf("%q is not a duration (e.g. 30s; 0 turns it off)", raw)
		}
		*p = d
		return nil
	})
}

// Int binds an integer setting that must be positive.
func (s *Set) Int(p *int, flagName, envName string, def int, usage string) {
	*p = def
	s.bind(flagName, envName, "int", strconv.Itoa(def), usage, func(raw string) error {
		n, err := strconv.Atoi(raw)
		if err != nil || n <= 0 {
			return fmt.Errorf("%q is not a positive whole number", raw)
		}
		*p = n
		return nil
	})
}

// Float binds a share in [0, 1].
func (s *Set) Float(p *float64, flagName, envName string, def float64, usage string) {
	*p = def
	s.bind(flagName, envName, "share", strconv.FormatFloat(def, 'g', -1, 64), usage, func(raw string) error {
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil || !(v >= 0 && v <= 1) {
			return fmt.Errorf("%q is not a share between 0 and 1", raw)
		}
		*p = v
		return nil
	})
}

// Check records a problem found by the caller's own validation.
func (s *Set) Check(ok bool, format string, args ...any) {
	if !ok {
		s.problem(format, args...)
	}
}

// Require records that the setting in envName is missing when value is
// empty, unless a problem with it was recorded already (an unreadable
// _FILE, say): one line per problem.
func (s *Set) Require(value, envName string) {
	switch {
	case value != "" || s.bad[envName]:
	case s.secret[envName]:
		s.problem("%s (or %s_FILE) is required", envName, envName)
	default:
		s.problem("%s is required", envName)
	}
}

// Parse reads the flags. It returns only a flag syntax error (an unknown
// flag, a missing value) or, after printing the usage, flag.ErrHelp;
// problems with values are collected for Err, so the caller can add its
// own checks first.
func (s *Set) Parse(args []string) error {
	err := s.fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		s.usage()
	}
	if err != nil {
		return err
	}
	if s.fs.NArg() > 0 {
		s.problem("unexpected argument %q", s.fs.Arg(0))
	}
	return nil
}

// Err returns every problem found, one per line, or nil.
func (s *Set) Err() error { return errors.Join(s.errs...) }
