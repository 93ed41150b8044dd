package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/wardnet/ward/internal/credentials"
	"github.com/wardnet/ward/internal/store"
)

func runAudit(c *cli, args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "verify":
			return runAuditVerify(c, args[1:])
		case "checkpoint":
			return runAuditCheckpoint(c, args[1:])
		}
	}
	cl := c.command("audit", "[-limit N] [-json] [-db URL]   |   ward audit verify [-checkpoint FILE] [-db URL]   |   ward audit checkpoint [-o FILE] [-db URL]")
	limit := cl.Int("limit", 50, "show the newest N events (0: all)")
	asJSON := cl.Bool("json", false, "print events as a JSON array, oldest first")
	cl.dbFlag()
	if _, code, ok := cl.parse(args); !ok {
		return code
	}
	defer cl.close()
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	evs, err := st.ListAudit(ctx, *limit)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward audit: %v\n", err)
		return 1
	}
	slices.Reverse(evs) // oldest first, like a log
	if *asJSON {
		return c.printJSON(evs)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME (UTC)\tACTOR\tACTION\tOBJECT\tDETAIL")
	for _, e := range evs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.At.UTC().Format("2006-01-02 15:04:05"), e.Actor, e.Action, e.Object, e.Detail)
	}
	tw.Flush()
	return 0
}

// auditKeyFile is where the audit key lives: $WARD_AUDIT_KEY, else
// audit.key in the credential store ($WARD_CREDENTIALS_DIR).
func auditKeyFile() (credentials.Source, string) {
	if p := os.Getenv("WARD_AUDIT_KEY"); p != "" {
		return credentials.Source{Dir: filepath.Dir(p)}, filepath.Base(p)
	}
	return credentials.FromEnv(), credentials.AuditKey
}

// loadAuditKey reads the audit key, creating it on first use when create
// is set. Without create a missing key is no error: key is nil.
func (c *cli) loadAuditKey(create bool) (key []byte, path string, ok bool) {
	src, name := auditKeyFile()
	path = src.KeyPath(name)
	if !create {
		key, err := src.LoadKey(name)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(c.stderr, "ward: audit %v\n", err)
			return nil, path, false
		}
		return key, path, true
	}
	key, created, err := src.LoadOrCreateKey(name)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward: audit %v (set WARD_AUDIT_KEY or WARD_CREDENTIALS_DIR to keep it elsewhere)\n", err)
		return nil, path, false
	}
	if created {
		fmt.Fprintf(c.stderr, "ward: created the audit key %s. Back it up apart from the database, and give every Ward replica the same file: without it the audit log cannot be verified or extended.\n", path)
	}
	return key, path, true
}

func runAuditCheckpoint(c *cli, args []string) int {
	cl := c.command("audit checkpoint", "[-o FILE] [-db URL]")
	out := cl.String("o", "", "write the checkpoint to FILE (default: standard output); keep it where whoever can write the database cannot")
	cl.dbFlag()
	if _, code, ok := cl.parse(args); !ok {
		return code
	}
	defer cl.close()
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	cp, err := st.AuditCheckpoint(ctx)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward audit checkpoint: %v\n", err)
		return 1
	}
	b, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		fmt.Fprintf(c.stderr, "ward audit checkpoint: %v\n", err)
		return 1
	}
	b = append(b, '\n')
	if *out == "" {
		c.stdout.Write(b)
		return 0
	}
	if err := writeNewFile(*out, b); err != nil {
		fmt.Fprintf(c.stderr, "ward audit checkpoint: writing %s: %v\n", *out, err)
		return 1
	}
	fmt.Fprintf(c.stdout, "Checkpoint of the audit log written to %s: event %d, hash %s, %s.\n", *out, cp.Seq, cp.Hash, plural(cp.Events, "event"))
	return 0
}

