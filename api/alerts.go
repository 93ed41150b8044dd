package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/quarantine/alert"
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
	bearer := c.GetHeader("Authorization") != ""
	switch {
	case bearer:
		if !s.checkBearer(c) {
			return
		}
	case c.GetHeader(HeaderSignature) == "":
		unauthorized(c, "alerts need Authorization: Bearer TOKEN, or an HMAC-SHA256 signature (X-Ward-Source, X-Ward-Timestamp, X-Ward-Signature)", "")
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxAlertBody)
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(c, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the body is larger than %d bytes; send fewer alerts per request", s.cfg.MaxAlertBody), "")
			return
		}
		fail(c, http.StatusBadRequest, "unreadable_body", "reading the body: "+err.Error(), "")
		return
	}
	source := ""
	if !bearer {
		var ok bool
		if source, ok = s.checkSignature(c, body); !ok {
			return
		}
	}
	format := c.Query("format")
	alerts, err := alert.Parse(body, alert.Options{Format: format, Source: source})
	if err != nil {
		field := ""
		var pe *alert.ParseError
		if errors.As(err, &pe) && len(pe.Problems) > 0 {
			field = pe.Problems[0].Field
		}
		fail(c, http.StatusBadRequest, "invalid_alert", err.Error(), field)
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
				fail(c, http.StatusForbidden, "forbidden_source", fmt.Sprintf("alert source %q signs its alerts; send them signed by it, not with the bearer token", a.Source), "source")
				return
			}
		}
	}
	results, err := s.cfg.Intake.Intake(c.Request.Context(), alerts)
	if err != nil {
		s.cfg.Logger.Error("alert intake failed", "error", err, "handled", len(results), "of", len(alerts))
		fail(c, http.StatusServiceUnavailable, "intake_failed",
			fmt.Sprintf("%d of %d alerts recorded, then: %v; send the request again (recorded alerts are duplicates, not repeated)", len(results), len(alerts), err), "")
		return
	}
	c.JSON(http.StatusAccepted, AlertsResponse{Received: len(alerts), Results: results})
}

// checkBearer checks "Authorization: Bearer TOKEN" against the alert
// token, or answers 401 and returns false.
func (s *Server) checkBearer(c *gin.Context) bool {
	h := c.GetHeader("Authorization")
	ok := len(h) > 7 && strings.EqualFold(h[:7], "Bearer ")
	if !ok || s.cfg.AlertToken == "" || subtle.ConstantTimeCompare([]byte(h[7:]), []byte(s.cfg.AlertToken)) != 1 {
		unauthorized(c, "the bearer token is not valid for alerts", "")
		return false
	}
	return true
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

// unauthorized answers 401, with the challenge HTTP requires on every 401.
func unauthorized(c *gin.Context, msg, field string) {
	c.Header("WWW-Authenticate", `Bearer realm="ward"`)
	fail(c, http.StatusUnauthorized, "unauthorized", msg, field)
}
