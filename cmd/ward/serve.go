package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/wardnet/ward/api"
	"github.com/wardnet/ward/internal/credentials"
	"github.com/wardnet/ward/internal/quarantine"
)

func runServe(c *cli, args []string) int {
	fs := c.newFlagSet("serve", "[-listen 127.0.0.1:8080] [-policy DIR] [-db URL]")
	listen := fs.String("listen", envOr("WARD_LISTEN", "127.0.0.1:8080"), "address to listen on (WARD_LISTEN); loopback unless you say otherwise")
	dir := fs.String("policy", envOr("WARD_POLICY", "./policy"), "policy directory (WARD_POLICY)")
	noEnforce := fs.Bool("no-enforce", false, "record and decide alerts, but change no target")
	logFormat := fs.String("log-format", envOr("WARD_LOG_FORMAT", "text"), "log format: text or json (WARD_LOG_FORMAT)")
	reconcileEvery := fs.Duration("reconcile-interval", 30*time.Second, "how often to check the targets' quarantine state against the store")
	db := dbFlag(fs)
	if _, code, ok := parseFlags(fs, args); !ok {
		return code
	}
	var handler slog.Handler = slog.NewTextHandler(c.stderr, nil)
	if *logFormat == "json" {
		handler = slog.NewJSONHandler(c.stderr, nil)
	} else if *logFormat != "text" {
		fmt.Fprintf(c.stderr, "ward serve: -log-format %q: want text or json\n", *logFormat)
		return 2
	}
	log := slog.New(handler)

	base := c.ctx
	if base == nil {
		base = context.Background()
	}
	ctx, stop := signal.NotifyContext(base, os.Interrupt, syscall.SIGTERM)
	defer stop()
	m, st, ok := c.quarantineManager(ctx, *dir, *db, !*noEnforce)
	if !ok {
		return 1
	}
	defer st.Close()
	defer m.Close()

	// Reconcile before taking alerts: a restart neither drops nor forgets a
	// quarantine, and expiry that fell due while down happens now.
	if rep, err := m.Reconcile(ctx); err != nil {
		log.Error("reconciling quarantines with the targets", "error", err)
	} else {
		log.Info("reconciled quarantines with the targets", "active", rep.Active, "added", rep.Added, "removed", rep.Removed, "errors", rep.Errors)
	}
	creds := credentials.FromEnv()
	token := os.Getenv("WARD_ALERT_TOKEN")
	srv := api.New(api.Config{Store: st, Intake: m, Logger: log, AlertToken: token,
		AlertSecret: func(source string) ([]byte, bool) {
			cr, err := creds.Load("alert-" + source)
			if err != nil || cr.Password == "" {
				return nil, false
			}
			return []byte(cr.Password), true
		}})
	if token == "" {
		log.Warn("WARD_ALERT_TOKEN is not set: alerts are accepted only with an HMAC signature (secret in the credential alert-SOURCE)")
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward serve: %v\n", err)
		return 1
	}
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
		log.Warn("listening beyond this host: put Ward behind TLS", "listen", ln.Addr().String())
	}
	httpSrv := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second}
	go scheduler(ctx, m, log, *reconcileEvery)
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	log.Info("ward serve listening", "address", "http://"+ln.Addr().String(), "enforce", !*noEnforce)
	fmt.Fprintf(c.stdout, "Listening on http://%s\n", ln.Addr())

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(c.stderr, "ward serve: %v\n", err)
			return 1
		}
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(sctx); err != nil {
		log.Error("shutdown", "error", err)
		return 1
	}
	return 0
}

// scheduler ends quarantines on time (checked every 250 ms) and keeps the
// targets' quarantine state reconciled with the store.
func scheduler(ctx context.Context, m *quarantine.Manager, log *slog.Logger, reconcileEvery time.Duration) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if n, err := m.ExpireDue(ctx); err != nil {
			log.Error("expiring quarantines", "error", err)
		} else if n > 0 {
			log.Info("quarantines expired", "count", n)
		}
		if reconcileEvery > 0 && time.Since(last) >= reconcileEvery {
			last = time.Now()
			if rep, err := m.Reconcile(ctx); err != nil {
				log.Error("reconciling quarantines", "error", err)
			} else if len(rep.Added)+len(rep.Removed)+len(rep.Errors) > 0 {
				log.Warn("reconciled quarantines", "added", rep.Added, "removed", rep.Removed, "errors", rep.Errors)
			}
		}
	}
}

func envOr(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}
