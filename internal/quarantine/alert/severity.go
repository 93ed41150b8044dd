package alert

import (
	"errors"
	"strconv"
	"strings"
)

// Severity is how serious an alert is, on one scale for every sender. The
// quarantine decision compares severities by Rank.
type Severity string

// The five severities, least serious first.
const (
	SeverityInfo     Severity = "info"
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// notSeverity completes `"urgent" ...` in error messages.
const notSeverity = "is not a severity; use info, low, medium, high or critical (synonyms such as warning, error, major or P1 are accepted, see docs/alerts.md)"

// Severities returns the five severities, least serious first.
func Severities() []Severity {
	return []Severity{SeverityInfo, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}
}

// Rank orders severities: 1 for info up to 5 for critical, and 0 for a
// string that is not one of the five (compare with Valid first).
func (s Severity) Rank() int {
	switch s {
	case SeverityInfo:
		return 1
	case SeverityLow:
		return 2
	case SeverityMedium:
		return 3
	case SeverityHigh:
		return 4
	case SeverityCritical:
		return 5
	}
	return 0
}

// Valid reports whether s is one of the five severities.
func (s Severity) Valid() bool { return s.Rank() > 0 }

// String returns the severity's name.
func (s Severity) String() string { return string(s) }

// ParseSeverity reads a severity as senders write it, ignoring letter case
// and surrounding spaces. Besides the five names it accepts the words
// alerting tools commonly use for them:
//
//	info      informational, information, notice, debug, none, p5
//	low       minor, p4
//	medium    moderate, warning, warn, p3
//	high      error, err, major, severe, p2
//	critical  crit, page, emergency, emerg, fatal, p1
//
// Bare numbers are refused: 1 is the most serious level for Suricata but the
// least for others, so a number means nothing without its format. The
// Suricata parser maps alert.severity itself.
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "info", "informational", "information", "notice", "debug", "none", "p5":
		return SeverityInfo, nil
	case "low", "minor", "p4":
		return SeverityLow, nil
	case "medium", "moderate", "warning", "warn", "p3":
		return SeverityMedium, nil
	case "high", "error", "err", "major", "severe", "p2":
		return SeverityHigh, nil
	case "critical", "crit", "page", "emergency", "emerg", "fatal", "p1":
		return SeverityCritical, nil
	}
	return "", errors.New(strconv.Quote(shorten(s)) + " " + notSeverity)
}

// suricataSeverity maps EVE's alert.severity (the rule's priority, 1 most
// serious) onto Ward's scale: 1 is high, 2 medium, 3 and above low. None
// maps to critical: Suricata has no level above 1, and critical is kept for
// what an operator or a monitoring system declares so.
func suricataSeverity(n int64) (Severity, bool) {
	switch {
	case n < 1:
		return "", false
	case n == 1:
		return SeverityHigh, true
	case n == 2:
		return SeverityMedium, true
	default:
		return SeverityLow, true
	}
}
