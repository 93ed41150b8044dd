package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/quarantine/alert"
	"github.com/wardnet/ward/internal/store"
)

// Headers of an HMAC-signed alert request.
const (
	HeaderSource    = "X-Ward-Source"
	HeaderTimestamp = "X-Ward-Timestamp"
	HeaderSignature = "X-Ward-Signature"
)

var sourceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// AlertsResponse answers POST /api/v1/alerts.
type AlertsResponse struct {
	Received int                 `json:"received"`
	Results  []quarantine.Result `json:"results"`
}

// postAlerts authenticates, reads and parses the body, and hands the
// alerts to the quarantine manager.
//
// Authentication is either "Authorization: Bearer $WARD_ALERT_TOKEN", or
// an HMAC-SHA256 signature by the sending source: X-Ward-Source names it,
// X-Ward-Timestamp is the Unix time, and X-Ward-Signature is
// "sha256=" + hex(HMAC(secret, timestamp + "." + body)). A signed request
// fixes every alert's source to the signer's name.
func (s *Server) postAlerts(c *gin.Context) {
	// A bearer token is checked, and a request with no credentials refused,
	// before the body is read; a signature covers the body, so after.
	secret, isBearer := bearer(c)
	switch {
	case isBearer && s.cfg.AlertToken != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.AlertToken)) == 1:
		c.Set(keyActor, "alert-token")
	case isBearer:
		tok, ok := s.authenticate(c, secret)
		if !ok {
			return
		}
		if !store.RoleAtLeast(tok.Role, store.RoleOperator) {
			fail(c, http.StatusForbidden, "forbidden", fmt.Sprintf("posting alerts needs the operator role; token %q is a %s", tok.Name, tok.Role), "")
			return
		}
	case c.GetHeader(HeaderSignature) == "":
		unauthorized(c, "alerts need Authorization: Bearer TOKEN, or an HMAC-SHA256 signature (X-Ward-Source, X-Ward-Timestamp, X-Ward-Signature)", "Authorization")
		return
	}
	if isBearer && !s.rateLimit(c, actorOf(c)) {
		return
	}
	body, ok := readBody(c, s.cfg.MaxBody)
	if !ok {
		return
	}
	source := ""
	if !isBearer {
		if source, ok = s.checkSignature(c, body); !ok {
			return
		}
		c.Set(keyActor, "hmac:"+source)
		if !s.rateLimit(c, actorOf(c)) {
			return
		}
	}
	format := c.Query("format")
	alerts, err := alert.Parse(body, alert.Options{Format: format, Source: source})
	if err != nil {
		field := ""
		var pe *alert.ParseError
		var problems []Problem
		if errors.As(err, &pe) {
			for _, p := range pe.Problems {
				problems = append(problems, Problem{Line: p.Line, Field: p.Field, Message: p.Message})
			}
			if len(pe.Problems) > 0 {
				field = pe.Problems[0].Field
			}
		}
		failProblems(c, http.StatusBadRequest, "invalid_alert", err.Error(), field, problems)
		return
	}
	// A source that signs its alerts owns its IDs: the bearer token may not
	// write into them (a forged "duplicate" would silence a real alert).
	if source == "" && s.cfg.AlertSecret != nil {
		seen := map[string]bool{}
		for _, a := range alerts {
			if seen[a.Source] {
				continue
			}
			seen[a.Source] = true
			if _, ok := s.cfg.AlertSecret(a.Source); ok {
				fail(c, http.StatusForbidden, "forbidden_source", fmt.Sprintf("alert source %q signs its alerts; send them signed by it, not with a bearer token", a.Source), "source")
				return
			}
		}
	}
	for i := range alerts {
		alerts[i].Via = actorOf(c)
		s.metrics.alertReceived(alerts[i].Source, alerts[i].Format)
	}
	results, err := s.cfg.Quarantines.Intake(c.Request.Context(), alerts)
	for _, r := range results {
		if r.Held {
			s.metrics.quarantineHeld()
		}
	}
	if err != nil {
		s.cfg.Logger.Error("alert intake failed", "error", err, "handled", len(results), "of", len(alerts))
		fail(c, http.StatusServiceUnavailable, "intake_failed",
			fmt.Sprintf("%d of %d alerts recorded, then: %v; send the request again (recorded alerts are duplicates, not repeated)", len(results), len(alerts), err), "")
		return
	}
	c.JSON(http.StatusAccepted, AlertsResponse{Received: len(alerts), Results: results})
}

// rateLimit answers 429 with Retry-After when sender has sent too many
// alert requests, and returns false.
func (s *Server) rateLimit(c *gin.Context, sender string) bool {
	ok, wait := s.limiter.allow(sender)
	if ok {
		return true
	}
	secs := int(wait.Seconds()) + 1
	c.Header("Retry-After", strconv.Itoa(secs))
	s.metrics.alertsLimited.WithLabelValues(sender).Inc()
	fail(c, http.StatusTooManyRequests, "rate_limited", fmt.Sprintf("%s sent more than %g alert requests a second (burst %d); retry after %d s, or batch alerts in one request", sender, s.cfg.AlertRate, s.cfg.AlertBurst, secs), "")
	return false
}