// writeNewFile writes data to name through a temporary file renamed into
// place, so a checkpoint is never left half written.
func writeNewFile(name string, data []byte) error {
	tmp, err := writeTemp(filepath.Dir(name), filepath.Base(name), string(data))
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func runAuditVerify(c *cli, args []string) int {
	cl := c.command("audit verify", "[-checkpoint FILE] [-db URL]")
	cpFile := cl.String("checkpoint", "", "also check the log against a checkpoint made by ward audit checkpoint -o FILE")
	cl.dbFlag()
	if _, code, ok := cl.parse(args); !ok {
		return code
	}
	defer cl.close()
	var cp *store.AuditCheckpoint
	if *cpFile != "" {
		b, err := os.ReadFile(*cpFile)
		if err == nil {
			cp, err = store.ParseAuditCheckpoint(b)
		}
		if err != nil {
			fmt.Fprintf(c.stderr, "ward audit verify: checkpoint %s: %v\n", *cpFile, err)
			return 1
		}
	}
	// Verify opens the store itself rather than with openStore: it must
	// report a missing or wrong key, not refuse to start over it, and it
	// creates no key (a new key cannot check the old events).
	key, keyPath, ok := c.loadAuditKey(false)
	if !ok {
		return 1
	}
	var opts []store.Option
	if key != nil {
		opts = append(opts, store.WithAuditKey(key))
	}
	ctx := cl.context()
	st, err := store.Open(ctx, *cl.db, opts...)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward: %v\n", err)
		return 1
	}
	defer st.Close()
	rep, err := st.VerifyAuditLog(ctx, cp)
	if err != nil {
		if key == nil {
			fmt.Fprintf(c.stderr, "ward audit verify: %v\nNo audit key at %s: restore it from backup (or point WARD_AUDIT_KEY at it).\n", err, keyPath)
		} else if cp != nil {
			fmt.Fprintf(c.stderr, "ward audit verify: checkpoint %s: %v\n", *cpFile, err)
		} else {
			fmt.Fprintf(c.stderr, "ward audit verify: %v\n", err)
		}
		return 1
	}
	c.printAuditReport(rep, *cpFile, keyPath)
	if rep.Break != nil {
		return 1
	}
	return 0
}

// printAuditReport prints the head, the verdict and what the verdict rests
// on: which events are keyed, and the checkpoint.
func (c *cli) printAuditReport(rep *store.AuditReport, cpFile, keyPath string) {
	if rep.Head == nil {
		fmt.Fprintln(c.stdout, "Audit log head: none (the log is empty)")
	} else {
		fmt.Fprintf(c.stdout, "Audit log head: event %d, hash %s, written %s\n", rep.Head.Seq, rep.Head.Hash, rep.Head.At.UTC().Format(time.RFC3339))
	}
	if b := rep.Break; b != nil {
		fmt.Fprintf(c.stderr, "Audit log BROKEN after %s: %v\n", plural(rep.Checked, "intact event"), b)
		fmt.Fprintf(c.stderr, "Events from %d on cannot be trusted. Preserve the database as it is for investigation, compare it with a backup, and find who had write access to it.\n", b.Event.Seq)
		return
	}
	fmt.Fprintf(c.stdout, "Audit log intact: %s, every hash chained to the one before.\n", plural(rep.Checked, "event"))
	switch {
	case rep.Unkeyed > 0 && rep.Keyed > 0:
		fmt.Fprintf(c.stdout, "%s unkeyed (written before the log was keyed): they can have been rewritten before event %d sealed them, not since. %s keyed with audit key %s (%s).\n",
			eventSpan(1, rep.Unkeyed), rep.Unkeyed+1, eventSpan(rep.Unkeyed+1, rep.Checked), rep.KeyID, keyPath)
	case rep.Keyed > 0:
		fmt.Fprintf(c.stdout, "Every event is keyed with audit key %s (%s).\n", rep.KeyID, keyPath)
	case rep.Unkeyed > 0:
		fmt.Fprintf(c.stderr, "WARNING: no event is keyed. Whoever could write the database could have rewritten these %s without a trace. Ward keys every new event; once one is written, take a checkpoint (ward audit checkpoint -o FILE) and keep it away from the database.\n", plural(rep.Unkeyed, "event"))
	}
	if cp := rep.Checkpoint; cp != nil {
		fmt.Fprintf(c.stdout, "Checkpoint %s (event %d, taken %s): the log still reaches it and matches it.\n", cpFile, cp.Seq, cp.Taken.UTC().Format(time.RFC3339))
	} else if rep.Checked > 0 {
		fmt.Fprintln(c.stdout, "A log cut short is only caught against a checkpoint: ward audit verify -checkpoint FILE.")
	}
}

// eventSpan names events from to to as the subject of a sentence.
func eventSpan(from, to int) string {
	if from == to {
		return fmt.Sprintf("Event %d is", from)
	}
	return fmt.Sprintf("Events %d to %d are", from, to)
}
