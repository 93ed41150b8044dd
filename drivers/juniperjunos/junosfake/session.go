package junosfake

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gliderlabs/ssh"
	"github.com/wardnet/ward/drivers/clifake"
)

const ctrlD = "\x04"

// session is one interactive CLI login.
type session struct {
	f         *Fake
	s         ssh.Session
	in        *bufio.Reader
	config    bool   // configuration mode
	kind      string // "", "private" or "exclusive"
	private   *node  // configure private: this session's candidate
	base      *node  // configure private: the running configuration it was copied from
	screenLen int
	id        int       // terminal p<id>, pid 1000+id in lock messages
	since     time.Time // login time
}

func (f *Fake) handle(s ssh.Session) {
	f.mu.Lock()
	screen := f.opts.ScreenLength
	id := f.sessions
	f.sessions++
	since := f.clock.Now()
	f.mu.Unlock()
	ss := &session{f: f, s: s, in: bufio.NewReader(s), screenLen: screen, id: id, since: since}
	defer ss.unlock()
	ss.run()
}

// unlock releases configure exclusive when its session leaves
// configuration mode or logs out.
func (s *session) unlock() {
	s.f.mu.Lock()
	if s.f.lock == s {
		s.f.lock = nil
	}
	s.f.mu.Unlock()
}

// lockHolderLocked describes the exclusive holder the way the CLI lists
// users editing the configuration (docExclusive); call with f.mu held.
func (s *session) lockHolderLocked() []string {
	h := s.f.lock
	return []string{
		fmt.Sprintf("  %s terminal p%d (pid %d) on since %s", s.f.opts.User, h.id, 1000+h.id, h.since.UTC().Format("2006-01-02 15:04:05 MST")),
		"      exclusive [edit]",
	}
}

func (s *session) write(str string) {
	io.WriteString(s.s, strings.ReplaceAll(str, "\n", "\r\n"))
}

func (s *session) promptLine() string {
	if s.config {
		return s.f.opts.User + "@" + s.f.opts.Hostname + "# "
	}
	return s.f.opts.User + "@" + s.f.opts.Hostname + "> "
}

// prompt is the banner and prompt: configuration mode shows the edit level
// ("[edit]"; the fake has no edit command, so it is always the top) and,
// while a commit confirmed waits, how long until it rolls back.
func (s *session) prompt() {
	vc := ""
	if s.f.opts.Master != "" {
		vc = "{" + s.f.opts.Master + "}"
	}
	if !s.config {
		if vc != "" {
			vc += "\n"
		}
		s.write("\n" + vc + s.promptLine())
		return
	}
	banner := ""
	s.f.mu.Lock()
	if p := s.f.pending; p != nil {
		left := p.deadline.Sub(s.f.clock.Now())
		mins := int((left + time.Minute - 1) / time.Minute)
		banner = fmt.Sprintf("# commit confirmed will be rolled back in %d minutes\n", mins)
	}
	s.f.mu.Unlock()
	s.write("\n" + banner + vc + "[edit]\n" + s.promptLine())
}

// readLine reads one line, echoing it as a terminal does. It returns ctrlD
// for Ctrl-D at the start of a line.
func (s *session) readLine() (string, error) {
	var buf []byte
	for {
		c, err := s.in.ReadByte()
		if err != nil {
			return "", err
		}
		switch c {
		case 4:
			if len(buf) == 0 {
				return ctrlD, nil
			}
		case '\r', '\n':
			if c == '\r' && s.in.Buffered() > 0 {
				if b, _ := s.in.Peek(1); len(b) == 1 && b[0] == '\n' {
					s.in.ReadByte()
				}
			}
			s.write("\n")
			return string(buf), nil
		case 0x7f, 0x08:
			if len(buf) > 0 {
				buf = buf[:len(buf)-1]
				s.write("\b \b")
			}
		default:
			if c >= 0x20 {
				buf = append(buf, c)
				s.s.Write([]byte{c})
			}
		}
	}
}

func (s *session) run() {
	s.prompt()
	for {
		line, err := s.readLine()
		if err != nil {
			return
		}
		if line == ctrlD {
			continue
		}
		if !s.receive(line) {
			return
		}
		quit := s.execute(line)
		if quit {
			s.s.Exit(0)
			return
		}
		s.prompt()
	}
}

// receive logs a line and applies the stall fault; false ends the session.
func (s *session) receive(line string) bool {
	s.f.mu.Lock()
	s.f.log = append(s.f.log, line)
	stall := s.f.opts.StallOn != "" && strings.TrimSpace(line) == s.f.opts.StallOn
	s.f.mu.Unlock()
	if stall {
		<-s.s.Context().Done()
		return false
	}
	return true
}

