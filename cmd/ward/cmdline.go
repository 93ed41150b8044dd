package main

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"syscall"

	"github.com/wardnet/ward/internal/store"
)

// cmdline is one subcommand's command line, the one way every subcommand
// gets its flags, a context and the store:
//
//	cl := c.command("token list", "[-json] [-db URL]")
//	asJSON := cl.Bool("json", false, "print JSON")
//	cl.dbFlag()
//	pos, code, ok := cl.parse(args)
//	if !ok {
//		return code
//	}
//	defer cl.close()
//	ctx, st, ok := cl.open()
//	if !ok {
//		return 1
//	}
//
// The context ends on SIGINT or SIGTERM (or with the cli's own context in
// tests), so a long device push or wait for a busy target stops cleanly
// instead of being killed mid-transaction.
type cmdline struct {
	*flag.FlagSet
	c    *cli
	db   *string
	ctx  context.Context
	stop context.CancelFunc
	st   *store.Store
}

// command starts a subcommand's command line; usage follows "ward NAME" in
// its help.
func (c *cli) command(name, usage string) *cmdline {
	return &cmdline{FlagSet: c.newFlagSet(name, usage), c: c}
}

// dbFlag adds -db (the flag, else $WARD_DB, else the default).
func (l *cmdline) dbFlag() { l.db = dbFlag(l.FlagSet) }

// parse parses args (flags may follow positional arguments) and, on
// success, starts the command's signal-aware context: call close when done.
// When parsing stopped it returns the exit code (help: 0, bad flag: 2).
func (l *cmdline) parse(args []string) ([]string, int, bool) {
	pos, code, ok := parseFlags(l.FlagSet, args)
	if !ok {
		return nil, code, false
	}
	base := l.c.ctx
	if base == nil {
		base = context.Background()
	}
	l.ctx, l.stop = signal.NotifyContext(base, os.Interrupt, syscall.SIGTERM)
	return pos, 0, true
}

// context returns the command's context (valid after parse).
func (l *cmdline) context() context.Context { return l.ctx }

// open opens the store named by -db, reporting a failure on stderr.
func (l *cmdline) open() (context.Context, *store.Store, bool) {
	if l.db == nil {
		panic("cmdline.open without dbFlag") // a programming error in a subcommand
	}
	st, ok := l.c.openStore(l.ctx, *l.db)
	if !ok {
		return l.ctx, nil, false
	}
	l.st = st
	return l.ctx, st, true
}

// close closes the store, if opened, and stops listening for signals.
func (l *cmdline) close() {
	if l.st != nil {
		l.st.Close()
	}
	if l.stop != nil {
		l.stop()
	}
}
