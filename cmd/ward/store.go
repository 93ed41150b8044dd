package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/user"

	"github.com/wardnet/ward/internal/store"
)

// dbFlag adds -db to a subcommand: the flag, else $WARD_DB, else the default.
func dbFlag(fs *flag.FlagSet) *string {
	def := os.Getenv("WARD_DB")
	if def == "" {
		def = store.DefaultURL
	}
	return fs.String("db", def, "database URL: sqlite://PATH or postgres://USER@HOST/DB (env WARD_DB)")
}

// openStore opens and migrates the database with the audit key (created on
// first use, see audit.go), reporting failure on stderr. It refuses a key
// other than the one the audit log was written with.
func (c *cli) openStore(ctx context.Context, url string) (*store.Store, bool) {
	key, keyPath, ok := c.loadAuditKey(true)
	if !ok {
		return nil, false
	}
	st, err := store.Open(ctx, url, store.WithAuditKey(key))
	if err != nil {
		fmt.Fprintf(c.stderr, "ward: %v\n", err)
		return nil, false
	}
	if err := st.CheckAuditKey(ctx); err != nil {
		st.Close()
		fmt.Fprintf(c.stderr, "ward: %v (audit key file %s)\n", err, keyPath)
		return nil, false
	}
	return st, true
}

// actor names who runs this command, for the audit log.
func actor() string {
	if a := os.Getenv("WARD_ACTOR"); a != "" {
		return a
	}
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli"
}
