package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/wardnet/ward/api"
	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/cluster"
	"github.com/wardnet/ward/internal/credentials"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/web"
	"github.com/wardnet/ward/policy"
)

const serveUsage = `[-listen 127.0.0.1:8080] [-policy DIR] [-db URL] [-config FILE] [flags]

Serves the API (/api/v1, described at /api/v1/openapi.yaml), alert intake,
the compliance UI (/ui: sign in with an API token), /metrics, /healthz and
/readyz, and runs the quarantine scheduler.

Several replicas may share one PostgreSQL database (docs/ha.md): each takes
any request and runs queued pushes, one target at a time across all of them;
one leader, elected in the database, runs expiry, reconcile and retention.

Every setting comes from, in this order of precedence:
  1. its flag:                 -tls-cert /etc/ward/tls.crt
  2. its environment variable: WARD_TLS_CERT=/etc/ward/tls.crt
  3. the settings file (-config FILE or WARD_CONFIG), HCL attributes
     named like the flags with _ for -:   tls_cert = "/etc/ward/tls.crt"
  4. the default shown below.
Secrets never go in flags: the alert bearer token is WARD_ALERT_TOKEN, an
alert source's HMAC secret is the credential alert-SOURCE, target
credentials are in WARD_CREDENTIALS_DIR. API tokens: ward token create.
Behind a reverse proxy that terminates TLS, set -ui-secure-cookie always
(and -ui-trusted-proxies to the proxy's address, so sign-in limits, the
audit log and the request log see the client's address rather than the
proxy's).
SIGHUP reloads the policy; SIGINT or SIGTERM stop Ward after the requests
and pushes in flight finish.`

// serveSettings are ward serve's settings.
type serveSettings struct {
	listen, dir, db, config     string
	tlsCert, tlsKey             string
	logFormat, logLevel         string
	noEnforce                   bool
	reconcileEvery, shutdownMax time.Duration
	maxBody, maxImportBody      int64
	alertRate                   float64
	alertBurst, applyParallel   int
	uiIdle, uiAbsolute          time.Duration
	uiSecureCookie, uiProxies   string
	replica, advertise          string
	lease, driftRetention       time.Duration
	driftEvery                  time.Duration
}

