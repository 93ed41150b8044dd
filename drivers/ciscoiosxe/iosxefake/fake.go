package iosxefake

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gssh "github.com/gliderlabs/ssh"
	"github.com/wardnet/ward/drivers/clifake"
	"golang.org/x/crypto/ssh"
)

// Options configure a fake switch. The zero value is a Catalyst with 48
// ports, hostname Switch, user "ward" with password "ward" and enable
// secret "enable".
type Options struct {
	Hostname       string
	Username       string
	Password       string          // "" with AuthorizedKeys set: public-key only
	AuthorizedKeys []ssh.PublicKey // keys accepted for Username
	EnableSecret   string          // "" and NoEnableSecret: enable fails with "% No password set"
	NoEnableSecret bool
	// Privileged logs users in at privilege 15 (prompt Switch#), as a
	// local user with privilege 15 would be.
	Privileged bool
	// Ports are the physical interfaces; default GigabitEthernet1/0/1-48.
	Ports []string
	// Config is applied through the grammar in configuration mode before
	// the server starts; a rejected line fails the test.
	Config []string
	// Minute is how long one minute of a revert timer lasts, so a test can
	// watch an unconfirmed change roll back; default time.Minute.
	Minute time.Duration

	// Listen is host:port to serve on; default 127.0.0.1 on a free port.
	Listen string
	// HostKey is the SSH host key; default a fresh ed25519 key.
	HostKey ssh.Signer

	// Faults (also settable later with the methods of the same names).
	DropAfterConfigLines int               // close the connection once this many configuration-mode lines were run
	StallAfter           string            // after running this command line, stop answering
	FailCommands         map[string]string // command line -> output printed instead of running it
}

// Fake is a running fake IOS-XE switch.
type Fake struct {
	opts Options
	srv  *clifake.Server

	mu       sync.Mutex
	cfg      *config
	startup  *config
	files    map[string]*config // flash: files written by archive config
	archives []string           // archive file names, oldest first
	archSeq  int
	revert   *pendingRevert
	log      []string
	cfgLines int
	dropN    int
	stall    string
	fail     map[string]string
	closed   bool

	rules []Rule
	progs []program // rules compiled, same order
}

type pendingRevert struct {
	point   *config
	timer   *time.Timer
	minutes int
	started time.Time
	user    string
}

// Start runs a fake switch (on 127.0.0.1 unless Options.Listen says
// otherwise) until the test ends; t may be a program's clifake.TB.
func Start(t clifake.TB, opts Options) *Fake {
	t.Helper()
	if opts.Hostname == "" {
		opts.Hostname = "Switch"
	}
	if opts.Username == "" {
		opts.Username = "ward"
	}
	if opts.Password == "" && len(opts.AuthorizedKeys) == 0 {
		opts.Password = "ward"
	}
	if opts.EnableSecret == "" && !opts.NoEnableSecret {
		opts.EnableSecret = "enable"
	}
	if opts.Ports == nil {
		for i := 1; i <= 48; i++ {
			opts.Ports = append(opts.Ports, fmt.Sprintf("GigabitEthernet1/0/%d", i))
		}
	}
	if opts.Minute == 0 {
		opts.Minute = time.Minute
	}
	f := &Fake{
		opts:  opts,
		cfg:   newConfig(opts.Hostname, opts.Ports),
		files: map[string]*config{},
		dropN: opts.DropAfterConfigLines,
		stall: opts.StallAfter,
		fail:  map[string]string{},
	}
	f.rules = buildRules()
	for _, r := range f.rules {
		f.progs = append(f.progs, compilePattern(r.Pattern))
	}
	for k, v := range opts.FailCommands {
		f.fail[k] = v
	}
	f.startup = f.cfg.clone()
	if err := f.applyInitial(opts.Config); err != nil {
		t.Fatalf("iosxefake: initial configuration: %v", err)
	}

	f.srv = clifake.StartAt(t, "iosxefake", clifake.Endpoint{Listen: opts.Listen, HostKey: opts.HostKey}, clifake.Auth{User: opts.Username, Password: opts.Password, AuthorizedKeys: opts.AuthorizedKeys}, f.handle)
	t.Cleanup(f.Close)
	return f
}

// Close stops the server, cuts every session and stops a revert timer.
func (f *Fake) Close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	if f.revert != nil {
		f.revert.timer.Stop()
	}
	f.mu.Unlock()
	f.srv.Close()
}

// Addr is host:port of the SSH server.
func (f *Fake) Addr() string { return f.srv.Addr() }