// drop cuts the TCP connection, as a failed link would.
func (s *session) drop() {
	clifake.Cut(s.s)
	s.s.Close()
}

// countConfigLine applies the drop fault; false means the connection is gone.
func (s *session) countConfigLine() bool {
	s.f.mu.Lock()
	s.f.configLine++
	cut := s.f.opts.DropAfterConfigLines > 0 && s.f.configLine > s.f.opts.DropAfterConfigLines
	s.f.mu.Unlock()
	if cut {
		s.drop()
		return false
	}
	return true
}

// caret is the marker line pointing at column col of the typed line
// (-1: just past its end, where the missing word would go).
func (s *session) caret(line string, e *CLIError) string {
	col := e.Col
	if col < 0 {
		col = len(strings.TrimRight(line, " ")) + 1
	}
	return strings.Repeat(" ", len(s.promptLine())+col) + "^\n" + e.Message
}

// execute runs one line; true ends the session.
func (s *session) execute(line string) bool {
	s.f.mu.Lock()
	failOut, failed := s.f.opts.FailCommands[strings.TrimSpace(line)]
	s.f.mu.Unlock()
	if failed {
		s.write(failOut + "\n")
		return false
	}
	toks := tokenize(line)
	if len(toks) == 0 {
		return false
	}
	if s.config {
		return s.configCommand(line, toks)
	}
	cmd, err := matchCommand(operationalPats, toks)
	if err != nil {
		s.write(s.caret(line, err) + "\n")
		return false
	}
	switch strings.Join(cmd.words, " ") {
	case "exit", "quit":
		return true
	case "configure", "configure private", "configure exclusive":
		s.enterConfig(strings.TrimPrefix(strings.Join(cmd.words[1:], " "), ""))
	case "show configuration":
		// Published sessions: the output starts with when and by whom the
		// configuration was last committed.
		s.f.mu.Lock()
		out := append([]string{fmt.Sprintf("## Last commit: %s by %s", s.f.lastAt.UTC().Format("2006-01-02 15:04:05 MST"), s.f.lastBy)},
			s.f.showLocked(s.f.running)...)
		s.f.mu.Unlock()
		s.page(out)
	case "show configuration | display set":
		s.f.mu.Lock()
		out := s.f.displaySetLocked(s.f.running)
		s.f.mu.Unlock()
		s.page(out)
	default:
		// set cli ...: the CLI answers with the new setting.
		switch cmd.words[2] {
		case "screen-length":
			s.screenLen, _ = strconv.Atoi(cmd.words[3])
			s.write("Screen length set to " + cmd.words[3] + "\n")
		case "screen-width":
			s.write("Screen width set to " + cmd.words[3] + "\n")
		case "complete-on-space":
			if cmd.words[3] == "off" {
				s.write("Disabling complete-on-space\n")
			} else {
				s.write("Enabling complete-on-space\n")
			}
		}
	}
	return false
}

// enterConfig: docExclusive shows the warning configure exclusive prints;
// configure private discards on exit the same way (docConfigure).
func (s *session) enterConfig(kind string) {
	s.kind = kind
	s.config = true
	var out []string
	if kind != "" {
		out = append(out, "warning: uncommitted changes will be discarded on exit")
	}
	s.f.mu.Lock()
	if s.f.lock != nil && s.f.lock != s {
		if kind == "exclusive" {
			// Published session: a second configure exclusive is refused
			// with the holder's line.
			msg := append([]string{"error: configuration database locked by:"}, s.lockHolderLocked()...)
			s.f.mu.Unlock()
			s.config, s.kind = false, ""
			s.write(strings.Join(msg, "\n") + "\n")
			return
		}
		// docExclusive: other users may enter configuration mode and are
		// told who holds the lock.
		out = append(out, "Entering configuration mode", "Users currently editing the configuration:")
		out = append(out, s.lockHolderLocked()...)
	} else {
		out = append(out, "Entering configuration mode")
	}
	if kind == "exclusive" {
		s.f.lock = s
	}
	if kind == "private" {
		s.private = s.f.running.clone()
		s.base = s.f.running.clone()
	} else if s.f.candidate != nil && !sameConfig(s.f.candidate, s.f.running) {
		out = append(out, "The configuration has been changed but not committed")
	}
	s.f.mu.Unlock()
	s.write(strings.Join(out, "\n") + "\n")
}

// cand is the candidate this session edits; call with f.mu held.
func (s *session) cand() *node {
	if s.kind == "private" {
		return s.private
	}
	if s.f.candidate == nil {
		s.f.candidate = s.f.running.clone()
	}
	return s.f.candidate
}

