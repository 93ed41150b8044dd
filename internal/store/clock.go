package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// On PostgreSQL the store's clock is the database server's, so that
// replicas on hosts whose clocks disagree still agree on every time the
// store compares: the storm guard's hour, a quarantine's expiry, an
// apply's order. Reading the server's clock on every Now would put a
// round trip on every row written, so the clock is read once in a while
// and followed in between on this process's monotonic clock, which no
// wall-clock step (NTP, an operator's date) moves. SQLite is one host's
// file: its clock is that host's.

// clockRefresh is how long the server's time, once read, is followed on
// the monotonic clock before it is read again: long enough to cost
// nothing, short enough that the server's own clock being stepped is
// followed within it.
const clockRefresh = 30 * time.Second

// serverClock is a PostgreSQL server's clock as this process follows it.
type serverClock struct {
	db  *sql.DB
	log *slog.Logger
	// host is this host's clock: only the time passing on it (its
	// monotonic reading) is used.
	host func() time.Time

	mu sync.Mutex
	// base is the server's time at the local instant at (whose monotonic
	// reading is what Now follows).
	base, at time.Time
	reading  bool // a refresh is under way
}

// read reads the server's clock; the local instant it stands for is the
// middle of the round trip.
func (c *serverClock) read(ctx context.Context) error {
	before := c.host()
	var server time.Time
	if err := c.db.QueryRowContext(ctx, "SELECT clock_timestamp()").Scan(&server); err != nil {
		return fmt.Errorf("reading the database server's clock: %w", err)
	}
	mid := before.Add(c.host().Sub(before) / 2)
	c.mu.Lock()
	c.base, c.at = server, mid
	c.mu.Unlock()
	return nil
}

// now is the server's time now: its last reading moved on by the
// monotonic time since. A reading older than clockRefresh is renewed in
// the background; until it is (or while the database is unreachable) the
// old one goes on being followed.
func (c *serverClock) now() time.Time {
	c.mu.Lock()
	base, at := c.base, c.at
	since := c.host().Sub(at)
	refresh := since > clockRefresh && !c.reading
	if refresh {
		c.reading = true
	}
	c.mu.Unlock()
	if refresh {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := c.read(ctx); err != nil {
				c.log.Debug("the database clock could not be read; following the last reading", "err", err)
			}
			c.mu.Lock()
			c.reading = false
			c.mu.Unlock()
		}()
	}
	return base.Add(since)
}