// Host and Port split Addr.
func (f *Fake) Host() string { return f.srv.Host() }

// Port is the TCP port of the SSH server.
func (f *Fake) Port() int { return f.srv.Port() }

// HostKey is the server's host key, for a known_hosts entry.
func (f *Fake) HostKey() ssh.PublicKey { return f.srv.HostKey() }

// KnownHostsLine is the known_hosts line pinning the host key to Addr.
func (f *Fake) KnownHostsLine() string { return f.srv.KnownHostsLine() }

// WriteKnownHosts writes a known_hosts file holding KnownHostsLine into a
// test temporary directory and returns its path.
func (f *Fake) WriteKnownHosts(t testing.TB) string {
	t.Helper()
	return f.srv.WriteKnownHosts(t)
}

// Running is the running configuration as show running-config prints it.
func (f *Fake) Running() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.showRunning()
}

// Startup is the startup configuration (saved by write memory).
func (f *Fake) Startup() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.showStartup()
}

// Log is every command line received, in order, from every session;
// empty lines and passwords typed at the enable prompt are left out.
func (f *Fake) Log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

// RevertPending reports whether a revert timer is running.
func (f *Fake) RevertPending() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.revert != nil
}

// DropAfterConfigLines makes the fake close the connection once n more
// configuration-mode lines have been run (0 turns the fault off).
func (f *Fake) DropAfterConfigLines(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropN, f.cfgLines = n, 0
}

// StallAfter makes the fake stop answering once it has run the command
// line cmd ("" turns the fault off).
func (f *Fake) StallAfter(cmd string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stall = cmd
}

// FailCommand makes the command line cmd print output instead of running
// ("" output removes the fault). Use the OS's own texts, e.g. InvalidInput.
func (f *Fake) FailCommand(cmd, output string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if output == "" {
		delete(f.fail, cmd)
	} else {
		f.fail[cmd] = output
	}
}

// Error texts IOS prints, from the CLI guide's table of CLI error messages.
const (
	InvalidInput      = "% Invalid input detected at '^' marker."
	IncompleteCommand = "% Incomplete command."
	AmbiguousCommand  = "% Ambiguous command:  " // followed by the line, quoted
)

func (f *Fake) showRunning() string {
	body := f.cfg.render()
	return fmt.Sprintf("Building configuration...\n\nCurrent configuration : %d bytes\n%s", len(body), body)
}

func (f *Fake) showStartup() string {
	body := f.startup.render()
	return fmt.Sprintf("Using %d out of 2097152 bytes\n%s", len(body), body)
}

func (f *Fake) groupInUse(name string) bool {
	for _, a := range f.cfg.acls {
		for _, e := range a.entries {
			if strings.Contains(" "+e.text+" ", " object-group "+name+" ") {
				return true
			}
		}
	}
	return false
}

// applyInitial runs the initial configuration lines through the grammar.
func (f *Fake) applyInitial(lines []string) error {
	s := &session{f: f, mode: ModeConfig, length: 0}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range lines {
		out := s.run(l)
		if strings.Contains(out, "% ") {
			return fmt.Errorf("line %q rejected:\n%s", l, out)
		}
	}
	return nil
}

// session is one interactive CLI session.
type session struct {
	f          *Fake
	rw         io.ReadWriter
	in         *bufio.Reader
	user       string
	mode       Mode
	iface      string
	acl        string
	group      string
	vlan       int
	length     int // terminal length: 0 = no paging
	width      int
	line       string   // the line being run, as typed
	toks       []string // its words
	offs       []int    // where each word starts in line
	promptLen  int      // length of the prompt the line was typed after
	closing    bool
	wantEnable bool
	ask        *question // a question the last command asks before it completes
}

// question is an interactive prompt such as copy's destination filename.
type question struct {
	prompt string
	answer func(s *session, answer string) string // called holding f.mu
}

func (f *Fake) handle(gs gssh.Session) {
	if !clifake.NeedPTY(gs, "% This fake only serves interactive shells (request a pty)\n") {
		return
	}
	s := &session{f: f, rw: gs, in: bufio.NewReader(gs), user: gs.User(), length: 24, width: 80}
	if f.opts.Privileged {
		s.mode = ModePrivExec
	}
	s.loop()
}

func (s *session) write(text string) {
	io.WriteString(s.rw, strings.ReplaceAll(text, "\n", "\r\n"))
}

func (s *session) prompt() string {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	return s.f.cfg.hostname + s.mode.Prompt()
}