// checkSignature returns the source whose HMAC signature covers body, or
// answers 401 and returns false.
func (s *Server) checkSignature(c *gin.Context, body []byte) (string, bool) {
	sig := c.GetHeader(HeaderSignature)
	source := c.GetHeader(HeaderSource)
	if !sourceName.MatchString(source) {
		unauthorized(c, HeaderSource+" must name the sending source (letters, digits, _.-)", HeaderSource)
		return "", false
	}
	var secret []byte
	if s.cfg.AlertSecret != nil {
		secret, _ = s.cfg.AlertSecret(source)
	}
	ts, err := strconv.ParseInt(c.GetHeader(HeaderTimestamp), 10, 64)
	if err != nil {
		unauthorized(c, HeaderTimestamp+" must be the Unix time in seconds", HeaderTimestamp)
		return "", false
	}
	if skew := s.cfg.Now().Sub(time.Unix(ts, 0)); skew > s.cfg.MaxSkew || skew < -s.cfg.MaxSkew {
		unauthorized(c, fmt.Sprintf("%s is %s from Ward's clock (at most %s): check the sender's clock", HeaderTimestamp, skew.Round(time.Second), s.cfg.MaxSkew), HeaderTimestamp)
		return "", false
	}
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	got, err := hex.DecodeString(hexSig)
	if !ok || err != nil || len(secret) == 0 || !hmac.Equal(got, signature(secret, ts, body)) {
		// One message for an unknown source and a wrong signature: do not
		// tell an attacker which sources exist.
		unauthorized(c, "the signature does not match: sign timestamp + \".\" + body with the source's secret, as sha256=HEX", HeaderSignature)
		return "", false
	}
	return source, true
}

// Sign returns the X-Ward-Signature of body for a sender with secret.
func Sign(secret []byte, ts int64, body []byte) string {
	return "sha256=" + hex.EncodeToString(signature(secret, ts, body))
}

// signature is HMAC-SHA256(secret, ts + "." + body).
func signature(secret []byte, ts int64, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	fmt.Fprintf(mac, "%d.", ts)
	mac.Write(body)
	return mac.Sum(nil)
}

// AlertRecord is an alert as Ward recorded it.
type AlertRecord struct {
	ID           uint64    `json:"id"`
	Source       string    `json:"source"`
	ExternalID   string    `json:"external_id"`
	Format       string    `json:"format"`
	Severity     string    `json:"severity"`
	IP           string    `json:"ip"`
	MAC          string    `json:"mac"`
	Signature    string    `json:"signature"`
	Device       string    `json:"device"`
	Action       string    `json:"action"`
	Decision     string    `json:"decision"`
	QuarantineID *uint64   `json:"quarantine_id"`
	ReceivedAt   time.Time `json:"received_at"`
	// Raw is the alert as received (JSON), on GET /api/v1/alerts/{id} only.
	Raw json.RawMessage `json:"raw,omitempty"`
}

// listAlerts answers GET /api/v1/alerts, newest first, filtered by source,
// device and action.
func (s *Server) listAlerts(c *gin.Context) {
	limit, offset, ok := page(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	q := store.AlertQuery{Source: c.Query("source"), Action: c.Query("action"), Limit: limit, Offset: offset}
	if v := c.Query("device"); v != "" {
		row, err := inventory.Get(ctx, s.cfg.Store, v)
		if errors.Is(err, store.ErrNotFound) {
			fail(c, http.StatusBadRequest, "invalid_query", fmt.Sprintf("device=%q is not in the inventory", v), "device")
			return
		}
		if err != nil {
			s.internal(c, "reading the device", err)
			return
		}
		q.DeviceID = row.ID
	}
	rows, total, err := s.cfg.Store.ListAlerts(ctx, q)
	if err != nil {
		s.internal(c, "listing alerts", err)
		return
	}
	names, err := s.deviceNames(ctx, rows)
	if err != nil {
		s.internal(c, "reading alert devices", err)
		return
	}
	out := Page[AlertRecord]{Items: make([]AlertRecord, 0, len(rows)), Total: int(total), Limit: limit, Offset: offset}
	for _, r := range rows {
		out.Items = append(out.Items, alertRecord(r, names))
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) getAlert(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	r, err := s.cfg.Store.GetAlert(c.Request.Context(), uint64(id))
	if errors.Is(err, store.ErrNotFound) {
		notFound(c, "alert", fmt.Sprint(id), "")
		return
	}
	if err != nil {
		s.internal(c, "reading the alert", err)
		return
	}
	names, err := s.deviceNames(c.Request.Context(), []store.Alert{*r})
	if err != nil {
		s.internal(c, "reading the alert's device", err)
		return
	}
	rec := alertRecord(*r, names)
	if json.Valid([]byte(r.Raw)) {
		rec.Raw = json.RawMessage(r.Raw)
	}
	c.JSON(http.StatusOK, rec)
}

func alertRecord(r store.Alert, names map[uint64]string) AlertRecord {
	rec := AlertRecord{ID: r.ID, Source: r.Source, ExternalID: r.ExternalID, Format: r.Format, Severity: r.Severity, IP: r.IP, MAC: r.MAC,
		Signature: r.Signature, Action: r.Action, Decision: r.Decision, QuarantineID: r.QuarantineID, ReceivedAt: r.ReceivedAt.UTC()}
	if r.DeviceID != nil {
		rec.Device = names[*r.DeviceID]
	}
	return rec
}

// deviceNames maps the alerts' device IDs to names.
func (s *Server) deviceNames(ctx context.Context, rows []store.Alert) (map[uint64]string, error) {
	var ids []uint64
	for _, r := range rows {
		if r.DeviceID != nil {
			ids = append(ids, *r.DeviceID)
		}
	}
	return s.cfg.Store.DeviceNames(ctx, ids)
}
