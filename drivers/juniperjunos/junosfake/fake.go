package junosfake

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers/clifake"
	gossh "golang.org/x/crypto/ssh"
)

// Clock is the time the fake schedules confirmed-commit rollbacks by.
// Tests use ManualClock to pass the deadline without waiting.
type Clock = clifake.Clock

// ManualClock is a Clock that moves only when Advance is called.
type ManualClock = clifake.ManualClock

// NewManualClock returns a ManualClock that starts at start.
func NewManualClock(start time.Time) *ManualClock { return clifake.NewManualClock(start) }

// Options configure a fake device.
type Options struct {
	User     string // login name; default "ward"
	Password string // accepted password; empty: password login refused
	// AuthorizedKeys may log in as User; with neither Password nor keys,
	// Start fails the test.
	AuthorizedKeys []gossh.PublicKey
	Hostname       string // prompt host; default "ex-access-1"
	// Master, e.g. "master:0", is the Virtual Chassis member role an EX
	// shows in braces before its prompt ("{master:0}" over user@host>,
	// "{master:0}[edit]" over user@host#); empty for none.
	Master string
	// Version, e.g. "21.4R3-S5.4", adds the version statement every real
	// device's configuration starts with ("set version 21.4R3-S5.4");
	// empty for none.
	Version string
	// Running is the initial committed configuration, as set commands
	// (`show configuration | display set`); each must be accepted by the grammar.
	Running []string
	// ScreenLength is the pager's page height until the session sets
	// `set cli screen-length`; default 24.
	ScreenLength int
	Clock        Clock // default: the real clock
	// Listen is host:port to serve on; default 127.0.0.1 on a free port.
	Listen string
	// HostKey is the SSH host key; default a fresh ed25519 key.
	HostKey gossh.Signer

	// Faults.
	// DropAfterConfigLines > 0: the connection is cut when configuration
	// line number DropAfterConfigLines+1 (a set/delete, typed or loaded)
	// arrives: the first N are applied, that one is not.
	DropAfterConfigLines int
	// StallOn: when a line equal to it arrives, it is logged and the
	// session stops answering (the connection stays open).
	StallOn string
	// CommitError: every commit (check, confirmed, plain) fails with
	// "error: <CommitError>" and "error: configuration check-out failed",
	// leaving the running configuration untouched.
	CommitError string
	// FailCommands: a line equal to a key is answered with the value
	// (the OS's error text) instead of being run.
	FailCommands map[string]string
}

// Fake is a running fake Junos device.
type Fake struct {
	opts  Options
	srv   *clifake.Server
	clock Clock

	mu         sync.Mutex
	log        []string
	running    *node
	history    []*node // history[0] is the running configuration, as rollback numbers them
	candidate  *node   // the shared candidate; nil until a session changes it
	configLine int
	pending    *pendingConfirm
	sessions   int      // logins so far, for the terminal names the CLI shows
	lock       *session // the configure exclusive holder
	lastAt     time.Time
	lastBy     string
}

type pendingConfirm struct {
	deadline time.Time
	stop     func()
	previous *node
}

// Start runs a fake (on 127.0.0.1 unless Options.Listen says otherwise)
// until the test ends; t may be a program's clifake.TB.
func Start(t clifake.TB, opts Options) *Fake {
	t.Helper()
	if opts.User == "" {
		opts.User = "ward"
	}
	if opts.Hostname == "" {
		opts.Hostname = "ex-access-1"
	}
	if opts.ScreenLength == 0 {
		opts.ScreenLength = 24
	}
	if opts.Password == "" && len(opts.AuthorizedKeys) == 0 {
		t.Fatal("junosfake: Options need a Password or AuthorizedKeys, or nobody can log in")
	}
	f := &Fake{opts: opts, clock: opts.Clock, running: &node{}}
	if f.clock == nil {
		f.clock = clifake.RealClock{}
	}
	for _, line := range opts.Running {
		toks := tokenize(line)
		if len(toks) < 2 || toks[0].text != "set" {
			t.Fatalf("junosfake: initial configuration line %q is not a set command", line)
		}
		leaves, err := matchStatement(statementPats, toks[1:])
		if err != nil {
			t.Fatalf("junosfake: initial configuration line %q: %s", line, err.Message)
		}
		for _, l := range leaves {
			f.running.set(l)
		}
	}
	f.history = []*node{f.running.clone()}
	f.lastAt, f.lastBy = f.clock.Now(), "root"

	f.srv = clifake.StartAt(t, "junosfake", clifake.Endpoint{Listen: opts.Listen, HostKey: opts.HostKey}, clifake.Auth{User: opts.User, Password: opts.Password, AuthorizedKeys: opts.AuthorizedKeys}, f.handle)
	t.Cleanup(func() {
		f.srv.Close()
		f.mu.Lock()
		if f.pending != nil {
			f.pending.stop()
		}
		f.mu.Unlock()
	})
	return f
}