func (s *session) loop() {
	s.write("\n")
	for !s.closing {
		p := s.prompt()
		s.write(p)
		line, ctrlZ, err := s.readLine(true)
		if err != nil {
			return
		}
		if ctrlZ {
			line = "end"
		}
		s.promptLen = len(p)
		if strings.TrimSpace(line) == "" {
			continue // a bare return (clients send them to find the prompt) only redraws the prompt
		}
		s.f.mu.Lock()
		s.f.log = append(s.f.log, line)
		configLine := s.mode.configuring()
		if fail, ok := s.f.fail[strings.TrimSpace(line)]; ok {
			s.f.mu.Unlock()
			s.write(strings.TrimSuffix(fail, "\n") + "\n")
			continue
		}
		out := s.run(line)
		stall := s.f.stall != "" && strings.TrimSpace(line) == s.f.stall
		drop := false
		if configLine {
			s.f.cfgLines++
			drop = s.f.dropN > 0 && s.f.cfgLines >= s.f.dropN
		}
		s.f.mu.Unlock()
		if drop {
			if c, ok := s.rw.(interface{ Close() error }); ok {
				c.Close()
			}
			return
		}
		if stall {
			io.Copy(io.Discard, s.in) // read and never answer, until the client gives up
			return
		}
		if s.wantEnable {
			s.wantEnable = false
			s.enable()
			continue
		}
		s.page(out)
		if q := s.ask; q != nil {
			s.ask = nil
			s.write(q.prompt)
			a, _, err := s.readLine(true)
			if err != nil {
				return
			}
			s.f.mu.Lock()
			if strings.TrimSpace(a) != "" {
				s.f.log = append(s.f.log, a)
			}
			out := q.answer(s, a)
			s.f.mu.Unlock()
			s.page(out)
		}
	}
}

// skipLF drops the \n of a \r\n already received; it never waits for
// one, since a terminal may end lines with \r alone.
func (s *session) skipLF() {
	if s.in.Buffered() > 0 {
		if b, _ := s.in.Peek(1); len(b) == 1 && b[0] == '\n' {
			s.in.ReadByte()
		}
	}
}

// readLine reads one line, echoing it as the terminal shows it (IOS echoes
// input itself; nothing when echo is false, as at the password prompt).
// Ctrl-Z ends the line and reports it, as IOS takes it for end.
func (s *session) readLine(echo bool) (string, bool, error) {
	var b []byte
	for {
		c, err := s.in.ReadByte()
		if err != nil {
			return "", false, err
		}
		switch c {
		case '\r', '\n':
			if c == '\r' {
				s.skipLF()
			}
			s.write("\n")
			return string(b), false, nil
		case 0x1a:
			if echo {
				s.write("^Z\n")
			}
			return string(b), true, nil
		case 0x7f, 0x08:
			if len(b) > 0 {
				b = b[:len(b)-1]
				if echo {
					s.write("\b \b")
				}
			}
		default:
			if c >= 0x20 && c < 0x7f {
				b = append(b, c)
				if echo {
					s.rw.Write([]byte{c})
				}
			}
		}
	}
}

// enable asks for the enable secret, three times at most, as IOS does.
func (s *session) enable() {
	if s.f.opts.EnableSecret == "" {
		s.write("% No password set\n")
		return
	}
	for i := 0; i < 3; i++ {
		s.write("Password: ")
		pw, _, err := s.readLine(false)
		if err != nil {
			return
		}
		if pw == s.f.opts.EnableSecret {
			s.mode = ModePrivExec
			return
		}
	}
	s.write("% Bad secrets\n\n")
}

// page writes output, stopping every terminal-length lines at --More--
// until the session sets terminal length 0: space shows the next page,
// return the next line, anything else ends the output.
func (s *session) page(out string) {
	if out == "" {
		return
	}
	lines := strings.SplitAfter(strings.TrimSuffix(out, "\n"), "\n")
	if s.length == 0 || len(lines) < s.length {
		s.write(out)
		if !strings.HasSuffix(out, "\n") {
			s.write("\n")
		}
		return
	}
	room := s.length - 1
	for len(lines) > 0 {
		n := min(room, len(lines))
		s.write(strings.Join(lines[:n], ""))
		lines = lines[n:]
		if len(lines) == 0 {
			break
		}
		s.write(" --More-- ")
		c, err := s.in.ReadByte()
		s.write("\b\b\b\b\b\b\b\b\b\b          \b\b\b\b\b\b\b\b\b\b")
		if err != nil {
			return
		}
		switch c {
		case ' ':
			room = s.length - 1
		case '\r', '\n':
			if c == '\r' {
				s.skipLF()
			}
			room = 1
		default:
			s.write("\n")
			return
		}
	}
	s.write("\n")
}