func serveFlags(c *cli) (*flag.FlagSet, *serveSettings) {
	s := &serveSettings{}
	fs := c.newFlagSet("serve", serveUsage)
	env := func(name, help string) string { return help + " (" + envName(name) + ")" }
	fs.StringVar(&s.config, "config", "", env("config", "settings file (HCL: listen = \"127.0.0.1:8080\")"))
	fs.StringVar(&s.listen, "listen", "127.0.0.1:8080", env("listen", "address to listen on; loopback unless you say otherwise"))
	fs.StringVar(&s.dir, "policy", "./policy", env("policy", "policy directory"))
	fs.StringVar(&s.db, "db", store.DefaultURL, env("db", "database URL: sqlite://PATH or postgres://USER@HOST/DB"))
	fs.StringVar(&s.tlsCert, "tls-cert", "", env("tls-cert", "serve HTTPS with this certificate (PEM; with -tls-key)"))
	fs.StringVar(&s.tlsKey, "tls-key", "", env("tls-key", "the certificate's private key (PEM)"))
	fs.StringVar(&s.logFormat, "log-format", "text", env("log-format", "log format: text or json"))
	fs.StringVar(&s.logLevel, "log-level", "info", env("log-level", "debug, info, warn or error; debug logs every request"))
	fs.BoolVar(&s.noEnforce, "no-enforce", false, env("no-enforce", "record and decide alerts, but change no target"))
	fs.DurationVar(&s.reconcileEvery, "reconcile-interval", 30*time.Second, env("reconcile-interval", "how often to check the targets' quarantine state against the store"))
	fs.DurationVar(&s.shutdownMax, "shutdown-timeout", 2*time.Minute, env("shutdown-timeout", "how long a stop waits for requests and pushes in flight"))
	fs.Int64Var(&s.maxBody, "max-body", 1<<20, env("max-body", "largest request body in bytes (alerts and JSON)"))
	fs.Int64Var(&s.maxImportBody, "max-import-body", 64<<20, env("max-import-body", "largest inventory import in bytes"))
	fs.Float64Var(&s.alertRate, "alert-rate", 50, env("alert-rate", "alert requests a second per sender (token or HMAC source); -1 for no limit"))
	fs.IntVar(&s.alertBurst, "alert-burst", 200, env("alert-burst", "alert requests a sender may send at once"))
	fs.IntVar(&s.applyParallel, "apply-parallel", plan.DefaultParallel, env("apply-parallel", "targets the job queue pushes to at once (applies, quarantines)"))
	fs.DurationVar(&s.uiIdle, "ui-idle-timeout", 30*time.Minute, env("ui-idle-timeout", "a UI session not used for this long ends"))
	fs.DurationVar(&s.uiAbsolute, "ui-session-timeout", 12*time.Hour, env("ui-session-timeout", "a UI session ends this long after sign-in, however used"))
	fs.StringVar(&s.replica, "replica", "", env("replica", "this replica's id among the ward serve processes sharing the database (default HOST-PID-RANDOM)"))
	fs.StringVar(&s.advertise, "advertise", "", env("advertise", "the address other replicas and ward status show for this one (default -listen)"))
	fs.DurationVar(&s.lease, "lease", 3*time.Second, env("lease", "the leader's lease: a leader not heard from for this long is replaced; it renews every quarter of it"))
	fs.DurationVar(&s.driftEvery, "drift-interval", time.Hour, env("drift-interval", "how often the leader has every applied target's running configuration checked against what Ward applied (recorded as drift checks); 0 never"))
	fs.DurationVar(&s.driftRetention, "drift-retention", 400*24*time.Hour, env("drift-retention", "how long recorded drift checks are kept (each target's newest is always kept); longer than any period you report on"))
	fs.StringVar(&s.uiSecureCookie, "ui-secure-cookie", web.SecureCookieAuto, env("ui-secure-cookie",
		"when the UI's session cookie is Secure: auto (when the request came over TLS), always (behind a proxy that terminates TLS) or never"))
	fs.StringVar(&s.uiProxies, "ui-trusted-proxies", "", env("ui-trusted-proxies",
		"comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For names the client (UI sign-in limit and audit, request log); empty: the header is ignored"))
	return fs, s
}