func (s *session) changed() bool {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.kind == "private" {
		return !sameConfig(s.private, s.f.running)
	}
	return s.f.candidate != nil && !sameConfig(s.f.candidate, s.f.running)
}

func (s *session) configCommand(line string, toks []token) bool {
	cmd, err := matchCommand(configurationPats, toks)
	if err != nil {
		s.write(s.caret(line, err) + "\n")
		return false
	}
	verb := strings.Join(cmd.words, " ")
	switch {
	case verb == "set" || verb == "delete":
		if !s.countConfigLine() {
			return true
		}
		if msg := s.applyStatement(verb, cmd.rest); msg != "" {
			s.write(msg + "\n")
		}
	case verb == "show":
		s.f.mu.Lock()
		out := s.f.showLocked(s.cand())
		s.f.mu.Unlock()
		s.page(out)
	case verb == "show | display set":
		s.f.mu.Lock()
		out := s.f.displaySetLocked(s.cand())
		s.f.mu.Unlock()
		s.page(out)
	case verb == "show | compare":
		s.f.mu.Lock()
		out := compare(s.f.running, s.cand())
		s.f.mu.Unlock()
		s.page(out)
	case strings.HasPrefix(verb, "commit"):
		s.write(strings.Join(s.commit(cmd.words[1:]), "\n") + "\n")
	case strings.HasPrefix(verb, "rollback"):
		n := 0
		if len(cmd.words) == 2 {
			n, _ = strconv.Atoi(cmd.words[1])
		}
		s.write(s.rollback(n) + "\n")
	case verb == "load set terminal":
		return s.loadSet()
	case verb == "load merge terminal" || verb == "load override terminal":
		return s.loadText(cmd.words[1] == "override")
	default: // exit, quit, exit configuration-mode
		return s.exitConfig()
	}
	return false
}

// applyStatement runs set or delete on the candidate; it returns the
// device's answer ("" for none).
func (s *session) applyStatement(verb string, rest []token) string {
	line := verb + " " + joinTokens(rest)
	// Columns of rest are relative to the typed line; matching reports them as typed.
	if verb == "set" {
		leaves, err := matchStatement(statementPats, rest)
		if err != nil {
			return s.caretFor(line, rest, err)
		}
		s.f.mu.Lock()
		c := s.cand()
		for _, l := range leaves {
			c.set(l)
		}
		s.f.mu.Unlock()
		return ""
	}
	levels, err := matchDeletePath(statementPats, rest)
	if err != nil {
		return s.caretFor(line, rest, err)
	}
	s.f.mu.Lock()
	found := s.cand().delete(levels)
	s.f.mu.Unlock()
	if !found {
		return msgNotFound
	}
	return ""
}

// caretFor places the caret for an error in rest, whose columns are those
// of the original line.
func (s *session) caretFor(_ string, rest []token, e *CLIError) string {
	if e.Col < 0 {
		last := rest[len(rest)-1]
		e = &CLIError{Col: last.col + len(last.text) + 1, Message: e.Message}
	}
	return strings.Repeat(" ", len(s.promptLine())+e.Col) + "^\n" + e.Message
}

func joinTokens(toks []token) string {
	var w []string
	for _, t := range toks {
		w = append(w, t.text)
	}
	return strings.Join(w, " ")
}

// commit runs commit, commit check or commit confirmed [minutes] and
// returns the device's answer. Texts: "configuration check succeeds",
// "commit confirmed will be automatically rolled back in N minutes unless
// confirmed", "commit complete" (docConfirmed and published sessions);
// a refused commit ends with "error: configuration check-out failed".
func (s *session) commit(args []string) []string {
	f := s.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.opts.CommitError != "" {
		return []string{"error: " + f.opts.CommitError, "error: configuration check-out failed"}
	}
	if len(args) > 0 && args[0] == "check" {
		return []string{"configuration check succeeds"}
	}
	if f.lock != nil && f.lock != s {
		// docConfigure: while one user holds configure exclusive, others
		// cannot commit (a check commits nothing).
		return append([]string{"error: configuration database locked by:"}, s.lockHolderLocked()...)
	}
	cand := s.cand()
	if s.kind == "private" {
		// docConfigure: a private commit is accepted only if nobody else
		// committed since the private copy was made.
		if !sameConfig(s.base, f.running) {
			return []string{"error: configuration database modified", "error: configuration check-out failed"}
		}
		if len(args) > 0 && args[0] == "confirmed" {
			// docConfirmed: a confirmed commit cannot be done on a private copy.
			return []string{"error: commit confirmed is not supported on a private copy of the configuration"}
		}
	}
	if len(args) > 0 && args[0] == "confirmed" {
		mins := 10 // docConfirmed: the default
		if len(args) == 2 {
			mins, _ = strconv.Atoi(args[1])
		}
		previous := f.running.clone()
		if f.pending != nil {
			// Confirming again moves the deadline; the rollback still goes
			// back to the configuration before the first confirmed commit.
			previous = f.pending.previous
			f.pending.stop()
		}
		p := &pendingConfirm{deadline: f.clock.Now().Add(time.Duration(mins) * time.Minute), previous: previous}
		p.stop = f.clock.AfterFunc(time.Duration(mins)*time.Minute, func() { f.confirmDeadline(p) })
		f.pending = p
		f.commitLocked(cand, f.opts.User)
		s.afterCommitLocked()
		return []string{"configuration check succeeds",
			fmt.Sprintf("commit confirmed will be automatically rolled back in %d minutes unless confirmed", mins),
			"commit complete"}
	}
	if f.pending != nil {
		f.pending.stop()
		f.pending = nil
	}
	f.commitLocked(cand, f.opts.User)
	s.afterCommitLocked()
	return []string{"commit complete"}
}

