package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// IdleInTransactionTimeout is how long PostgreSQL lets a Ward session sit
// idle inside a transaction before it ends the session (and releases its
// row locks): a stopped replica must not hold claimed jobs for long.
const IdleInTransactionTimeout = 10 * time.Second

// DefaultURL is where Ward keeps its state unless told otherwise.
const DefaultURL = "sqlite://./ward.db"

// Dialect is the database behind a Store.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

//go:embed migrations
var migrations embed.FS

// Store is an open, migrated database.
type Store struct {
	DB *gorm.DB
	// hot is DB with prepared statements cached per connection, for the
	// few queries alert intake runs on every alert (quarantine.go): SQLite
	// spends more time preparing them than running them.
	hot *gorm.DB
	// decisions group-commits this process's quarantine decisions.
	decisions decisionBatcher
	dialect   Dialect
	now       func() time.Time
	host      func() time.Time // WithHostClock
	log       *slog.Logger
	// auditKey keys the audit chain (WithAuditKey); nil writes refuse
	// outside tests (audit.go).
	auditKey *auditKey
}

// Option configures Open.
type Option func(*Store)

// WithClock sets the clock for timestamps. By default it is the database
// server's clock on PostgreSQL (clock.go), so that replicas on several
// hosts agree on time whatever their own clocks say, and this host's
// clock on SQLite.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithHostClock sets this host's clock (default time.Now): the store's
// clock on SQLite; on PostgreSQL only the time passing on it is used, to
// follow the server's clock between readings — so a host whose clock is
// off or stepped still stamps the server's time.
func WithHostClock(now func() time.Time) Option { return func(s *Store) { s.host = now } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// Open connects to the database named by rawURL and migrates it.
func Open(ctx context.Context, rawURL string, opts ...Option) (*Store, error) {
	s := &Store{log: slog.New(slog.DiscardHandler), host: time.Now}
	for _, o := range opts {
		o(s)
	}
	chosen := s.now != nil
	if !chosen {
		s.now = s.host // on PostgreSQL, until the server's clock is read
	}
	gcfg := &gorm.Config{
		Logger:  logger.Discard,
		NowFunc: func() time.Time { return s.Now() },
		// Ward writes its own transactions; gorm's implicit one per
		// statement would only slow bulk imports.
		SkipDefaultTransaction: true,
	}
	var dialector gorm.Dialector
	var unlock func()
	switch {
	case strings.HasPrefix(rawURL, "sqlite://"):
		s.dialect = SQLite
		path := strings.TrimPrefix(rawURL, "sqlite://")
		if path == "" {
			return nil, fmt.Errorf("database URL %q names no file; use sqlite://PATH, such as %s", rawURL, DefaultURL)
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("database %s: %w", rawURL, err)
			}
		}
		var err error
		if unlock, err = lockFile(path + ".lock"); err != nil {
			return nil, fmt.Errorf("database %s: %w", rawURL, err)
		}
		// WAL lets readers work while an import writes; the busy timeout
		// makes a second writer wait instead of failing; immediate
		// transactions take the write lock up front, so two writers never
		// deadlock on an upgrade.
		dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		dialector = sqlite.Open(dsn)
	case strings.HasPrefix(rawURL, "postgres://") || strings.HasPrefix(rawURL, "postgresql://"):
		s.dialect = Postgres
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, fmt.Errorf("database URL: %w", err)
		}
		// A process stopped (SIGSTOP, a frozen VM) inside a transaction
		// keeps it open, and the rows it locked — jobs it claimed — held
		// from every other replica, for as long as it stays stopped: the
		// server ends such a session after this long. Ward's transactions
		// never wait on a device or a person. The URL may set its own.
		q := u.Query()
		if !q.Has("idle_in_transaction_session_timeout") && !strings.Contains(q.Get("options"), "idle_in_transaction_session_timeout") {
			q.Set("idle_in_transaction_session_timeout", strconv.Itoa(int(IdleInTransactionTimeout.Milliseconds())))
			u.RawQuery = q.Encode()
		}
		dialector = postgres.Open(u.String())
	default:
		return nil, fmt.Errorf("database URL %q: use sqlite://PATH or postgres://USER@HOST/DB", redact(rawURL))
	}

	db, err := gorm.Open(dialector, gcfg)
	if err != nil {
		if unlock != nil {
			unlock()
		}
		return nil, fmt.Errorf("open database %s: %w", redact(rawURL), err)
	}
	s.DB = db
	s.hot = db.Session(&gorm.Session{PrepareStmt: true})
	sqlDB, err := db.DB()
	if err == nil && s.dialect == Postgres && !chosen {
		c := &serverClock{db: sqlDB, log: s.log, host: s.host}
		if err = c.read(ctx); err == nil {
			s.now = c.now
		}
	}
	if err == nil && s.dialect == SQLite {
		// One writer at a time is SQLite's model; more connections only
		// queue on the busy timeout.
		sqlDB.SetMaxOpenConns(4)
		// Keep them all open: a connection closed when idle is opened
		// again (pragmas) and re-prepares every statement — a fifth of
		// alert intake's time under load.
		sqlDB.SetMaxIdleConns(4)
	}
	if err == nil {
		err = s.migrate(ctx, sqlDB)
	}
	if unlock != nil {
		unlock()
	}
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("database %s: %w", redact(rawURL), err)
	}
	return s, nil
}

