package jobs

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/wardnet/ward/internal/store"
)

// The PostgreSQL lock: a session advisory lock on a connection pinned for
// as long as it is held. The server releases it when the session ends, so
// a killed process frees its targets at once; the holder checks the
// session every second and cancels its work if it is gone. A row in
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
			conn.Close()
			return nil, err
		}
	}
	h := &pgHold{o: o, conn: conn, key: key, rec: rec}
	now := o.opts.Now()
	rec.Since, rec.ExpiresAt = now, now
	if err := o.st.PutTargetOwner(ctx, rec); err != nil {
		h.release()
		return nil, err
	}
	return h, nil
}

// pgHold is an advisory lock we hold on a pinned connection.
type pgHold struct {
	o    *Owner
	conn *sql.Conn
	key  int64
	rec  store.TargetOwner
}

func (h *pgHold) keep(ctx context.Context, lost func(error)) {
	every := min(h.o.opts.TTL/3, time.Second)
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
