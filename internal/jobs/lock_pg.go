package jobs

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/wardnet/ward/internal/store"
)

// The PostgreSQL lock: a session advisory lock on a connection pinned for
// as long as it is held. The server releases it when the session ends, so
// a killed process frees its targets at once; the holder checks the
// session every second and cancels its work if it is gone, and the server
// ends a session left unchecked for five seconds (idle_session_timeout), so
// a stopped process frees them too (limitIdle). A row in
// target_owners names the holder for waiters; a row left by a dead holder
// is simply overwritten by the next one.

// advisoryKey maps a target name to the lock's 64-bit key. A collision
// only serialises two targets needlessly.
func advisoryKey(target string) int64 {
	h := fnv.New64a()
	h.Write([]byte("ward.target:" + target))
	return int64(h.Sum64())
}

func (o *Owner) acquirePG(ctx context.Context, rec store.TargetOwner, deadline, start time.Time) (hold, error) {
	db, err := o.st.SQLDB()
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("target %q: a database connection for its lock: %w", rec.Target, err)
	}
	key := advisoryKey(rec.Target)
	h := &pgHold{o: o, conn: conn, key: key, rec: rec}
	// Before the lock: a holder stopped between taking the lock and
	// limiting its session would hold the target with no limit.
	if err := h.limitIdle(ctx); err != nil {
		discard(conn)
		return nil, err
	}
	for {
		var got bool
		if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got); err != nil {
			discard(conn)
			return nil, fmt.Errorf("target %q: taking its lock: %w", rec.Target, err)
		}
		if got {
			break
		}
		if err := o.pollAgain(ctx, rec.Target, deadline, start); err != nil {
			// Its session carries limitIdle's settings: closed, not
			// pooled.
			discard(conn)
			return nil, err
		}
	}
	now := o.opts.Now()
	rec.Since, rec.ExpiresAt = now, now
	h.rec = rec
	if err := o.st.PutTargetOwner(ctx, rec); err != nil {
		h.release()
		return nil, err
	}
	// On the session that holds the lock: a session the server ended
	// cannot take a token.
	token, err := store.NextFenceOn(ctx, conn, rec.Target)
	if err != nil {
		h.release()
		return nil, err
	}
	h.token = token
	return h, nil
}

// pingEvery is how often keep checks the pinned session.
func (h *pgHold) pingEvery() time.Duration { return min(h.o.opts.TTL/3, time.Second) }

// limitIdle makes the server end the pinned session, and so release the
// lock, when its holder stops checking it for a few intervals. A
// SIGSTOPped or frozen holder's socket stays open (its kernel still
// answers TCP), so without this the lock would be held for as long as the
// process stays stopped. idle_session_timeout exists from PostgreSQL 14;
// on older servers only TCP keepalives are set, which end the session of
// a dead host or a cut network, not of a stopped process.
func (h *pgHold) limitIdle(ctx context.Context) error {
	var version int
	if err := h.conn.QueryRowContext(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		return fmt.Errorf("target %q: reading the PostgreSQL version: %w", h.rec.Target, err)
	}
	idle := idleLimit(h.pingEvery())
	stmts := []string{fmt.Sprintf("SET idle_session_timeout = %d", idle.Milliseconds())}
	if version < 140000 {
		h.o.log.Warn("PostgreSQL before 14 has no idle_session_timeout: a stopped (not dead) holder keeps its targets until it resumes; upgrade to PostgreSQL 14 or later",
			"target", h.rec.Target, "server_version_num", version)
		secs := max(int(idle.Seconds()), 1)
		stmts = []string{
			fmt.Sprintf("SET tcp_keepalives_idle = %d", secs),
			"SET tcp_keepalives_interval = 1",
			"SET tcp_keepalives_count = 3",
		}
	}
	for _, q := range stmts {
		if _, err := h.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("target %q: %s on the session holding its lock: %w", h.rec.Target, q, err)
		}
	}
	for _, q := range stmts {
		h.reset = append(h.reset, "RESET "+strings.Fields(q)[1])
	}
	return nil
}

// idleLimit is how long the pinned session may go unchecked before the
// server ends it: five check intervals, so one or two slow checks (a
// loaded database, a GC pause) do not lose the target.
func idleLimit(every time.Duration) time.Duration { return 5 * every }

// pgHold is an advisory lock we hold on a pinned connection.
type pgHold struct {
	o    *Owner
	conn *sql.Conn
	key  int64
	rec  store.TargetOwner
	// token is the fencing token taken on conn once the lock was held.
	token int64
	// reset undoes limitIdle's settings before conn goes back to the pool.
	reset []string
}

func (h *pgHold) fence() int64 { return h.token }

func (h *pgHold) keep(ctx context.Context, lost func(error)) {
	every := h.pingEvery()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// Held means our session is alive and still has the lock (an
		// administrator may have terminated the backend).
		pctx, cancel := context.WithTimeout(ctx, 2*every)
		var held bool
		err := h.conn.QueryRowContext(pctx,
			"SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid() AND "+advisoryMatch+")", h.key).Scan(&held)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil && !held {
			err = errors.New("the session no longer holds the advisory lock")
		}
		if err != nil {
			lost(fmt.Errorf("PostgreSQL connection holding the lock: %w", err))
			return
		}
	}
}

func (h *pgHold) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The note goes first, so it never names us after the next holder
	// wrote its own; the token check keeps it from deleting theirs.
	if err := h.o.st.DeleteTargetOwner(ctx, h.rec.Target, h.rec.Token); err != nil {
		h.o.log.Warn("could not clear the holder note of a target", "target", h.rec.Target, "err", err)
	}
	var ok bool
	if err := h.conn.QueryRowContext(ctx, "SELECT pg_advisory_unlock($1)", h.key).Scan(&ok); err != nil || !ok {
		// Closing the session is what releases the lock for sure.
		discard(h.conn)
		return
	}
	// A pooled session with an idle limit would be ended by the server
	// under its next user.
	for _, q := range h.reset {
		if _, err := h.conn.ExecContext(ctx, q); err != nil {
			discard(h.conn)
			return
		}
	}
	h.conn.Close()
}

// discard closes conn's session instead of returning it to the pool.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	conn.Close()
}

// lockHeld reports whether any session holds target's advisory lock.
func (o *Owner) lockHeld(ctx context.Context, target string) (bool, error) {
	db, err := o.st.SQLDB()
	if err != nil {
		return false, err
	}
	var held bool
	err = db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE "+advisoryMatch+")", advisoryKey(target)).Scan(&held)
	if err != nil {
		return false, fmt.Errorf("target %q: reading its lock: %w", target, err)
	}
	return held, nil
}

// advisoryMatch selects, in pg_locks, the granted advisory lock whose
// 64-bit key is $1 (PostgreSQL splits it into classid, the high half, and
// objid, the low half).
const advisoryMatch = "locktype = 'advisory' AND granted AND objsubid = 1 AND objid = ($1::bigint & 4294967295)::oid AND classid = (($1::bigint >> 32) & 4294967295)::oid"
