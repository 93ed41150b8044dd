package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/report"
)

// evidence is what the matrix, device and changes pages show: the
// compliance report (internal/report), the one owner of the evidence, as
// of the page's as_of parameter or of now.
type evidence struct {
	rep  *report.Report
	asOf string // the as_of parameter, "" for the policy in force
	// devices is the inventory now (its sites, for filters).
	devices []inventory.Device
}

// withEvidence builds the report the page reads, for ?as_of=TIME (RFC
// 3339 or a date, as ward report -as-of) or for the policy in force, and
// runs fn with it; a bad as_of is a 400 page.
func (h *Handler) withEvidence(w http.ResponseWriter, r *http.Request, s *session, fn func(ev *evidence)) {
	raw := r.URL.Query().Get("as_of")
	var at time.Time
	if raw != "" {
		t, err := report.ParseTime(raw)
		if err != nil {
			h.problem(w, r, s, http.StatusBadRequest, "Bad as_of", err.Error())
			return
		}
		at = t
	}
	h.withEvaluation(w, r, s, func(e *evaluation) {
		rep, err := report.Build(r.Context(), report.Inputs{Policy: e.pol, Devices: e.devices, Result: e.res, Store: h.cfg.Store,
			AsOf: at, Now: h.cfg.Now, WardVersion: "ui"})
		if err != nil {
			h.cfg.Logger.Error("building the evidence for the UI", "error", err, "path", r.URL.Path)
			h.problem(w, r, s, http.StatusInternalServerError, "Evidence failed", "Ward could not build the evidence this page shows: "+err.Error())
			return
		}
		fn(&evidence{rep: rep, asOf: raw, devices: e.devices})
	})
}

// banner says which policy a page shows.
type banner struct {
	AsOf     string
	Revision report.PolicyRevision
}

func (e *evidence) banner() banner { return banner{AsOf: e.asOf, Revision: e.rep.PolicyRevision} }

// withAsOf adds as_of to a UI path (links keep the parameter).
func withAsOf(path, asOf string) string {
	if asOf == "" {
		return path
	}
	u, err := url.Parse(path)
	if err != nil {
		return path
	}
	q := u.Query()
	q.Set("as_of", asOf)
	u.RawQuery = q.Encode()
	return u.String()
}
