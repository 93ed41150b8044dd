// Command ward is Ward's one binary: every subcommand of the CLI. Each
// subcommand has its own flag.FlagSet, so -policy and --policy both work and
// flags may follow positional arguments. Start reading at run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// cli carries what every subcommand needs; tests build one around buffers.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// color and width shape diagnostics; both off when not on a terminal.
	color bool
	width uint
	// ctx, when set, bounds long-running commands (ward serve stops when it
	// is done); nil means until SIGINT or SIGTERM.
	ctx context.Context
}

type command struct {
	summary string
	run     func(c *cli, args []string) int
}

func commands() map[string]command {
	return map[string]command{
		"validate":    {"Check the policy for errors", runValidate},
		"fmt":         {"Rewrite policy files in canonical format", runFmt},
		"version":     {"Print Ward's version", runVersion},
		"test":        {"Run the Rego unit tests beside the policy", runTest},
		"inventory":   {"Import, list, show and remove devices", runInventory},
		"audit":       {"Show the audit log, or verify its hash chain", runAudit},
		"query":       {"Ask the effective policy: may A reach B?", runQuery},
		"plan":        {"Place devices, show the effective policy, check guardrails", runPlan},
		"target":      {"Manage targets: trust a host key", runTarget},
		"apply":       {"Push a plan to the targets", runApply},
		"render":      {"Print each target's configuration in its own syntax", runRender},
		"report":      {"Write the compliance report (HTML, PDF, JSON, CSV), or verify one", runReport},
		"drift":       {"Compare the targets' running configuration with the last apply", runDrift},
		"quarantine":  {"Quarantine a device now (restrict or isolate)", runQuarantine},
		"release":     {"End a device's quarantine", runRelease},
		"approve":     {"Approve a quarantine that waits for a person", runApprove},
		"quarantines": {"List quarantines", runQuarantines},
		"recert":      {"Recertification campaigns: owners re-approve flows or let them expire", runRecert},
		"status":      {"Show the serve replicas, the leader, the job backlog and failed jobs", runStatus},
		"serve":       {"Run the API, alert intake and quarantine scheduler", runServe},
		"token":       {"Create, list and revoke API tokens", runToken},
	}
}

func main() {
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	if isTerminal(os.Stderr) && os.Getenv("NO_COLOR") == "" {
		c.color, c.width = true, 100
	}
	os.Exit(c.run(os.Args[1:]))
}

func (c *cli) run(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		c.usage(c.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "-v" || args[0] == "--version" {
		return runVersion(c, nil)
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(c.stderr, "ward: unknown command %q\n\n", args[0])
		c.usage(c.stderr)
		return 2
	}
	return cmd.run(c, args[1:])
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: ward COMMAND [flags] [args]")
	fmt.Fprintln(w, "\nWard keeps hospital medical-device networks segmented by policy.")
	fmt.Fprintln(w, "\nCommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun ward COMMAND -h for a command's flags.")
}

// newFlagSet returns a FlagSet whose errors and help go to stderr and do not
// exit the process.
func (c *cli) newFlagSet(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("ward "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: ward %s %s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, allowing flags before and after positional
// arguments ("ward fmt examples/ -check"). Everything after "--" is
// positional. It returns the positional arguments, or an exit code when
// parsing stopped (help printed: 0; bad flag: 2).
func parseFlags(fs *flag.FlagSet, args []string) ([]string, int, bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, false
			}
			return nil, 2, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, 0, true
		}
		if i := len(args) - len(rest) - 1; i >= 0 && args[i] == "--" {
			return append(pos, rest...), 0, true
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// plural formats a count with its noun: "1 zone", "3 zones".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "s") {
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