func runServe(c *cli, args []string) int {
	fs, s := serveFlags(c)
	cl := &cmdline{FlagSet: fs, c: c}
	if _, code, ok := cl.parse(args); !ok {
		return code
	}
	defer cl.close()
	if s.config == "" {
		s.config = os.Getenv("WARD_CONFIG")
	}
	if err := applySettings(fs, s.config, "config"); err != nil {
		fmt.Fprintf(c.stderr, "ward serve: %v\n", err)
		return 2
	}
	log, err := newLogger(c, s.logFormat, s.logLevel)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward serve: %v\n", err)
		return 2
	}
	if (s.tlsCert == "") != (s.tlsKey == "") {
		fmt.Fprintln(c.stderr, "ward serve: -tls-cert and -tls-key go together: give both, or neither")
		return 2
	}
	if s.lease < 300*time.Millisecond {
		fmt.Fprintf(c.stderr, "ward serve: -lease %v is too short: give 300ms or more (default 3s)\n", s.lease)
		return 2
	}
	var tlsCfg *tls.Config
	if s.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(s.tlsCert, s.tlsKey)
		if err != nil {
			fmt.Fprintf(c.stderr, "ward serve: loading the TLS certificate: %v\n", err)
			return 1
		}
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}

	ctx, stop := cl.context(), cl.stop // ends on SIGINT or SIGTERM

	cfg, diags := c.loadPolicy(s.dir)
	if diags.HasErrors() {
		c.printDiags(cfg, diags)
		return 1
	}
	// One holder of the policy in force, read by the API, the quarantine
	// manager and the scheduler; a reload swaps it only once the
	// quarantine decision compiles. Targets are dialled as it describes them.
	holder := inforce.New(cfg, func() (*policy.Config, hcl.Diagnostics) { return c.loadPolicy(s.dir) }, nil)
	holder.AddCheck(func(ctx context.Context, cfg *policy.Config) error {
		_, err := quarantine.NewDecider(ctx, cfg)
		return err
	})
	dial := func(ctx context.Context, name string) (drivers.Session, error) {
		return dialer(holder.Load().Config)(ctx, name)
	}
	metrics := api.NewMetrics()
	m, st, ok := c.newManager(ctx, holder, s.db, !s.noEnforce, func(o *quarantine.Options) {
		o.Logger = log
		o.OnPushError = metrics.PushError
		if o.Dial != nil {
			o.Dial = dial
		}
	})
	if !ok {
		return 1
	}
	defer st.Close()
	defer m.Close()
	metrics.WatchSessions(m.Sessions)

	// One owner of each target for this process — applies, quarantine
	// pushes, reconcile — excluding every other Ward process's device I/O
	// to it; pushes — quarantine, release, reconcile, apply — are jobs its
	// queue runs per target, so alert intake never waits on a device, and
	// another replica finishes what this one started if it stops.
	owner := jobs.NewOwner(st, jobs.OwnerOptions{Logger: log})
	queue := jobs.NewQueue(st, owner, jobs.QueueOptions{Logger: log, OnFinish: metrics.JobFinished, Concurrency: s.applyParallel})
	m.Jobs(queue, owner)
	if !s.noEnforce {
		plan.HandleApplyJobs(queue, plan.Pusher{Drivers: newRegistry(), Store: st, Dial: dial})
		plan.HandleDriftJobs(queue, plan.DriftChecker{Drivers: newRegistry(), Store: st, Dial: dial,
			DriverOf: func(target string) (string, bool) {
				d, ok := pushedTargets(holder.Load().Config)[target]
				return d, ok
			},
			OnResult: func(d plan.Drift) {
				metrics.DriftChecked(d)
				if d.Status != store.DriftInSync {
					log.Warn("a target does not run what Ward applied", "target", d.Target, "status", d.Status, "error", d.Error)
				}
			}})
	}

	// Before taking alerts, every replica ends the quarantines whose time
	// ran out while it was down (the store's compare-and-set makes this
	// safe on several at once), so none is re-added; the leader then
	// reconciles the targets at the start of its term.
	expireAtStart(ctx, m, log)
	advertise := s.advertise
	if advertise == "" {
		advertise = s.listen
	}
	elector := cluster.New(st, cluster.Options{Replica: store.Replica{ID: s.replica, Address: advertise, Version: buildVersion()},
		TTL: s.lease, OnChange: metrics.Leadership, Logger: log})
	creds := credentials.FromEnv()
	signer, ok := c.planSigner("serve")
	if !ok {
		return 1
	}
	token := os.Getenv("WARD_ALERT_TOKEN")
	acfg := api.Config{Store: st, Quarantines: m, Policy: holder, PolicyDir: s.dir, Drivers: newRegistry(),
		AlertToken: token, AlertRate: s.alertRate, AlertBurst: s.alertBurst, MaxBody: s.maxBody, MaxImportBody: s.maxImportBody,
		ApplyParallel: s.applyParallel, Jobs: queue, PlanSigner: signer, Owner: owner, Metrics: metrics, Logger: log,
		AlertSecret: func(source string) ([]byte, bool) {
			cr, err := creds.Load("alert-" + source)
			if err != nil || cr.Password == "" {
				return nil, false
			}
			return []byte(cr.Password), true
		}}
	if !s.noEnforce {
		acfg.Dial = dial
	}
	acfg.Cluster = elector
	proxies, err := parseProxies(s.uiProxies)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward serve: -ui-trusted-proxies: %v\n", err)
		return 1
	}
	ui, err := web.New(web.Config{Store: st, Quarantines: m, Policy: holder, IdleTimeout: s.uiIdle, AbsoluteTimeout: s.uiAbsolute, Logger: log,
		SecureCookie: s.uiSecureCookie, TrustedProxies: proxies})
	if err != nil {
		fmt.Fprintf(c.stderr, "ward serve: %v\n", err)
		return 1
	}
	acfg.UI = ui
	acfg.TrustedProxies = proxies
	srv := api.New(acfg)

	ln, err := net.Listen("tcp", s.listen)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward serve: %v\n", err)
		return 1
	}
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsLoopback() && tlsCfg == nil {
		log.Warn("listening beyond this host without TLS: give -tls-cert and -tls-key, or put Ward behind a TLS proxy", "listen", ln.Addr().String())
	}
	httpSrv := &http.Server{Handler: srv, TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: 15 * time.Minute, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}

	var wg sync.WaitGroup
	// The queue stops only after the HTTP server: a request in flight (an
	// apply) waits for jobs this replica may be the one to push.
	qctx, stopQueue := context.WithCancel(context.WithoutCancel(ctx))
	defer stopQueue()
	wg.Go(func() {
		if err := queue.Run(qctx); err != nil {
			log.Error("the job queue stopped", "error", err)
		}
	})
	termStarted := make(chan struct{})
	var startedOnce sync.Once
	wg.Go(func() {
		takePart(ctx, elector, func(lctx context.Context, epoch int64) {
			lead(lctx, leaderWork{m: m, st: st, log: log.With("epoch", epoch), reconcileEvery: s.reconcileEvery, driftRetention: s.driftRetention,
				driftEvery: s.driftEvery, queue: queue, enforce: !s.noEnforce, holder: holder,
				started: func() { startedOnce.Do(func() { close(termStarted) }) }})
		}, log)
	})
	wg.Go(func() { reloadOnHangup(ctx, srv, log) })
	// Before taking requests: a replica that leads from the start (a
	// single node, or the first one up, or the restart of a leader that
	// crashed on this machine) has reconciled the targets, so a restart
	// neither drops nor forgets a quarantine. A follower serves at once:
	// the leader reconciles.
	select {
	case <-elector.FirstAttempt():
	case <-ctx.Done():
	}
	if elector.Status().Leader {
		select {
		case <-termStarted:
		case <-ctx.Done():
		}
	}
	errc := make(chan error, 1)
	scheme := "http"
	go func() {
		if tlsCfg != nil {
			errc <- httpSrv.ServeTLS(ln, "", "")
		} else {
			errc <- httpSrv.Serve(ln)
		}
	}()
	if tlsCfg != nil {
		scheme = "https"
	}
	if token == "" {
		log.Info("WARD_ALERT_TOKEN is not set: alerts need an operator API token or an HMAC signature")
	}
	log.Info("ward serve listening", "address", scheme+"://"+ln.Addr().String(), "enforce", !s.noEnforce, "policy", s.dir)
	fmt.Fprintf(c.stdout, "Listening on %s://%s\n", scheme, ln.Addr())
	fmt.Fprintf(c.stdout, "Compliance UI: %s://%s/ui/ (sign in with an API token: ward token create -role auditor)\n", scheme, ln.Addr())

	code := 0
	select {
	case err := <-errc:
		fmt.Fprintf(c.stderr, "ward serve: %v\n", err)
		code = 1
		stop()
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests and pushes in flight", "timeout", s.shutdownMax)
	sctx, cancel := context.WithTimeout(context.Background(), s.shutdownMax)
	defer cancel()
	if err := httpSrv.Shutdown(sctx); err != nil {
		log.Error("shutdown", "error", err)
		code = 1
	}
	stopQueue()
	wg.Wait() // the queue and the scheduler finish the step they are in
	log.Info("stopped")
	return code
}

