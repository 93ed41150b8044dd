package eosfake

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gliderlabs/ssh"
	"github.com/wardnet/ward/drivers/clifake"
	gossh "golang.org/x/crypto/ssh"
)

// Options configure a fake switch. Username with Password and/or
// AuthorizedKeys is required.
type Options struct {
	Hostname       string // default "switch"
	Ports          int    // Ethernet1..EthernetN exist; default 8
	Username       string
	Password       string
	AuthorizedKeys []gossh.PublicKey
	PageLength     int   // lines per page until "terminal length 0"; default 24
	Clock          Clock // for commit timers; default the real clock
	// Listen is host:port to serve on; default 127.0.0.1 on a free port.
	Listen string
	// HostKey is the SSH host key; default a fresh ed25519 key.
	HostKey gossh.Signer

	// Faults.
	//
	// DropAfterConfigLines > 0 cuts the TCP connection, without an answer,
	// once, as soon as that many lines typed in a configuration mode (exit
	// and end included) were accepted, counted over the fake's life (a
	// new connection then works, as after a network outage); a session
	// then stays uncommitted, while configure terminal lines already took
	// effect. StallOn is a command line after which the fake answers
	// nothing more on that connection (it is logged, not run).
	// RefuseCommit, when set, is printed by commit, commit timer and
	// configure session NAME commit, which then change nothing.
	// FailCommands maps a command line to an error text printed instead of
	// running it.
	DropAfterConfigLines int
	StallOn              string
	RefuseCommit         string
	FailCommands         map[string]string
}

// Clock is the time the fake's commit timers run on.
type Clock = clifake.Clock

// ManualClock is a Clock that moves only when told, for tests of commit
// timers.
type ManualClock = clifake.ManualClock

// Fake is a running fake EOS switch.
type Fake struct {
	opts Options
	srv  *clifake.Server

	mu          sync.Mutex
	running     *config
	startup     *config
	sessions    map[string]*session
	pending     *pendingCommit
	log         []string
	configLines int
	rollbacks   int
}

type session struct {
	name string
	cfg  *config
}

// pendingCommit is a session committed with a timer: running holds its
// configuration until it is confirmed, or before comes back.
type pendingCommit struct {
	name   string
	before *config
	stop   func()
}

// Start runs a fake switch (on 127.0.0.1 unless Options.Listen says
// otherwise) until the test ends; t may be a program's clifake.TB.
func Start(t clifake.TB, opts Options) *Fake {
	t.Helper()
	if opts.Hostname == "" {
		opts.Hostname = "switch"
	}
	if opts.Ports == 0 {
		opts.Ports = 8
	}
	if opts.PageLength == 0 {
		opts.PageLength = 24
	}
	if opts.Clock == nil {
		opts.Clock = clifake.RealClock{}
	}
	if opts.Username == "" || (opts.Password == "" && len(opts.AuthorizedKeys) == 0) {
		t.Fatal("eosfake: Options need a Username and a Password or AuthorizedKeys")
	}
	f := &Fake{opts: opts, sessions: map[string]*session{}}
	f.running = newConfig(opts.Hostname, opts.Ports)
	f.startup = f.running.clone()
	f.srv = clifake.StartAt(t, "eosfake", clifake.Endpoint{Listen: opts.Listen, HostKey: opts.HostKey}, clifake.Auth{User: opts.Username, Password: opts.Password, AuthorizedKeys: opts.AuthorizedKeys}, f.handle)
	return f
}

// Addr is host:port to connect to.
func (f *Fake) Addr() string { return f.srv.Addr() }

// Port is the TCP port the fake listens on.
func (f *Fake) Port() int { return f.srv.Port() }

// HostKey is the fake's host key, for a known_hosts line.
func (f *Fake) HostKey() gossh.PublicKey { return f.srv.HostKey() }

// KnownHosts writes a known_hosts file pinning the fake's host key and
// returns its path.
func (f *Fake) KnownHosts(t testing.TB) string {
	t.Helper()
	return f.srv.WriteKnownHosts(t)
}

// Running is the running configuration as show running-config prints it.
func (f *Fake) Running() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running.render()
}

// Startup is the saved configuration (copy running-config startup-config).
func (f *Fake) Startup() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.startup.render()
}

// Log is every command line received, in order, over all connections.
func (f *Fake) Log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

// Rollbacks counts commit timers that ran out and restored the
// configuration from before their commit.
func (f *Fake) Rollbacks() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rollbacks
}

