// Package settings reads a program's configuration from environment
// variables and flags of the same meaning (a flag wins), collecting one
// clear line per bad or missing setting.
package settings

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Set binds settings to variables. Errors are collected, not fatal, so
// start-up reports every problem at once.
type Set struct {
	fs     *flag.FlagSet
	getenv func(string) string
	errs   []error
	fixups []func()
}

// New returns a set for the program name reading the environment through
// getenv. Usage goes to out.
func New(name string, getenv func(string) string, out io.Writer) *Set {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	return &Set{fs: fs, getenv: getenv}
}

// Describe sets the text -h prints above the flags.
func (s *Set) Describe(text string) {
	s.fs.Usage = func() {
		out := s.fs.Output()
		fmt.Fprintf(out, "%s\n\nUsage: %s [flags]\n\nEvery flag can also be set by the environment variable named after it; a flag wins.\n\n", strings.TrimSpace(text), s.fs.Name())
		s.fs.PrintDefaults()
	}
}

// FlagSet exposes the flags, e.g. to print defaults.
func (s *Set) FlagSet() *flag.FlagSet { return s.fs }

func (s *Set) env(name, def string) string {
	if name != "" {
		if v := s.getenv(name); v != "" {
			return v
		}
	}
	return def
}

func describe(flagName, envName, usage string) string {
	if envName == "" {
		return usage
	}
	return usage + " (env " + envName + ")"
}

// String binds a string setting.
func (s *Set) String(p *string, flagName, envName, def, usage string) {
	s.fs.StringVar(p, flagName, s.env(envName, def), describe(flagName, envName, usage))
}

// Secret binds a secret: from the flag, the variable, or the file named by
// the variable with _FILE appended (trailing newline trimmed).
func (s *Set) Secret(p *string, flagName, envName, usage string) {
	def := s.getenv(envName)
	if file := s.getenv(envName + "_FILE"); def == "" && file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("%s_FILE: cannot read %s: %v", envName, file, errors.Unwrap(err)))
		}
		def = strings.TrimRight(string(b), "\r\n")
	}
	// The value is a secret: never print it as a flag default.
	s.fs.Func(flagName, describe(flagName, envName, usage)+" (also "+envName+"_FILE)", func(v string) error { *p = v; return nil })
	*p = def
}

// Duration binds a Go duration (e.g. 15s, 1500ms) that must be positive.
func (s *Set) Duration(p *time.Duration, flagName, envName string, def time.Duration, usage string) {
	v := def
	if raw := s.env(envName, ""); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil || d <= 0 {
			s.errs = append(s.errs, fmt.Errorf("%s: %q is not a positive duration (e.g. 15s, 1500ms)", envName, raw))
		} else {
			v = d
		}
	}
	s.fs.DurationVar(p, flagName, v, describe(flagName, envName, usage))
	s.fixups = append(s.fixups, func() {
		if *p <= 0 {
			s.errs = append(s.errs, fmt.Errorf("-%s: %s is not a positive duration", flagName, *p))
		}
	})
}

// Int binds an integer setting that must be positive.
func (s *Set) Int(p *int, flagName, envName string, def int, usage string) {
	v := def
	if raw := s.env(envName, ""); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n <= 0 {
			s.errs = append(s.errs, fmt.Errorf("%s: %q is not a positive whole number", envName, raw))
		} else {
			v = n
		}
	}
	s.fs.IntVar(p, flagName, v, describe(flagName, envName, usage))
	s.fixups = append(s.fixups, func() {
		if *p <= 0 {
			s.errs = append(s.errs, fmt.Errorf("-%s: %d is not a positive whole number", flagName, *p))
		}
	})
}

// Float binds a share in [0, 1].
func (s *Set) Float(p *float64, flagName, envName string, def float64, usage string) {
	if raw := s.env(envName, ""); raw != "" {
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("%s: %q is not a number", envName, raw))
		}
		def = v
	}
	s.fs.Float64Var(p, flagName, def, describe(flagName, envName, usage))
	s.fixups = append(s.fixups, func() {
		if *p < 0 || *p > 1 {
			s.errs = append(s.errs, fmt.Errorf("-%s: %v is not a share between 0 and 1", flagName, *p))
		}
	})
}

// Check records a problem found by the caller's own validation.
func (s *Set) Check(ok bool, format string, args ...any) {
	if !ok {
		s.errs = append(s.errs, fmt.Errorf(format, args...))
	}
}

// Parse reads the flags. It returns only a flag syntax error or
// flag.ErrHelp; problems with values are collected for Err, so the caller
// can add its own checks first.
func (s *Set) Parse(args []string) error {
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	if s.fs.NArg() > 0 {
		s.errs = append(s.errs, fmt.Errorf("unexpected argument %q", s.fs.Arg(0)))
	}
	for _, f := range s.fixups {
		f()
	}
	return nil
}

// Err returns every problem found, one per line, or nil.
func (s *Set) Err() error { return errors.Join(s.errs...) }

// OptionalDuration binds a duration that is off when zero.
func (s *Set) OptionalDuration(p *time.Duration, flagName, envName, usage string) {
	var v time.Duration
	if raw := s.env(envName, ""); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil || d < 0 {
			s.errs = append(s.errs, fmt.Errorf("%s: %q is not a duration (e.g. 30s; 0 turns it off)", envName, raw))
		}
		v = d
	}
	s.fs.DurationVar(p, flagName, v, describe(flagName, envName, usage)+" (0: off)")
}