// Addr is host:port of the SSH server.
func (f *Fake) Addr() string { return f.srv.Addr() }

// HostKey is the server's host key, to pin in known_hosts.
func (f *Fake) HostKey() gossh.PublicKey { return f.srv.HostKey() }

// KnownHosts writes a known_hosts file pinning HostKey for Addr and
// returns its path.
func (f *Fake) KnownHosts(t testing.TB) string {
	t.Helper()
	return f.srv.WriteKnownHosts(t)
}

// Running is the committed configuration as `show configuration | display
// set` prints it, one set command a line.
func (f *Fake) Running() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.displaySetLocked(f.running), "\n")
}

// displaySetLocked and showLocked print a configuration with the version
// statement first, as the device does.
func (f *Fake) displaySetLocked(n *node) []string {
	out := n.setLines()
	if f.opts.Version != "" {
		out = append([]string{"set version " + f.opts.Version}, out...)
	}
	return out
}

func (f *Fake) showLocked(n *node) []string {
	out := n.text(0)
	if f.opts.Version != "" {
		out = append([]string{"version " + f.opts.Version + ";"}, out...)
	}
	return out
}

// RunningText is the committed configuration as `show configuration`
// prints it (braces).
func (f *Fake) RunningText() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.showLocked(f.running), "\n")
}

// Log is every line received, in order, from every session.
func (f *Fake) Log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

// ConfirmPending reports whether a commit confirmed waits for its confirming commit.
func (f *Fake) ConfirmPending() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pending != nil
}

// RefuseCommits makes every later commit fail with reason (empty: commits work again).
func (f *Fake) RefuseCommits(reason string) {
	f.mu.Lock()
	f.opts.CommitError = reason
	f.mu.Unlock()
}

// FailCommand answers line with output (the OS's error text) from now on.
func (f *Fake) FailCommand(line, output string) {
	f.mu.Lock()
	if f.opts.FailCommands == nil {
		f.opts.FailCommands = map[string]string{}
	}
	f.opts.FailCommands[line] = output
	f.mu.Unlock()
}

// StallOn makes the session stop answering when line arrives.
func (f *Fake) StallOn(line string) {
	f.mu.Lock()
	f.opts.StallOn = line
	f.mu.Unlock()
}

// DropAfterConfigLines cuts the connection when configuration line n+1
// arrives (counted from now).
func (f *Fake) DropAfterConfigLines(n int) {
	f.mu.Lock()
	f.opts.DropAfterConfigLines = n
	f.configLine = 0
	f.mu.Unlock()
}

var (
	operationalPats   = compile(OperationalCommands)
	configurationPats = compile(ConfigurationCommands)
	statementPats     = compile(Statements)
)

// commitLocked makes cfg the running configuration and the newest rollback.
func (f *Fake) commitLocked(cfg *node, by string) {
	f.lastAt, f.lastBy = f.clock.Now(), by
	f.running = cfg.clone()
	f.history = append([]*node{f.running.clone()}, f.history...)
	if len(f.history) > 50 {
		f.history = f.history[:50]
	}
}

// confirmDeadline fires when a commit confirmed was not confirmed in time:
// the previous configuration is loaded and committed (docConfirmed).
func (f *Fake) confirmDeadline(p *pendingConfirm) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pending != p {
		return
	}
	f.pending = nil
	f.commitLocked(p.previous, "root")
	f.candidate = nil
}