// run parses and runs one line in the session's mode and returns what the
// device prints. The caller holds f.mu.
func (s *session) run(line string) string {
	toks, offs := fields(line)
	if len(toks) == 0 {
		return ""
	}
	s.toks, s.offs, s.line = toks, offs, line
	if !s.contextExists() {
		// What this sub-mode configures is gone (a revert timer or a
		// replace in force meanwhile): carry on from global configuration.
		s.mode = ModeConfig
	}
	idx, args, fail := s.match(s.mode, toks)
	if fail.kind != failNone && s.mode > ModeConfig {
		// A command of global configuration typed in a sub-mode runs
		// there and leaves the sub-mode, as the CLI guide describes.
		if gi, gargs, gfail := s.match(ModeConfig, toks); gfail.kind == failNone {
			s.mode = ModeConfig
			idx, args, fail = gi, gargs, gfail
		} else if gfail.kind == failInvalid && gfail.token > fail.token {
			fail = gfail
		}
	}
	switch fail.kind {
	case failInvalid:
		return invalidAt(s, fail.token)
	case failIncomplete:
		return IncompleteCommand + "\n\n"
	case failAmbiguous:
		return AmbiguousCommand + `"` + strings.TrimSpace(line) + `"` + "\n"
	}
	return s.f.rules[idx].apply(s, args)
}

// contextExists reports whether the interface, ACL or object group the
// session's sub-mode configures is still in the configuration.
func (s *session) contextExists() bool {
	switch s.mode {
	case ModeInterface:
		return s.f.cfg.ifaces[s.iface] != nil
	case ModeExtACL:
		return s.f.cfg.acl(s.acl) != nil
	case ModeNetworkGroup:
		return s.f.cfg.group(s.group) != nil
	case ModeVLAN:
		_, ok := s.f.cfg.vlans[s.vlan]
		return ok || defaultVLAN(s.vlan)
	}
	return true
}

// caret is the line with a caret under token i of the line being run,
// aligned with where it was typed after the prompt.
func (s *session) caret(i int) string {
	col := s.promptLen + len(s.line)
	if i < len(s.toks) {
		col = s.promptLen + s.offs[i]
	}
	return strings.Repeat(" ", col) + "^\n"
}

// fields splits a line into words and the offset of each in the line.
func fields(line string) ([]string, []int) {
	var toks []string
	var offs []int
	for i := 0; i < len(line); {
		if line[i] == ' ' || line[i] == '\t' {
			i++
			continue
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		toks, offs = append(toks, line[i:j]), append(offs, i)
		i = j
	}
	return toks, offs
}

// match runs the rules of mode m over the tokens.
func (s *session) match(m Mode, toks []string) (int, []string, failure) {
	var progs []program
	var index []int
	for i := range s.f.rules {
		r := &s.f.rules[i]
		if r.Mode != m || (r.when != nil && !r.when(s)) {
			continue
		}
		progs = append(progs, s.f.progs[i])
		index = append(index, i)
	}
	k, args, fail := matchRules(progs, toks)
	if fail.kind != failNone {
		return -1, nil, fail
	}
	return index[k], args, fail
}

// runDo runs an EXEC command from a configuration mode ("do show ..."),
// with a caret still aligned under what was typed.
func (s *session) runDo(string) string {
	saved, savedLine, savedPrompt := s.mode, s.line, s.promptLen
	s.mode = ModePrivExec
	s.promptLen += s.offs[1]
	out := s.run(s.line[s.offs[1]:])
	if s.mode == ModePrivExec {
		s.mode = saved
	}
	s.promptLen = savedPrompt
	s.toks, s.offs = fields(savedLine)
	s.line = savedLine
	return out
}

// configureRevertTimer enters configuration mode with a rollback point:
// unless configure confirm comes within the given minutes, the running
// configuration returns to what it is now. It needs the archive feature.
func (s *session) configureRevertTimer(a []string) string {
	if s.f.cfg.archivePath == "" {
		return noArchive
	}
	minutes, _ := strconv.Atoi(a[4])
	s.startRevert(s.f.cfg.clone(), minutes)
	s.mode = ModeConfig
	return "Enter configuration commands, one per line.  End with CNTL/Z.\n"
}

// noArchive is what IOS answers a rollback-confirmed change when the
// archive feature is off (NAPALM's IOS driver matches it).
const noArchive = "%Please turn config archive on\n"

// noPending is the answer when no rollback-confirmed change is pending.
const noPending = "%No Rollback Confirmed Change pending\n"

// startRevert arms (or re-arms, keeping the first rollback point) the
// timer that puts point back in force after minutes.
func (s *session) startRevert(point *config, minutes int) {
	f := s.f
	if f.revert != nil {
		f.revert.timer.Stop()
	} else {
		f.revert = &pendingRevert{point: point}
	}
	r := f.revert
	r.minutes, r.started, r.user = minutes, time.Now(), s.user
	r.timer = time.AfterFunc(time.Duration(minutes)*f.opts.Minute, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.revert == r && !f.closed {
			f.cfg = r.point
			f.revert = nil
		}
	})
}

