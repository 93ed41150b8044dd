package eosfake

import (
	"strings"

	"github.com/wardnet/ward/internal/textdiff"
)

// unifiedDiff prints what show session-config diffs prints: a unified
// diff of the running configuration against the session's, headed
// "--- system:/running-config" / "+++ session:/NAME-session-config", with
// three lines of context; nothing when they are equal (see docDiffs).
func unifiedDiff(fromName, toName, from, to string) string {
	return textdiff.Unified(fromName, toName, []byte(strings.TrimRight(from, "\n")+"\n"), []byte(strings.TrimRight(to, "\n")+"\n"))
}
