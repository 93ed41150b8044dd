package store

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

// newKey is a fresh random audit key.
func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// forEachKeyedDB runs fn on a new store of each dialect opened with a fresh
// audit key, as the ward command opens it.
func forEachKeyedDB(t *testing.T, fn func(t *testing.T, st *Store, url string, key []byte)) {
	t.Helper()
	for _, d := range []Dialect{SQLite, Postgres} {
		t.Run(string(d), func(t *testing.T) {
			url := dbURLs(t)[d]
			key := newKey(t)
			st := openWith(t, url, key)
			fn(t, st, url, key)
		})
	}
}

// openWith opens url with the given audit key (nil: none).
func openWith(t *testing.T, url string, key []byte) *Store {
	t.Helper()
	var opts []Option
	if key != nil {
		opts = append(opts, WithAuditKey(key))
	}
	st, err := Open(context.Background(), url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func appendN(t *testing.T, st *Store, n int) {
	t.Helper()
	for i := range n {
		if _, err := st.AppendAudit(context.Background(), AuditEntry{
			Actor: "tester", Action: "test.event", Object: fmt.Sprintf("obj-%d", i), Detail: map[string]int{"i": i},
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// disableAppendOnly drops the triggers, as someone with database access
// could; the hash chain must still catch what they do.
func disableAppendOnly(t *testing.T, st *Store) {
	t.Helper()
	var err error
	if st.Dialect() == Postgres {
		err = st.DB.Exec("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only").Error
	} else {
		err = st.DB.Exec("DROP TRIGGER audit_events_no_update").Error
		if err == nil {
			err = st.DB.Exec("DROP TRIGGER audit_events_no_delete").Error
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

func verify(t *testing.T, st *Store, cp *AuditCheckpoint) *AuditReport {
	t.Helper()
	rep, err := st.VerifyAuditLog(context.Background(), cp)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func wantBreak(t *testing.T, rep *AuditReport, seq uint64, reason string) {
	t.Helper()
	if rep.Break == nil || rep.Break.Event.Seq != seq || !strings.Contains(rep.Break.Error(), reason) {
		t.Fatalf("break = %v, want event %d with %q", rep.Break, seq, reason)
	}
}

func TestAuditChain(t *testing.T) {
	forEachKeyedDB(t, func(t *testing.T, st *Store, _ string, _ []byte) {
		ctx := context.Background()
		if rep := verify(t, st, nil); rep.Break != nil || rep.Checked != 0 || rep.Head != nil {
			t.Fatalf("empty log: %+v", rep)
		}
		appendN(t, st, 5)
		rep := verify(t, st, nil)
		if rep.Break != nil || rep.Checked != 5 || rep.Keyed != 5 || rep.Unkeyed != 0 || rep.Head == nil || rep.Head.Seq != 5 {
			t.Fatalf("intact log: %+v (break %v)", rep, rep.Break)
		}
		evs, err := st.ListAudit(ctx, 2)
		if err != nil || len(evs) != 2 || evs[0].Seq != 5 || evs[0].PrevHash != evs[1].Hash {
			t.Fatalf("ListAudit: %+v %v", evs, err)
		}
		if evs[0].Scheme != AuditKeyed || evs[0].KeyID != st.AuditKeyID() || len(st.AuditKeyID()) != 16 {
			t.Fatalf("newest event: scheme %q key %q, want %q with key %q", evs[0].Scheme, evs[0].KeyID, AuditKeyed, st.AuditKeyID())
		}
		// A keyed hash is not the plain SHA-256 an attacker could compute.
		if evs[0].Hash == attackerSHA256(&evs[0]) {
			t.Fatal("keyed hash equals the unkeyed SHA-256 of the event")
		}

		// The triggers refuse edits.
		if err := st.DB.Exec("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3").Error; err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("update of an audit row: err %v, want the append-only refusal", err)
		}
		if err := st.DB.Exec("DELETE FROM audit_events WHERE seq = 3").Error; err == nil {
			t.Fatal("delete of an audit row succeeded")
		}
	})
}

// TestAuditRefusesTruncate: PostgreSQL's row triggers do not fire on
// TRUNCATE; migration 00003's statement trigger must. SQLite has no
// TRUNCATE; its unqualified DELETE must hit the delete trigger.
func TestAuditRefusesTruncate(t *testing.T) {
	forEachKeyedDB(t, func(t *testing.T, st *Store, _ string, _ []byte) {
		appendN(t, st, 3)
		stmt := "TRUNCATE audit_events"
		if st.Dialect() == SQLite {
			stmt = "DELETE FROM audit_events"
		}
		if err := st.DB.Exec(stmt).Error; err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("%s: err %v, want the append-only refusal", stmt, err)
		}
		if st.Dialect() == Postgres {
			// Also with the row trigger disabled, as disableAppendOnly does.
			disableAppendOnly(t, st)
			if err := st.DB.Exec("TRUNCATE audit_events CASCADE").Error; err == nil {
				t.Fatal("TRUNCATE ... CASCADE succeeded")
			}
		}
		if rep := verify(t, st, nil); rep.Checked != 3 || rep.Break != nil {
			t.Fatalf("after refused truncation: %+v", rep)
		}
	})
}

// attackerSHA256 is the unkeyed chain hash as documented in audit.go,
// written out independently: what someone without the key computes.
func attackerSHA256(ev *AuditEvent) string {
	msg := fmt.Sprintf("%d\n%s\n%q\n%q\n%q\n%q\n%s", ev.Seq, ev.At.UTC().Format(time.RFC3339Nano),
		ev.Actor, ev.Action, ev.Object, ev.Detail, ev.PrevHash)
	sum := sha256.Sum256([]byte(msg))
	return hex.EncodeToString(sum[:])
}

// rewrite edits event `from` and recomputes the chain from there to the
// head with sign, as someone with write access to the database could.
func rewrite(t *testing.T, st *Store, from uint64, edit func(*AuditEvent), sign func(*AuditEvent)) {
	t.Helper()
	evs, err := st.ListAudit(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(evs)
	prev := genesisHash
	for _, ev := range evs {
		if ev.Seq < from {
			prev = ev.Hash
			continue
		}
		if ev.Seq == from {
			edit(&ev)
		}
		ev.PrevHash = prev
		sign(&ev)
		if err := st.DB.Exec("UPDATE audit_events SET actor = ?, detail = ?, prev_hash = ?, hash = ?, scheme = ?, key_id = ? WHERE seq = ?",
			ev.Actor, ev.Detail, ev.PrevHash, ev.Hash, ev.Scheme, ev.KeyID, ev.Seq).Error; err != nil {
			t.Fatal(err)
		}
		prev = ev.Hash
	}
}

func TestAuditTamperIsDetected(t *testing.T) {
	mallory := func(ev *AuditEvent) { ev.Actor = "mallory" }
	plainSHA256 := func(ev *AuditEvent) { ev.Hash = attackerSHA256(ev) }
	downgrade := func(ev *AuditEvent) { ev.Scheme, ev.KeyID = AuditUnkeyed, ""; ev.Hash = attackerSHA256(ev) }
	tampers := []struct {
		name    string
		tamper  func(t *testing.T, st *Store, key []byte)
		wantSeq uint64
		want    string
	}{
		{"edited actor", func(t *testing.T, st *Store, _ []byte) {
			exec(t, st, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 3")
		}, 3, "does not match its keyed hash"},
		{"edited detail", func(t *testing.T, st *Store, _ []byte) {
			exec(t, st, `UPDATE audit_events SET detail = '{"i":99}' WHERE seq = 4`)
		}, 4, "does not match its keyed hash"},
		{"deleted event", func(t *testing.T, st *Store, _ []byte) {
			exec(t, st, "DELETE FROM audit_events WHERE seq = 2")
		}, 3, "missing"},
		{"deleted event, later ones renumbered and relinked with plain SHA-256", func(t *testing.T, st *Store, _ []byte) {
			exec(t, st, "DELETE FROM audit_events WHERE seq = 2")
			for seq := 3; seq <= 5; seq++ {
				exec(t, st, fmt.Sprintf("UPDATE audit_events SET seq = %d WHERE seq = %d", seq-1, seq))
			}
			rewrite(t, st, 2, func(*AuditEvent) {}, plainSHA256)
		}, 2, "does not match its keyed hash"},
		{"scheme of the first event flipped to unkeyed", func(t *testing.T, st *Store, _ []byte) {
			exec(t, st, "UPDATE audit_events SET scheme = 'sha256', key_id = '' WHERE seq = 1")
		}, 1, "does not match its hash"},
		{"scheme of a later event flipped to unkeyed", func(t *testing.T, st *Store, _ []byte) {
			exec(t, st, "UPDATE audit_events SET scheme = 'sha256', key_id = '' WHERE seq = 3")
		}, 3, "unkeyed but follows keyed events"},
		{"unknown scheme", func(t *testing.T, st *Store, _ []byte) {
			exec(t, st, "UPDATE audit_events SET scheme = 'none' WHERE seq = 2")
		}, 2, "unknown hash scheme"},
		{"chain re-hashed with plain SHA-256", func(t *testing.T, st *Store, _ []byte) {
			rewrite(t, st, 3, mallory, plainSHA256)
		}, 3, "does not match its keyed hash"},
		{"tail rewritten as unkeyed events", func(t *testing.T, st *Store, _ []byte) {
			rewrite(t, st, 3, mallory, downgrade)
		}, 3, "unkeyed but follows keyed events"},
		{"chain re-hashed with a wrong key, claiming the right key id", func(t *testing.T, st *Store, _ []byte) {
			wrong := newAuditKey(newKey(t))
			rewrite(t, st, 3, mallory, func(ev *AuditEvent) { ev.Hash = wrong.mac(ev) })
		}, 3, "does not match its keyed hash"},
		{"chain re-hashed with a wrong key under its own id", func(t *testing.T, st *Store, _ []byte) {
			wrong := newAuditKey(newKey(t))
			rewrite(t, st, 1, mallory, func(ev *AuditEvent) { ev.KeyID = wrong.id; ev.Hash = wrong.mac(ev) })
		}, 1, "was written with audit key"},
		{"hash of an event copied from another", func(t *testing.T, st *Store, _ []byte) {
			exec(t, st, "UPDATE audit_events SET hash = (SELECT hash FROM audit_events WHERE seq = 2) WHERE seq = 3")
		}, 3, "does not match its keyed hash"},
	}
	for _, tt := range tampers {
		t.Run(tt.name, func(t *testing.T) {
			forEachKeyedDB(t, func(t *testing.T, st *Store, _ string, key []byte) {
				appendN(t, st, 5)
				disableAppendOnly(t, st)
				tt.tamper(t, st, key)
				wantBreak(t, verify(t, st, nil), tt.wantSeq, tt.want)
				// The API's and inventory's entry point sees the same.
				if _, brk, err := st.VerifyAudit(context.Background()); err != nil || brk == nil || brk.Event.Seq != tt.wantSeq {
					t.Fatalf("VerifyAudit: break %v err %v, want event %d", brk, err, tt.wantSeq)
				}
			})
		})
	}
}

// TestAuditRewriteWithTheKeyVerifies is the control for the re-hash cases
// above: the same rewrite, signed with the real key, verifies. So they
// fail for want of the key, not because rewrite is clumsy — and it shows
// what the key is worth: whoever reads audit.key can rewrite the log.
func TestAuditRewriteWithTheKeyVerifies(t *testing.T) {
	forEachKeyedDB(t, func(t *testing.T, st *Store, _ string, key []byte) {
		appendN(t, st, 5)
		disableAppendOnly(t, st)
		real := newAuditKey(key)
		rewrite(t, st, 3, func(ev *AuditEvent) { ev.Actor = "mallory" }, func(ev *AuditEvent) { ev.Hash = real.mac(ev) })
		if rep := verify(t, st, nil); rep.Break != nil || rep.Keyed != 5 {
			t.Fatalf("rewrite with the real key: %+v, break %v", rep, rep.Break)
		}
	})
}

func exec(t *testing.T, st *Store, sql string, args ...any) {
	t.Helper()
	if err := st.DB.Exec(sql, args...).Error; err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestAuditCheckpoint: what the key alone cannot show — a tail cut off, or
// a chain rewritten whole in the unkeyed scheme — the checkpoint does.
func TestAuditCheckpoint(t *testing.T) {
	cases := []struct {
		name    string
		tamper  func(t *testing.T, st *Store)
		wantSeq uint64
		want    string
	}{
		{"intact, more events since", func(t *testing.T, st *Store) { appendN(t, st, 2) }, 0, ""},
		{"tail truncated by 2", func(t *testing.T, st *Store) {
			exec(t, st, "DELETE FROM audit_events WHERE seq > 3")
		}, 4, "events 4 to 5 are gone"},
		{"tail truncated, then new events in its place", func(t *testing.T, st *Store) {
			exec(t, st, "DELETE FROM audit_events WHERE seq > 3")
			appendN(t, st, 4)
		}, 5, "does not match the checkpoint"},
		{"every event deleted", func(t *testing.T, st *Store) {
			exec(t, st, "DELETE FROM audit_events")
		}, 1, "events 1 to 5 are gone"},
		{"whole chain rewritten as unkeyed", func(t *testing.T, st *Store) {
			rewrite(t, st, 1, func(ev *AuditEvent) { ev.Actor = "mallory" },
				func(ev *AuditEvent) { ev.Scheme, ev.KeyID = AuditUnkeyed, ""; ev.Hash = attackerSHA256(ev) })
		}, 5, "does not match the checkpoint"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			forEachKeyedDB(t, func(t *testing.T, st *Store, _ string, _ []byte) {
				appendN(t, st, 5)
				cp := exportCheckpoint(t, st)
				if cp.Seq != 5 || cp.Events != 5 {
					t.Fatalf("checkpoint of 5 events: %+v", cp)
				}
				disableAppendOnly(t, st)
				tt.tamper(t, st)
				// Without the checkpoint a cut tail or an all-unkeyed
				// chain is a valid chain: that is why checkpoints exist.
				noCP := verify(t, st, nil)
				rep := verify(t, st, cp)
				if tt.wantSeq == 0 {
					if rep.Break != nil || noCP.Break != nil {
						t.Fatalf("intact log: break %v / %v", rep.Break, noCP.Break)
					}
					return
				}
				if noCP.Break != nil {
					t.Logf("also caught without the checkpoint: %v", noCP.Break)
				}
				wantBreak(t, rep, tt.wantSeq, tt.want)
			})
		})
	}
}

// exportCheckpoint makes a checkpoint and round-trips it through its JSON
// form, as ward audit checkpoint -o FILE and verify -checkpoint FILE do.
func exportCheckpoint(t *testing.T, st *Store) *AuditCheckpoint {
	t.Helper()
	cp, err := st.AuditCheckpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseAuditCheckpoint(b)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func TestAuditCheckpointRefusesForgeries(t *testing.T) {
	forEachKeyedDB(t, func(t *testing.T, st *Store, url string, _ []byte) {
		ctx := context.Background()
		appendN(t, st, 5)
		cp := exportCheckpoint(t, st)
		if _, err := st.VerifyAuditLog(ctx, cp); err != nil {
			t.Fatalf("genuine checkpoint refused: %v", err)
		}
		// Lowering the checkpoint's head to hide a truncation.
		lowered := *cp
		lowered.Seq = 3
		if _, err := st.VerifyAuditLog(ctx, &lowered); err == nil || !strings.Contains(err.Error(), "signature does not match") {
			t.Fatalf("edited checkpoint: err %v", err)
		}
		// A checkpoint signed by another key, and a store holding another key.
		other := openWith(t, url, newKey(t))
		if _, err := other.VerifyAuditLog(ctx, cp); err == nil || !strings.Contains(err.Error(), "signed with audit key") {
			t.Fatalf("checkpoint checked with another key: err %v", err)
		}
		noKey := openWith(t, url, nil)
		if _, err := noKey.VerifyAuditLog(ctx, cp); err == nil {
			t.Fatal("checkpoint accepted by a store with no key")
		}
		if _, err := noKey.AuditCheckpoint(ctx); !errors.Is(err, ErrNoAuditKey) {
			t.Fatalf("checkpoint without a key: err %v", err)
		}
		for _, doc := range []string{`{"format":"other"}`, `{"format":"ward-audit-checkpoint/1","extra":1}`, `not json`} {
			if _, err := ParseAuditCheckpoint([]byte(doc)); err == nil {
				t.Errorf("ParseAuditCheckpoint(%s) accepted", doc)
			}
		}
		// No checkpoint vouches for a broken log.
		disableAppendOnly(t, st)
		exec(t, st, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
		if cp, err := st.AuditCheckpoint(ctx); err == nil || !strings.Contains(err.Error(), "audit event 2") {
			t.Fatalf("checkpoint of a tampered log: %+v, err %v", cp, err)
		}
	})
}

func TestAuditCheckpointOfEmptyLog(t *testing.T) {
	forEachKeyedDB(t, func(t *testing.T, st *Store, _ string, _ []byte) {
		cp := exportCheckpoint(t, st)
		if cp.Seq != 0 || cp.Events != 0 {
			t.Fatalf("empty log checkpoint: %+v", cp)
		}
		appendN(t, st, 2)
		if rep := verify(t, st, cp); rep.Break != nil || rep.Checked != 2 {
			t.Fatalf("after 2 events: %+v %v", rep, rep.Break)
		}
	})
}

// TestAuditUnkeyedEvents: a database written before the log was keyed.
// Its events stay unkeyed and are reported so; the first keyed event seals
// them; nothing unkeyed may follow a keyed event.
func TestAuditUnkeyedEvents(t *testing.T) {
	forEachKeyedDB(t, func(t *testing.T, st *Store, _ string, _ []byte) {
		ctx := context.Background()
		// Rows as migrations 00001-00002 wrote them: no scheme, no key id.
		prev := genesisHash
		base := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
		for seq := uint64(1); seq <= 3; seq++ {
			ev := AuditEvent{Seq: seq, At: base.Add(time.Duration(seq) * time.Minute), Actor: "old", Action: "legacy.event", Object: fmt.Sprint(seq), Detail: "{}", PrevHash: prev}
			ev.Hash = attackerSHA256(&ev)
			exec(t, st, "INSERT INTO audit_events (seq, at, actor, action, object, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
				ev.Seq, ev.At, ev.Actor, ev.Action, ev.Object, ev.Detail, ev.PrevHash, ev.Hash)
			prev = ev.Hash
		}
		evs, _ := st.ListAudit(ctx, 0)
		if len(evs) != 3 || evs[0].Scheme != AuditUnkeyed || evs[0].KeyID != "" {
			t.Fatalf("pre-existing rows: %+v, want scheme %q", evs, AuditUnkeyed)
		}
		if err := st.CheckAuditKey(ctx); err != nil {
			t.Fatalf("a key may start keying an unkeyed log: %v", err)
		}
		appendN(t, st, 2)
		rep := verify(t, st, nil)
		if rep.Break != nil || rep.Unkeyed != 3 || rep.Keyed != 2 {
			t.Fatalf("3 unkeyed then 2 keyed: %+v, break %v", rep, rep.Break)
		}

		// Rewriting the unkeyed part, even with its hashes recomputed,
		// breaks the link to the first keyed event.
		disableAppendOnly(t, st)
		rewrite(t, st, 2, func(ev *AuditEvent) { ev.Actor = "mallory" }, func(ev *AuditEvent) {
			if ev.Scheme == AuditUnkeyed {
				ev.Hash = attackerSHA256(ev)
			}
		})
		wantBreak(t, verify(t, st, nil), 4, "does not match its keyed hash")
	})
}

// TestAuditWrongKey: Ward started with another key (a lost audit.key
// recreated, a replica with its own) must not write on, and verify names
// the key.
func TestAuditWrongKey(t *testing.T) {
	forEachKeyedDB(t, func(t *testing.T, st *Store, url string, _ []byte) {
		ctx := context.Background()
		appendN(t, st, 2)
		other := openWith(t, url, newKey(t))
		if err := other.CheckAuditKey(ctx); err == nil || !strings.Contains(err.Error(), st.AuditKeyID()) {
			t.Fatalf("CheckAuditKey with another key: %v", err)
		}
		if _, err := other.AppendAudit(ctx, AuditEntry{Actor: "t", Action: "x"}); err == nil || !strings.Contains(err.Error(), "put back the audit.key") {
			t.Fatalf("append with another key: %v", err)
		}
		wantBreak(t, verify(t, other, nil), 1, "was written with audit key "+st.AuditKeyID())

		// A store without a key (here: a test binary) may not chain onto
		// keyed events either, and cannot verify them.
		noKey := openWith(t, url, nil)
		if _, err := noKey.AppendAudit(ctx, AuditEntry{Actor: "t", Action: "x"}); err == nil {
			t.Fatal("unkeyed append after keyed events succeeded")
		}
		if _, err := noKey.VerifyAuditLog(ctx, nil); err == nil || !strings.Contains(err.Error(), "no usable audit key") {
			t.Fatalf("verify of keyed events without a key: %v", err)
		}
		if rep := verify(t, st, nil); rep.Break != nil || rep.Keyed != 2 {
			t.Fatalf("after the refused writes: %+v %v", rep, rep.Break)
		}
		if short := openWith(t, url, []byte("too short")); short.CheckAuditKey(ctx) == nil {
			t.Fatal("a 9-byte audit key was accepted")
		}
	})
}

// TestAuditWithoutKeyRefusedOutsideTests: only a Go test binary may write
// unkeyed events; anything else opened without a key is refused.
func TestAuditWithoutKeyRefusedOutsideTests(t *testing.T) {
	st := &Store{}
	if err := st.auditWritable(false); !errors.Is(err, ErrNoAuditKey) {
		t.Fatalf("no key, not a test: %v, want ErrNoAuditKey", err)
	}
	if err := st.auditWritable(true); err != nil {
		t.Fatalf("no key in a test: %v", err)
	}
	st.auditKey = newAuditKey(make([]byte, 32))
	if err := st.auditWritable(false); err != nil {
		t.Fatalf("with a key: %v", err)
	}
}

func TestAuditKeyDerivation(t *testing.T) {
	key := newKey(t)
	a, b := newAuditKey(key), newAuditKey(key)
	if a.id != b.id || !hmac.Equal(a.chain, b.chain) {
		t.Fatal("one key, two derivations")
	}
	if hmac.Equal(a.chain, a.checkpoint) || hmac.Equal(a.chain, key) || strings.Contains(hex.EncodeToString(key), a.id) {
		t.Fatal("derived keys must differ from each other and from the key, and the id must not reveal it")
	}
	if c := newAuditKey(newKey(t)); c.id == a.id {
		t.Fatal("two keys share an id")
	}
}

func TestAuditConcurrentAppends(t *testing.T) {
	forEachKeyedDB(t, func(t *testing.T, st *Store, _ string, _ []byte) {
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 5 {
					_, err := st.AppendAudit(context.Background(), AuditEntry{Actor: fmt.Sprintf("w%d", w), Action: "test", Object: fmt.Sprint(i)})
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if rep := verify(t, st, nil); rep.Break != nil || rep.Checked != 40 || rep.Keyed != 40 {
			t.Fatalf("after concurrent appends: %+v, break %v", rep, rep.Break)
		}
	})
}

func TestAuditRollsBackWithTheChange(t *testing.T) {
	forEachKeyedDB(t, func(t *testing.T, st *Store, _ string, _ []byte) {
		err := st.DB.Transaction(func(tx *gorm.DB) error {
			if _, err := st.Audit(tx, AuditEntry{Actor: "t", Action: "x"}); err != nil {
				return err
			}
			return fmt.Errorf("the change failed")
		})
		if err == nil {
			t.Fatal("transaction should fail")
		}
		var n int64
		st.DB.Model(&AuditEvent{}).Count(&n)
		if n != 0 {
			t.Fatalf("%d audit events after a rolled-back change", n)
		}
	})
}

// TestAuditVerifyPagesBySeq: a log longer than one page verifies, a gap
// deep in it is found, and the walk does not depend on row ids following
// seq (they are not part of any hash, so anyone can renumber them).
func TestAuditVerifyPagesBySeq(t *testing.T) {
	forEachKeyedDB(t, func(t *testing.T, st *Store, _ string, _ []byte) {
		const n = 2500
		err := st.DB.Transaction(func(tx *gorm.DB) error {
			for i := range n {
				if _, err := st.Audit(tx, AuditEntry{Actor: "bulk", Action: "test.page", Object: fmt.Sprint(i)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if rep := verify(t, st, nil); rep.Break != nil || rep.Checked != n || rep.Head.Seq != n {
			t.Fatalf("%d events: checked %d, break %v", n, rep.Checked, rep.Break)
		}
		disableAppendOnly(t, st)
		// Early events get the highest ids.
		exec(t, st, "UPDATE audit_events SET id = id + 1000000 WHERE seq <= 1200")
		if rep := verify(t, st, nil); rep.Break != nil || rep.Checked != n {
			t.Fatalf("ids renumbered: checked %d, break %v", rep.Checked, rep.Break)
		}
		exec(t, st, "DELETE FROM audit_events WHERE seq = 1700")
		wantBreak(t, verify(t, st, nil), 1701, "event 1700 is missing")
	})
}

// ExampleStore_VerifyAuditLog: a keyed log, a checkpoint exported from it,
// and a verify against that checkpoint after more events.
func ExampleStore_VerifyAuditLog() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "ward-example-")
	defer os.RemoveAll(dir)
	// In production the key comes from the credential store:
	// credentials.FromEnv().LoadOrCreateKey(credentials.AuditKey).
	key := make([]byte, 32)
	rand.Read(key)
	st, err := Open(ctx, "sqlite://"+filepath.Join(dir, "ward.db"), WithAuditKey(key))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	st.AppendAudit(ctx, AuditEntry{Actor: "alice", Action: "inventory.import", Object: "devices.csv"})
	cp, _ := st.AuditCheckpoint(ctx) // write it out with json.Marshal, keep it elsewhere
	st.AppendAudit(ctx, AuditEntry{Actor: "alice", Action: "inventory.remove", Object: "pump-3w-01"})

	rep, err := st.VerifyAuditLog(ctx, cp)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("head: event %d; intact: %v; keyed: %d, unkeyed: %d; checkpoint at event %d\n",
		rep.Head.Seq, rep.Break == nil, rep.Keyed, rep.Unkeyed, rep.Checkpoint.Seq)
	// Output: head: event 2; intact: true; keyed: 2, unkeyed: 0; checkpoint at event 1
}

// TestVerifyAuditAfter: extending an intact report walks only the newer
// events — a break among them is found, so is a change to the old head
// (which falls back to a whole walk) — and trusts the events before the
// old head, which only a whole walk re-checks.
func TestVerifyAuditAfter(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		tamper  string // SQL run after the three newer events are written
		wantSeq uint64 // 0: intact
		want    string
	}{
		{"intact", "", 0, ""},
		{"newer event edited", "UPDATE audit_events SET actor = 'mallory' WHERE seq = 7", 7, "does not match its keyed hash"},
		{"newer event deleted", "DELETE FROM audit_events WHERE seq = 6", 7, "missing"},
		{"old head edited", "UPDATE audit_events SET actor = 'mallory' WHERE seq = 5", 5, "does not match its keyed hash"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			forEachKeyedDB(t, func(t *testing.T, st *Store, _ string, _ []byte) {
				appendN(t, st, 5)
				prev, err := st.VerifyAuditLog(ctx, nil)
				if err != nil || prev.Break != nil || prev.Head == nil || prev.Head.Seq != 5 {
					t.Fatalf("first walk: %+v %v", prev, err)
				}
				appendN(t, st, 3)
				if tt.tamper != "" {
					disableAppendOnly(t, st)
					exec(t, st, tt.tamper)
				}
				rep, err := st.VerifyAuditAfter(ctx, prev)
				if err != nil {
					t.Fatal(err)
				}
				if tt.wantSeq == 0 {
					if rep.Break != nil || rep.Head == nil || rep.Head.Seq != 8 || rep.Checked != 8 || rep.Keyed != 8 {
						t.Fatalf("extended report %+v (break %v), want 8 events intact, head 8", rep, rep.Break)
					}
					return
				}
				wantBreak(t, rep, tt.wantSeq, tt.want)
			})
		})
	}
	// What it trusts: an old event rewritten under an unchanged head is
	// for the whole walk to find.
	forEachKeyedDB(t, func(t *testing.T, st *Store, _ string, _ []byte) {
		appendN(t, st, 5)
		prev, err := st.VerifyAuditLog(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		disableAppendOnly(t, st)
		exec(t, st, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
		if rep, err := st.VerifyAuditAfter(ctx, prev); err != nil || rep.Break != nil {
			t.Fatalf("extension over no newer event: %+v %v; want intact (the old events are trusted)", rep, err)
		}
		wantBreak(t, verify(t, st, nil), 2, "does not match its keyed hash")
	})
}