// parseProxies reads a comma-separated list of addresses and CIDRs.
func parseProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR (e.g. 10.0.0.5 or 10.0.0.0/24)", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func newLogger(c *cli, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(c.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(c.stderr, opts)), nil
	}
	return nil, fmt.Errorf("-log-format %q: want text or json", format)
}

// takePart runs the election until ctx ends, trying again when Run fails
// (its first record of the replica, refused or cut): serve listens only
// after the election's first attempt, and a replica left out of it would
// never lead — alone, it would never expire or reconcile a quarantine.
func takePart(ctx context.Context, e *cluster.Elector, lead func(context.Context, int64), log *slog.Logger) {
	const retry = time.Second
	for {
		err := e.Run(ctx, lead)
		if err == nil || ctx.Err() != nil {
			return
		}
		log.Error("could not join the leader election; trying again", "error", err, "retry_in", retry)
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
	}
}

// reloadOnHangup reloads the policy on SIGHUP.
func reloadOnHangup(ctx context.Context, srv *api.Server, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		info, diags, err := srv.ReloadPolicy(ctx, "signal:SIGHUP")
		if err != nil {
			log.Error("policy reload refused; the policy in force is unchanged", "error", err, "problems", diags.Error())
			continue
		}
		log.Info("policy reloaded", "hash", info.Hash, "zones", info.Zones, "flows", info.Flows)
	}
}