func (s *session) afterCommitLocked() {
	if s.kind == "private" {
		s.private = s.f.running.clone()
		s.base = s.f.running.clone()
		return
	}
	s.f.candidate = nil
}

// rollback loads rollback configuration n into the candidate (docRollback).
func (s *session) rollback(n int) string {
	f := s.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if n >= len(f.history) {
		return fmt.Sprintf("error: rollback configuration %d does not exist", n)
	}
	if s.kind == "private" {
		s.private = f.history[n].clone()
	} else {
		f.candidate = f.history[n].clone()
	}
	return "load complete"
}

// loadSet reads set/delete commands until Ctrl-D at the start of a line
// (docLoad); each is applied as if typed. true ends the session.
func (s *session) loadSet() bool {
	s.write("[Type ^D at a new line to end input]\n")
	errors := 0
	var out []string
	for n := 1; ; n++ {
		line, err := s.readLine()
		if err != nil {
			return true
		}
		if line == ctrlD {
			break
		}
		if !s.receive(line) {
			return true
		}
		toks := tokenize(line)
		if len(toks) == 0 {
			continue
		}
		if !s.countConfigLine() {
			return true
		}
		if toks[0].text != "set" && toks[0].text != "delete" {
			errors++
			out = append(out, fmt.Sprintf("terminal:%d:(%d) %s", n, toks[0].col, msgSyntax))
			continue
		}
		if msg := s.applyStatement(toks[0].text, toks[1:]); msg != "" && msg != msgNotFound {
			errors++
			lines := strings.Split(msg, "\n")
			out = append(out, fmt.Sprintf("terminal:%d:(%d) %s", n, strings.Index(lines[0], "^")-len(s.promptLine()), lines[len(lines)-1]))
		}
	}
	if errors > 0 {
		out = append(out, fmt.Sprintf("load complete (%d errors)", errors))
	} else {
		out = append(out, "load complete")
	}
	s.write(strings.Join(out, "\n") + "\n")
	return false
}

// exitConfig leaves configuration mode. configure exclusive and private
// discard uncommitted changes, after asking (docExclusive).
func (s *session) exitConfig() bool {
	if s.changed() {
		s.write("The configuration has been changed but not committed\n")
		if s.kind != "" {
			s.write(fmt.Sprintf("warning: Auto rollback on exiting 'configure %s'\nDiscard uncommitted changes? [yes,no] (yes) ", s.kind))
			ans, err := s.readLine()
			if err != nil {
				return true
			}
			if !s.receive(ans) {
				return true
			}
			if a := strings.TrimSpace(ans); a != "" && a != "yes" {
				return false
			}
			s.f.mu.Lock()
			if s.kind == "exclusive" {
				s.f.candidate = nil
			}
			s.f.mu.Unlock()
			s.write("warning: discarding uncommitted changes\nload complete\n")
		}
	}
	s.write("Exiting configuration mode\n")
	s.config, s.kind, s.private, s.base = false, "", nil, nil
	s.unlock()
	return false
}