func (s *session) configureConfirm([]string) string {
	r := s.f.revert
	if r == nil {
		return noPending
	}
	r.timer.Stop()
	s.f.revert = nil
	return ""
}

func (s *session) configureRevertNow([]string) string {
	r := s.f.revert
	if r == nil {
		return noPending
	}
	r.timer.Stop()
	s.f.cfg = r.point
	s.f.revert = nil
	return ""
}

func (s *session) showRollbackTimer([]string) string {
	r := s.f.revert
	if r == nil {
		return noPending
	}
	return fmt.Sprintf("Time configured: %s\nTimer value: %d min\nUser: %s\n",
		r.started.UTC().Format("15:04:05 MST Mon Jan 2 2006"), r.minutes, r.user)
}

// configureReplace replaces the running configuration with a file the fake
// wrote (archive config): the passes count 1 when anything changed. With
// time N or revert trigger ... timer N it first backs the running
// configuration up to the archive and arms the revert timer, as the
// Rollback Confirmed Change guide describes.
func (s *session) configureReplace(a []string) string {
	url := a[2]
	target := s.f.files[url]
	if target == nil {
		return fmt.Sprintf("%%Error opening %s (No such file or directory)\n", url)
	}
	var out strings.Builder
	if len(a) > 4 {
		if s.f.cfg.archivePath == "" {
			return noArchive
		}
		minutes, _ := strconv.Atoi(a[len(a)-1])
		backup := s.archiveNext()
		fmt.Fprintf(&out, "Rollback Confirmed Change: Backing up current running config to %s\n", backup)
		s.startRevert(s.f.files[backup].clone(), minutes)
	}
	passes := 0
	if target.render() != s.f.cfg.render() {
		passes = 1
	}
	s.f.cfg = target.clone()
	fmt.Fprintf(&out, "Total number of passes: %d\nRollback Done\n", passes)
	return out.String()
}

// archiveConfig saves the running configuration as the next archive file:
// the archive path followed by -N.
func (s *session) archiveConfig([]string) string {
	if s.f.cfg.archivePath == "" {
		return noArchive
	}
	s.archiveNext()
	return ""
}

// archiveNext writes the running configuration to the next archive file,
// dropping the oldest beyond the maximum (10 unless set), and names it.
func (s *session) archiveNext() string {
	f := s.f
	f.archSeq++
	name := fmt.Sprintf("%s-%d", f.cfg.archivePath, f.archSeq)
	f.files[name] = f.cfg.clone()
	f.archives = append(f.archives, name)
	max := f.cfg.archiveMax
	if max == 0 {
		max = 10
	}
	for len(f.archives) > max {
		delete(f.files, f.archives[0])
		f.archives = f.archives[1:]
	}
	return name
}

func (s *session) showArchive([]string) string {
	f := s.f
	if f.cfg.archivePath == "" {
		return "Archive feature not enabled\n"
	}
	max := f.cfg.archiveMax
	if max == 0 {
		max = 10
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The maximum archive configurations allowed is %d.\n", max)
	fmt.Fprintf(&b, "There are currently %d archive configurations saved.\n", len(f.archives))
	fmt.Fprintf(&b, "The next archive file will be named %s-%d\n", f.cfg.archivePath, f.archSeq+1)
	b.WriteString(" Archive #  Name\n")
	for i, n := range f.archives {
		mark := ""
		if i == len(f.archives)-1 {
			mark = " <- Most Recent"
		}
		fmt.Fprintf(&b, "   %-2d       %s%s\n", i+1, n, mark)
	}
	return b.String()
}