// expireAtStart ends the quarantines whose expiry passed while Ward was
// down, before the replica takes alerts.
func expireAtStart(ctx context.Context, m *quarantine.Manager, log *slog.Logger) {
	if n, err := m.ExpireDue(ctx); err != nil {
		log.Error("expiring quarantines at start", "error", err)
	} else if n > 0 {
		log.Info("quarantines expired while Ward was down", "count", n)
	}
}

// startup expires, then reconciles, the quarantines: in this order, so
// that a quarantine whose expiry passed while no leader ran is ended in the
// store before reconcile reads the active ones, and is removed from the
// targets rather than added back. The reconcile is one job per target
// (quarantine.ReconcileJobs), waited for up to twice
// quarantine.ReconcileDeadline: a leader killed half-way leaves the rest
// queued for the other replicas' queues.
func startup(ctx context.Context, m *quarantine.Manager, log *slog.Logger) {
	expireAtStart(ctx, m, log)
	wctx, cancel := context.WithTimeout(ctx, 2*quarantine.ReconcileDeadline)
	defer cancel()
	if rep, err := m.ReconcileJobs(wctx); err != nil {
		log.Error("reconciling quarantines with the targets", "error", err)
	} else {
		log.Info("reconciled quarantines with the targets", "active", rep.Active, "added", rep.Added, "removed", rep.Removed, "errors", rep.Errors)
	}
}

// leaderWork is what the leader of the scheduled work runs.
type leaderWork struct {
	m              *quarantine.Manager
	st             *store.Store
	log            *slog.Logger
	reconcileEvery time.Duration
	// driftEvery is how often every applied target's drift is checked
	// (jobs on queue, when enforce), from holder's targets.
	driftEvery     time.Duration
	queue          *jobs.Queue
	enforce        bool
	holder         *inforce.Holder
	driftRetention time.Duration
	// started is called once the term's first expiry and reconcile ran.
	started func()
}

// lead runs the scheduled work for one term of leadership: expiry, then
// a reconcile of every target (a new leader does not trust what the last
// one left), then expiry, reconcile and drift-record retention on their
// schedules, until ctx — the term — ends.
func lead(ctx context.Context, w leaderWork) {
	w.log.Info("leading the scheduled work: expiry, reconcile, drift checks and their retention")
	startup(ctx, w.m, w.log)
	if w.started != nil {
		w.started()
	}
	var wg sync.WaitGroup
	wg.Go(func() { expirer(ctx, w.m, w.log) })
	wg.Go(func() { reconciler(ctx, w.m, w.log, w.reconcileEvery) })
	if w.enforce {
		wg.Go(func() { driftScheduler(ctx, w) })
	}
	wg.Go(func() { driftRetention(ctx, w.st, w.log, w.driftRetention) })
	wg.Wait()
}