// shell is one interactive CLI connection.
type shell struct {
	f          *Fake
	w          io.Writer
	r          *bufio.Reader
	mode       Mode
	target     string   // the interface, VLAN id or ACL of a sub-mode
	sess       *session // the configure session being edited, nil in configure terminal
	pageLength int
	quit       bool
	afterCR    bool // the last byte read was CR: a LF next ends no line
}

func (f *Fake) handle(s ssh.Session) {
	if !clifake.NeedPTY(s, "eosfake: only interactive shells (with a PTY) are served\r\n") {
		return
	}
	sh := &shell{f: f, w: s, r: bufio.NewReader(s), mode: ModeExec, pageLength: f.opts.PageLength}
	io.WriteString(s, sh.prompt())
	for !sh.quit {
		line, err := sh.readLine()
		if err != nil {
			return
		}
		switch sh.step(line) {
		case stepDrop:
			clifake.Cut(s)
			return
		case stepStall:
			io.Copy(io.Discard, s)
			return
		}
		if !sh.quit {
			io.WriteString(s, sh.prompt())
		}
	}
	s.Exit(0)
}

type stepResult int

const (
	stepOK stepResult = iota
	stepDrop
	stepStall
)

// step runs one command line and prints its output.
func (sh *shell) step(line string) stepResult {
	f := sh.f
	f.mu.Lock()
	cmd := strings.TrimSpace(line)
	if cmd == "" {
		f.mu.Unlock()
		return stepOK
	}
	f.log = append(f.log, cmd)
	if cmd == f.opts.StallOn {
		f.mu.Unlock()
		return stepStall
	}
	inConfig := sh.mode >= ModeConfig
	out, err := "", error(nil)
	if msg, ok := f.opts.FailCommands[cmd]; ok {
		err = errors.New(msg)
	} else {
		out, err = sh.exec(strings.Fields(cmd))
	}
	drop := false
	if err == nil && inConfig {
		f.configLines++
		drop = f.opts.DropAfterConfigLines > 0 && f.configLines == f.opts.DropAfterConfigLines
	}
	f.mu.Unlock()
	if drop {
		return stepDrop
	}
	if err != nil {
		out = err.Error()
	}
	sh.print(out)
	return stepOK
}

// exec runs a tokenised command in the current mode; a global
// configuration command typed in a sub-mode runs at the global level.
func (sh *shell) exec(toks []string) (string, error) {
	r, seq, args, err := match(sh.mode, toks)
	if err == errInvalid && sh.mode > ModeConfig {
		if r2, seq2, args2, err2 := match(ModeConfig, toks); err2 != errInvalid {
			saved := sh.mode
			sh.mode = ModeConfig
			if err2 != nil {
				sh.mode = saved
				return "", err2
			}
			out, err := r2.run(sh, seq2, args2)
			if err != nil {
				sh.mode = saved
			}
			return out, err
		}
	}
	if err != nil {
		return "", err
	}
	return r.run(sh, seq, args)
}

// cfg is the configuration commands change: the session's, or running.
func (sh *shell) cfg() *config {
	if sh.sess != nil {
		return sh.sess.cfg
	}
	return sh.f.running
}

func (sh *shell) noArgs(a []string, do func()) error {
	if len(a) > 0 {
		return errInvalid
	}
	do()
	return nil
}

func (sh *shell) onEthernet() bool { return strings.HasPrefix(sh.target, "Ethernet") }

func (sh *shell) enterConfig() { sh.mode, sh.target, sh.sess = ModeConfig, "", nil }

func (sh *shell) exit() {
	if sh.mode == ModeConfig {
		sh.end()
		return
	}
	sh.mode, sh.target = ModeConfig, ""
}

// end leaves configuration; a session stays pending, uncommitted.
func (sh *shell) end() { sh.mode, sh.target, sh.sess = ModePriv, "", nil }

// commit copies the session into running (EOS: overwriting any change
// made since the session began) and leaves configuration. With a timer,
// the previous running configuration comes back when the timer runs out
// unless configure session NAME commit confirms it first.
func (sh *shell) commit(timer time.Duration) error {
	f := sh.f
	if sh.sess == nil {
		return errInvalid
	}
	if f.opts.RefuseCommit != "" {
		return errors.New(f.opts.RefuseCommit)
	}
	s := sh.sess
	before := f.running
	if p := f.pending; p != nil && p.name == s.name {
		// The confirming commit of a session under a commit timer; with
		// a timer again, the rollback still goes back to before the first.
		p.stop()
		f.pending = nil
		before = p.before
	}
	f.running = s.cfg.clone()
	delete(f.sessions, s.name)
	sh.end()
	if timer > 0 {
		p := &pendingCommit{name: s.name, before: before}
		p.stop = f.opts.Clock.AfterFunc(timer, func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.pending == p {
				f.running, f.pending = p.before, nil
				f.rollbacks++
			}
		})
		f.pending = p
	}
	return nil
}

