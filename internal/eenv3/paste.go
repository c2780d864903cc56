package eenv3

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// readPaste waits for the address the browser was sent to, pasted on r:
// a browser on another machine than camrelay (a headless server, a pod)
// cannot reach the listener, but the person can copy the address from
// its address bar. The first line holding a state, code or error counts
// as a redirect to the listener would; it competes with the listener for
// the one outcome.
func (cb *callback) readPaste(r io.Reader, out io.Writer, redirect string) {
	say := func(format string, a ...any) {
		if out != nil && cb.ctx.Err() == nil {
			fmt.Fprintf(out, format, a...)
		}
	}
	say("If the browser then cannot reach %s, paste the address it shows here and press Enter.\n", redirect)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		if cb.ctx.Err() != nil || cb.claimed.Load() {
			return
		}
		q, ok := pastedAnswer(sc.Text())
		if !ok {
			if strings.TrimSpace(sc.Text()) != "" {
				// Never echo the line: it may hold a code.
				say("That is not the address the browser was sent to (no code or error in it): paste the whole address from the address bar.\n")
			}
			continue
		}
		if !cb.claimed.CompareAndSwap(false, true) {
			return
		}
		cb.done <- cb.outcome(q) // buffered, and sent once: never blocks
		return
	}
}

// pastedAnswer reads the query of a pasted redirect address: the whole
// URL, or only what follows "?", quotes and angle brackets around it
// allowed. ok is false when it holds no state, code or error.
func pastedAnswer(line string) (q url.Values, ok bool) {
	s := strings.Trim(strings.TrimSpace(line), "\"'<>")
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[i+1:]
	}
	q, err := url.ParseQuery(s)
	if err != nil {
		return nil, false
	}
	return q, q.Has("state") || q.Has("code") || q.Has("error")
}