// driftScheduler has every target of the policy in force that Ward
// applied to checked for drift, every w.driftEvery (0: never): one job per
// target, which any replica's queue runs under the target's owner and
// records as a drift check. A target is due by its latest recorded check,
// not by this term's clock: terms shorter than the interval (restarts,
// failovers) would otherwise never reach their first tick, and no target
// would ever be checked.
func driftScheduler(ctx context.Context, w leaderWork) {
	if w.driftEvery <= 0 {
		return
	}
	queued := map[string]time.Time{} // by this term, so a target whose check records nothing is not queued at every poll
	enqueue := func() {
		step, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		due, err := dueDriftTargets(step, w, queued)
		if err == nil && len(due) > 0 {
			due, err = plan.EnqueueDriftChecks(step, w.st, w.queue, due)
		}
		if err != nil {
			w.log.Error("queueing the scheduled drift checks; the next poll tries again", "error", err)
			return
		}
		for _, t := range due {
			queued[t] = time.Now()
		}
		if len(due) > 0 {
			w.log.Debug("queued the scheduled drift checks", "targets", due)
		}
	}
	enqueue()
	onTick(ctx, min(w.driftEvery, time.Minute), enqueue)
}

// dueDriftTargets names the pushed targets whose latest drift check is
// older than w.driftEvery (or that have none), leaving out those this term
// queued less than w.driftEvery ago.
func dueDriftTargets(ctx context.Context, w leaderWork, queued map[string]time.Time) ([]string, error) {
	latest, err := w.st.LatestDriftChecks(ctx, time.Time{})
	if err != nil {
		return nil, err
	}
	now := w.st.Now()
	var due []string
	for _, t := range slices.Sorted(maps.Keys(pushedTargets(w.holder.Load().Config))) {
		if c, ok := latest[t]; ok && now.Sub(c.CheckedAt) < w.driftEvery {
			continue
		}
		if at, ok := queued[t]; ok && time.Since(at) < w.driftEvery {
			continue
		}
		due = append(due, t)
	}
	return due, nil
}

// pushedTargets names the targets of cfg Ward connects to (all but those
// with push = false), each with its driver.
func pushedTargets(cfg *policy.Config) map[string]string {
	out := map[string]string{}
	for name, t := range cfg.Targets {
		if !t.RenderOnly {
			out[name] = t.Driver
		}
	}
	return out
}

// onTick calls fn every interval (never when every is 0 or less) until
// ctx ends; a call in progress finishes first.
func onTick(ctx context.Context, every time.Duration, fn func()) {
	if every <= 0 {
		return
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		fn()
	}
}

// driftRetention deletes drift checks older than keep, hourly, keeping
// each target's newest.
func driftRetention(ctx context.Context, st *store.Store, log *slog.Logger, keep time.Duration) {
	if keep <= 0 {
		return
	}
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		if n, err := st.PruneDriftChecks(ctx, st.Now().Add(-keep), 1); err != nil {
			if ctx.Err() == nil {
				log.Error("pruning old drift checks", "error", err)
			}
		} else if n > 0 {
			log.Info("pruned old drift checks", "deleted", n, "older_than", keep)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// expirer ends quarantines on time, checked every 250 ms: a change in the
// store whose pushes are jobs, so no target can hold it up. When ctx is
// done it returns after the step it is in.
func expirer(ctx context.Context, m *quarantine.Manager, log *slog.Logger) {
	onTick(ctx, 250*time.Millisecond, func() {
		step, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if n, err := m.ExpireDue(step); err != nil {
			log.Error("expiring quarantines", "error", err)
		} else if n > 0 {
			log.Info("quarantines expired", "count", n)
		}
	})
}

// reconciler keeps the targets' quarantine state reconciled with the
// store, every interval (0: never after start), apart from expiry: it
// enqueues one reconcile job per target (at most one waits per target),
// which any replica's queue runs under the target's owner, so a target
// slow to answer delays only its own jobs, and a leader that dies leaves
// the jobs to the others.
func reconciler(ctx context.Context, m *quarantine.Manager, log *slog.Logger, every time.Duration) {
	onTick(ctx, every, func() {
		// Cancelled with the term: a replica that lost the leadership
		// enqueues nothing more.
		step, cancel := context.WithTimeout(ctx, quarantine.ReconcileDeadline)
		defer cancel()
		if targets, err := m.EnqueueReconcile(step); err != nil {
			log.Error("queueing the reconcile of the targets' quarantine state; next interval tries again", "error", err)
		} else {
			log.Debug("queued the reconcile of the targets' quarantine state", "targets", targets)
		}
	})
}
