package api_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/wardnet/ward/api"
)

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRequestLogRemoteIsNotForged: the request log's remote address is
// the peer's, whatever X-Forwarded-For a client writes, unless the peer
// is a trusted proxy. gin trusts every proxy by default, so before the fix
// any client could write the address the log recorded for its request
// (a refused token, a quarantine release) — e.g. another workstation's.
func TestRequestLogRemoteIsNotForged(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proxies []netip.Prefix
		want    string
	}{
		{"no trusted proxy", nil, "remote=127.0.0.1"},
		{"the peer is a trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, "remote=203.0.113.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs lockedBuffer
			s := newTestServer(t, func(c *api.Config) {
				c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				c.TrustedProxies = tc.proxies
			})
			h := s.as("viewer")
			h.Set("X-Forwarded-For", "203.0.113.9")
			if r := s.do(t, http.MethodGet, "/api/v1/whoami", nil, h); r.status != http.StatusOK {
				t.Fatalf("whoami: %d %s", r.status, r.body)
			}
			var line string
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "path=/api/v1/whoami") {
					line = l
				}
			}
			if !strings.Contains(line, tc.want) {
				t.Errorf("request log %q; want %s", line, tc.want)
			}
		})
	}
}