// abort discards the session being edited; in a session whose commit
// timer runs, it also rolls the commit back, as configure session NAME
// abort does.
func (sh *shell) abort() error {
	if sh.sess == nil {
		return errInvalid
	}
	name := sh.sess.name
	sh.end()
	return sh.f.abortSession(name)
}

func (f *Fake) confirmSession(name string) error {
	if p := f.pending; p != nil && p.name == name {
		p.stop()
		f.pending = nil
		return nil
	}
	if s := f.sessions[name]; s != nil {
		if f.opts.RefuseCommit != "" {
			return errors.New(f.opts.RefuseCommit)
		}
		f.running = s.cfg.clone()
		delete(f.sessions, name)
		return nil
	}
	return fmt.Errorf("%% Error: no configuration session named %s", name)
}

func (f *Fake) abortSession(name string) error {
	if p := f.pending; p != nil && p.name == name {
		p.stop()
		f.running, f.pending = p.before, nil
		return nil
	}
	if _, ok := f.sessions[name]; ok {
		delete(f.sessions, name)
		return nil
	}
	return fmt.Errorf("%% Error: no configuration session named %s", name)
}

// prompt is the mode's prompt, as in the EOS manual's examples:
// switch>, switch#, switch(config)#, switch(config-if-Et5)#,
// switch(config-acl-NAME)#, and in a session switch(config-s-NAME)#,
// switch(config-s-NAME-if-Et5)# (the session's sub-modes as shown in
// https://ngworx.ag/en/blog/arista-eos-config-sessions/ and
// https://github.com/ansible-collections/arista.eos/issues/476).
func (sh *shell) prompt() string {
	h := sh.f.opts.Hostname
	switch sh.mode {
	case ModeExec:
		return h + ">"
	case ModePriv:
		return h + "#"
	}
	ctx := "config"
	if sh.sess != nil {
		ctx += "-s-" + sh.sess.name
	}
	switch sh.mode {
	case ModeIf:
		ctx += "-if-" + shortIntf(sh.target)
	case ModeVlan:
		ctx += "-vlan-" + sh.target
	case ModeACL:
		ctx += "-acl-" + sh.target
	}
	return h + "(" + ctx + ")#"
}

// shortIntf is the short name EOS shows in prompts: Et5, Vl210.
func shortIntf(name string) string {
	if n, ok := strings.CutPrefix(name, "Ethernet"); ok {
		return "Et" + n
	}
	if n, ok := strings.CutPrefix(name, "Vlan"); ok {
		return "Vl" + n
	}
	return name
}

// readLine reads one line, echoing it as a terminal in cooked mode would
// (the client's PTY does not echo: the device does).
func (sh *shell) readLine() (string, error) {
	var b []byte
	for {
		c, err := sh.r.ReadByte()
		if err != nil {
			return "", err
		}
		afterCR := sh.afterCR
		sh.afterCR = c == '\r'
		switch c {
		case '\r', '\n':
			if c == '\n' && afterCR {
				continue // the second half of a CR LF line end
			}
			io.WriteString(sh.w, "\r\n")
			return string(b), nil
		case 0x7f, 0x08:
			if len(b) > 0 {
				b = b[:len(b)-1]
				io.WriteString(sh.w, "\b \b")
			}
		default:
			if c >= 0x20 {
				b = append(b, c)
				sh.w.Write([]byte{c})
			}
		}
	}
}

// morePrompt is EOS's pager prompt while terminal length is not 0.
const morePrompt = " --More-- "

// print writes a command's output, a page at a time while paging is on:
// space shows the next page, Enter one more line, q ends the output.
func (sh *shell) print(out string) {
	if out == "" {
		return
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	page := sh.pageLength - 1
	shown := 0
	for i, l := range lines {
		if page > 0 && shown == page && i < len(lines) {
			io.WriteString(sh.w, morePrompt)
			c, err := sh.r.ReadByte()
			io.WriteString(sh.w, "\r"+strings.Repeat(" ", len(morePrompt))+"\r")
			if err != nil || c == 'q' || c == 'Q' {
				return
			}
			if c == ' ' {
				shown = 0
			} else {
				shown = page - 1
			}
		}
		io.WriteString(sh.w, l+"\r\n")
		shown++
	}
}