// Dialect reports which database the store uses.
func (s *Store) Dialect() Dialect { return s.dialect }

// Now is the store's clock, in UTC at the microsecond precision both
// databases keep, so that a value read back equals the value written.
func (s *Store) Now() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Close closes the database.
func (s *Store) Close() error {
	sqlDB, err := s.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// migrate applies pending migrations. On PostgreSQL a session advisory lock
// serialises replicas starting together; on SQLite the caller holds a file
// lock beside the database.
func (s *Store) migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations/"+string(s.dialect))
	if err != nil {
		return err
	}
	var popts []goose.ProviderOption
	gooseDialect := goose.DialectSQLite3
	if s.dialect == Postgres {
		gooseDialect = goose.DialectPostgres
		// Retry every second for up to five minutes: replicas starting
		// together wait for the first one's migration, not five seconds.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return err
		}
		popts = append(popts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gooseDialect, db, fsys, popts...)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrating the schema: %w", err)
	}
	for _, r := range results {
		s.log.Info("applied migration", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// lockFile takes an exclusive advisory lock on path, waiting for it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// DatabaseSessions counts the sessions open on this store's PostgreSQL
// database, every client's (pg_stat_activity); 0 on SQLite. For sizing
// max_connections.
func (s *Store) DatabaseSessions(ctx context.Context) (int, error) {
	if s.dialect != Postgres {
		return 0, nil
	}
	var n int
	if err := s.DB.WithContext(ctx).Raw("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()").Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("counting the database's sessions: %w", err)
	}
	return n, nil
}

// redact hides a password in a database URL before it is printed.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// ErrNotFound is returned when a named record does not exist.
var ErrNotFound = errors.New("not found")

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// CheckMigrations returns an error unless every migration this Ward
// carries has been applied to the database.
func (s *Store) CheckMigrations(ctx context.Context) error {
	sqlDB, err := s.DB.DB()
	if err != nil {
		return err
	}
	fsys, err := fs.Sub(migrations, "migrations/"+string(s.dialect))
	if err != nil {
		return err
	}
	gooseDialect := goose.DialectSQLite3
	if s.dialect == Postgres {
		gooseDialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(gooseDialect, sqlDB, fsys)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("reading the schema version: %w", err)
	}
	if pending {
		return errors.New("the database schema is behind this Ward: migrations are pending (restart ward serve to apply them)")
	}
	return nil
}