// page writes output lines, stopping every screen-length-1 lines at the
// Junos pager prompt until the session sets screen-length 0. Space shows
// the next page, Enter the next line, q ends the output.
func (s *session) page(lines []string) {
	if len(lines) == 0 {
		return
	}
	if s.screenLen <= 1 || len(lines) < s.screenLen {
		s.write(strings.Join(lines, "\n") + "\n")
		return
	}
	step := s.screenLen - 1
	i := 0
	for i < len(lines) {
		end := min(i+step, len(lines))
		s.write(strings.Join(lines[i:end], "\n") + "\n")
		i = end
		if i >= len(lines) {
			return
		}
		more := fmt.Sprintf("---(more %d%%)---", i*100/len(lines))
		s.write(more)
		c, err := s.in.ReadByte()
		if err != nil {
			return
		}
		s.write("\r" + strings.Repeat(" ", len(more)) + "\r")
		switch c {
		case 'q', 'Q':
			return
		case '\r', '\n':
			step = 1
		default:
			step = s.screenLen - 1
		}
	}
}

// loadText reads configuration in the braces format until Ctrl-D at the
// start of a line (docLoad): merge adds it to the candidate, override
// makes it the whole candidate. As with load set, statements the grammar
// refuses are reported and the others loaded ("load complete (N errors)");
// unbalanced braces load nothing. true ends the session.
func (s *session) loadText(override bool) bool {
	s.write("[Type ^D at a new line to end input]\n")
	var text []string
	for {
		line, err := s.readLine()
		if err != nil {
			return true
		}
		if line == ctrlD {
			break
		}
		if !s.receive(line) {
			return true
		}
		if !s.countConfigLine() {
			return true
		}
		text = append(text, line)
	}
	stmts, bad := parseBraces(text)
	var leaves []leaf
	errors := 0
	var out []string
	if bad != nil {
		errors++
		out = append(out, fmt.Sprintf("terminal:%d:(%d) %s", bad.line, bad.col, msgSyntax))
	}
	for _, st := range stmts {
		ls, err := matchStatement(statementPats, st.toks)
		if err != nil {
			errors++
			col := err.Col
			if col < 0 {
				col = 0
			}
			out = append(out, fmt.Sprintf("terminal:%d:(%d) %s", st.line, col, err.Message))
			continue
		}
		leaves = append(leaves, ls...)
	}
	s.f.mu.Lock()
	target := s.cand()
	if override {
		target = &node{}
	}
	for _, l := range leaves {
		target.set(l)
	}
	if override {
		if s.kind == "private" {
			s.private = target
		} else {
			s.f.candidate = target
		}
	}
	s.f.mu.Unlock()
	if errors > 0 {
		out = append(out, fmt.Sprintf("load complete (%d errors)", errors))
	} else {
		out = append(out, "load complete")
	}
	s.write(strings.Join(out, "\n") + "\n")
	return false
}

// braceStatement is one statement of braces-format input, as the words of
// its full path, and the input line it ended on.
type braceStatement struct {
	toks []token
	line int
}

type braceError struct{ line, col int }

// parseBraces turns "a { b c; d [ e f ]; }" into the statements "a b c",
// "a d e", "a d f". Lines starting with # are comments (the
// "## Last commit" header show configuration prints).
func parseBraces(lines []string) ([]braceStatement, *braceError) {
	var out []braceStatement
	var stack [][]string
	var cur []string
	var list []string
	inList := false
	for n, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		spaced := line
		for _, c := range []string{"{", "}", ";", "[", "]"} {
			spaced = strings.ReplaceAll(spaced, c, " "+c+" ")
		}
		for _, w := range strings.Fields(spaced) {
			switch w {
			case "{":
				if inList || len(cur) == 0 {
					return nil, &braceError{n + 1, strings.Index(line, "{")}
				}
				stack = append(stack, cur)
				cur = nil
			case "}":
				if inList || len(cur) > 0 || len(stack) == 0 {
					return nil, &braceError{n + 1, strings.Index(line, "}")}
				}
				stack = stack[:len(stack)-1]
			case "[":
				inList, list = true, nil
			case "]":
				inList = false
			case ";":
				if len(cur) == 0 {
					return nil, &braceError{n + 1, strings.Index(line, ";")}
				}
				var path []string
				for _, lvl := range stack {
					path = append(path, lvl...)
				}
				vals := [][]string{cur}
				if list != nil {
					vals = nil
					for _, v := range list {
						vals = append(vals, append(append([]string(nil), cur...), v))
					}
				}
				for _, v := range vals {
					var toks []token
					for _, w := range append(append([]string(nil), path...), v...) {
						toks = append(toks, token{text: w})
					}
					out = append(out, braceStatement{toks: toks, line: n + 1})
				}
				cur, list = nil, nil
			default:
				if inList {
					list = append(list, w)
				} else {
					cur = append(cur, w)
				}
			}
		}
	}
	if len(stack) > 0 || len(cur) > 0 {
		return nil, &braceError{len(lines), 0}
	}
	return out, nil
}
