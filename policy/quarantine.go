package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

var quarantineSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "vlan"},
		{Name: "remediation"},
		{Name: "default_ttl"},
		{Name: "max_auto_per_hour"},
		{Name: "action"},
		{Name: "approval_required"},
		{Name: "min_severity"},
		{Name: "ttl"},
		{Name: "pending_ttl"},
	},
}

// DefaultPendingTTL is how long a held alert waits for a person unless
// the quarantine block sets pending_ttl: long enough for a shift to see it,
// short enough that a stale alert does not get approved days later.
const DefaultPendingTTL = 4 * time.Hour

// Severities are alert severities, lowest first.
var Severities = []string{"info", "low", "medium", "high", "critical"}

var quarantineActions = []string{ActionIsolate, ActionRestrict, ActionNotify}

func decodeQuarantineBlock(block *hcl.Block) (*Quarantine, hcl.Diagnostics) {
	q := &Quarantine{DefaultTTL: 24 * time.Hour, MaxAutoPerHour: 20, PendingTTL: DefaultPendingTTL, Action: map[string]string{}, MinSeverity: "low",
		TTL: map[string]time.Duration{}, DeclRange: block.DefRange}
	content, diags := block.Body.Content(quarantineSchema)
	var d hcl.Diagnostics
	if attr, ok := content.Attributes["vlan"]; ok {
		q.VLANRange = attr.Expr.Range()
		q.VLAN, d = attrVLAN(attr)
		diags = append(diags, d...)
	}
	if attr, ok := content.Attributes["remediation"]; ok {
		q.Remediation, d = decodeRefs(attr, RefNetwork, RefZone)
		diags = append(diags, d...)
	}
	if attr, ok := content.Attributes["default_ttl"]; ok {
		s, d := attrString(attr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			ttl, err := ParseTTL(s)
			if err != nil || ttl <= 0 {
				diags = append(diags, errDiag(attr.Expr.Range(), "Invalid default_ttl",
					fmt.Sprintf("%q is not a positive duration. Write it like \"30m\", \"4h\", \"24h\" or \"7d\".", s)))
			} else {
				q.DefaultTTL = ttl
			}
		}
	}
	if attr, ok := content.Attributes["pending_ttl"]; ok {
		s, d := attrString(attr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			ttl, err := ParseTTL(s)
			if err != nil || ttl <= 0 {
				diags = append(diags, errDiag(attr.Expr.Range(), "Invalid pending_ttl",
					fmt.Sprintf("%q is not a positive duration. pending_ttl is how long an alert held by the storm guard waits for a person before it expires unapproved; write it like \"30m\", \"4h\" or \"1d\".", s)))
			} else {
				q.PendingTTL = ttl
			}
		}
	}
	if attr, ok := content.Attributes["max_auto_per_hour"]; ok {
		n, d := attrInt(attr)
		diags = append(diags, d...)
		switch {
		case d.HasErrors():
		case n < 0:
			diags = append(diags, errDiag(attr.Expr.Range(), "Invalid max_auto_per_hour",
				"max_auto_per_hour must be 0 or more; 0 means every alert waits for a person."))
		default:
			q.MaxAutoPerHour = n
		}
	}
	if attr, ok := content.Attributes["action"]; ok {
		diags = append(diags, decodeQuarantineAction(attr, q)...)
	}
	if attr, ok := content.Attributes["approval_required"]; ok {
		elems, d := attrStrings(attr, false)
		diags = append(diags, d...)
		for _, e := range elems {
			if ok, detail := oneOf(e.S, criticalities); !ok {
				diags = append(diags, errDiag(e.Range, "Unknown criticality in approval_required", detail))
				continue
			}
			q.ApprovalRequired = append(q.ApprovalRequired, e.S)
		}
	}
	if attr, ok := content.Attributes["min_severity"]; ok {
		s, d := attrString(attr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			if ok, detail := oneOf(s, Severities); !ok {
				diags = append(diags, errDiag(attr.Expr.Range(), "Invalid min_severity", detail+" Alerts below it only notify."))
			} else {
				q.MinSeverity = s
			}
		}
	}
	if attr, ok := content.Attributes["ttl"]; ok {
		pairs, d := mapPairs(attr, "ttl maps a quarantine level to how long it lasts, such as { isolate = \"8h\", restrict = \"3d\" }.")
		diags = append(diags, d...)
		for _, kv := range pairs {
			if kv.Key != ActionIsolate && kv.Key != ActionRestrict {
				diags = append(diags, errDiag(kv.KeyRange, "Invalid key in ttl", fmt.Sprintf("%q is not a quarantine level; use isolate or restrict.", kv.Key)))
				continue
			}
			v, d := attrString(&hcl.Attribute{Name: "ttl." + kv.Key, Expr: kv.Value, Range: kv.Value.Range()})
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
			ttl, err := ParseTTL(v)
			if err != nil || ttl <= 0 {
				diags = append(diags, errDiag(kv.Value.Range(), "Invalid ttl",
					fmt.Sprintf("%q is not a positive duration. Write it like \"30m\", \"4h\", \"24h\" or \"7d\".", v)))
				continue
			}
			q.TTL[kv.Key] = ttl
		}
	}
	return q, diags
}

// TTLFor is how long a quarantine at level lasts unless released.
func (q *Quarantine) TTLFor(level string) time.Duration {
	if d, ok := q.TTL[level]; ok {
		return d
	}
	return q.DefaultTTL
}

func decodeQuarantineAction(attr *hcl.Attribute, q *Quarantine) hcl.Diagnostics {
	pairs, diags := mapPairs(attr, "action maps a criticality to what an alert does, such as { low = \"isolate\", life_critical = \"restrict\" }.")
	for _, kv := range pairs {
		key := kv.Key
		if ok, detail := oneOf(key, criticalities); !ok {
			diags = append(diags, errDiag(kv.KeyRange, "Unknown criticality in action", detail))
			continue
		}
		v, d := attrString(&hcl.Attribute{Name: "action." + key, Expr: kv.Value, Range: kv.Value.Range()})
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		if ok, detail := oneOf(v, quarantineActions); !ok {
			diags = append(diags, errDiag(kv.Value.Range(), "Invalid quarantine action",
				detail+" isolate moves the device to the quarantine VLAN; restrict keeps only its essential flows; notify waits for a person."))
			continue
		}
		q.Action[key] = v
	}
	return diags
}

// ParseTTL parses a Go duration, also accepting whole days such as "7d".
func ParseTTL(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > 3650 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}
