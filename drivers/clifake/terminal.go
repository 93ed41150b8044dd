package clifake

import (
	"io"
	"strings"
	"testing"
	"time"
)

// Terminal is a test's side of an interactive session on a fake, for what
// scrapligo hides (the pager, prompts, a cut connection): Send types,
// Expect waits for text.
type Terminal struct {
	t   testing.TB
	in  io.Writer
	out chan string
	buf string // read but not yet returned by Expect
}

// OpenTerminal opens a Shell (see Shell for the arguments) and reads its
// output in the background.
func OpenTerminal(t testing.TB, addr, knownHostsFile, user, password string, rows, cols int) *Terminal {
	t.Helper()
	in, r := Shell(t, addr, knownHostsFile, user, password, rows, cols)
	term := &Terminal{t: t, in: in, out: make(chan string, 100)}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			if n > 0 {
				term.out <- string(b[:n])
			}
			if err != nil {
				close(term.out)
				return
			}
		}
	}()
	return term
}

// Send types s.
func (r *Terminal) Send(s string) { io.WriteString(r.in, s) }

// Expect reads until s appears (within 5s, or the test fails) and returns
// what came before it; what follows s is kept for the next Expect.
func (r *Terminal) Expect(s string) string {
	r.t.Helper()
	deadline := time.After(5 * time.Second)
	for !strings.Contains(r.buf, s) {
		select {
		case chunk, ok := <-r.out:
			if !ok {
				r.t.Fatalf("connection closed waiting for %q; got %q", s, r.buf)
			}
			r.buf += chunk
		case <-deadline:
			r.t.Fatalf("no %q within 5s; got %q", s, r.buf)
		}
	}
	i := strings.Index(r.buf, s)
	before := r.buf[:i]
	r.buf = r.buf[i+len(s):]
	return before
}

// Closed reports whether the connection closes within 5s, discarding any
// output until then.
func (r *Terminal) Closed() bool {
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-r.out:
			if !ok {
				return true
			}
		case <-deadline:
			return false
		}
	}
}
