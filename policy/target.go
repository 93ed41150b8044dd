package policy

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

var targetSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "description"},
		{Name: "driver", Required: true},
		{Name: "address", Required: true},
		{Name: "port"},
		{Name: "username"},
		{Name: "credential"},
		{Name: "known_hosts"},
		{Name: "role", Required: true},
		{Name: "model"},
		{Name: "push"},
	},
}

var targetRoles = []string{"firewall", "access_switch"}

// secretAttributes are names people reach for when they try to put a
// credential in a policy file; policy lives in git, credentials never do.
var secretAttributes = []string{"password", "secret", "private_key", "key", "token", "passphrase", "enable_password", "enable_secret", "community"}

var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

func decodeTargetBlock(block *hcl.Block, drivers map[string][]string, decoders map[string]OptionDecoder) (*Target, hcl.Diagnostics) {
	t := &Target{Name: block.Labels[0], Port: 22, DeclRange: block.DefRange}
	diags := checkName(block)
	content, remain, d := block.Body.PartialContent(targetSchema)
	diags = append(diags, d...)
	extra, d := remain.JustAttributes()
	diags = append(diags, d...)

	strs := map[string]*string{
		"description": &t.Description, "driver": &t.Driver, "address": &t.Address,
		"username": &t.Username, "credential": &t.Credential, "known_hosts": &t.KnownHosts, "model": &t.Model,
	}
	for _, name := range sortedKeys(strs) {
		if attr, ok := content.Attributes[name]; ok {
			*strs[name], d = attrString(attr)
			diags = append(diags, d...)
			if !d.HasErrors() && *strs[name] == "" && name != "description" {
				diags = append(diags, errDiag(attr.Expr.Range(), "Empty "+name,
					fmt.Sprintf("Target %q has an empty %s. Give a value, or remove the argument if it is optional.", t.Name, name)))
			}
		}
	}
	diags = append(diags, t.decodeOptions(extra, decoders[t.Driver])...)
	if attr, ok := content.Attributes["push"]; ok {
		push, d := attrBool(attr)
		diags = append(diags, d...)
		t.RenderOnly = !d.HasErrors() && !push
	}
	if attr, ok := content.Attributes["port"]; ok {
		t.Port, d = attrInt(attr)
		diags = append(diags, d...)
		if !d.HasErrors() && (t.Port < 1 || t.Port > 65535) {
			diags = append(diags, errDiag(attr.Expr.Range(), "Invalid port",
				fmt.Sprintf("SSH port %d is outside 1-65535.", t.Port)))
		}
	}
	if attr, ok := content.Attributes["address"]; ok && t.Address != "" {
		if _, err := netip.ParseAddr(t.Address); err != nil && !validHostname(t.Address) {
			diags = append(diags, errDiag(attr.Expr.Range(), "Invalid target address",
				fmt.Sprintf("%q is neither an IP address nor a host name. Give the management address Ward connects to over SSH.", t.Address)))
		}
	}
	roleOK := true
	if attr, ok := content.Attributes["role"]; ok {
		d = t.decodeRoles(attr)
		diags = append(diags, d...)
		roleOK = !d.HasErrors()
	}
	if attr, ok := content.Attributes["driver"]; ok && t.Driver != "" {
		diags = append(diags, t.checkDriver(attr, drivers, roleOK)...)
	}
	return t, diags
}

// decodeOptions hands the attributes the language does not define to the
// driver's decoder, after refusing credentials in any of them.
func (t *Target) decodeOptions(extra hcl.Attributes, decode OptionDecoder) hcl.Diagnostics {
	var diags hcl.Diagnostics
	own := hcl.Attributes{}
	for _, name := range sortedKeys(extra) {
		attr := extra[name]
		if slices.Contains(secretAttributes, name) {
			diags = append(diags, errDiag(attr.NameRange, "Credentials do not belong in policy files",
				fmt.Sprintf("Policy files are kept in git, so target %q must not carry a %s. Store it in Ward's credential store and name it here with credential = %q.", t.Name, name, t.Name)))
			continue
		}
		if decode != nil {
			own[name] = attr
			continue
		}
		detail := fmt.Sprintf("An argument named %q is not expected in a target block.", name)
		if s := suggest(name, attrNames(targetSchema)); s != "" {
			detail += fmt.Sprintf(" Did you mean %q?", s)
		} else if t.Driver != "" {
			detail += fmt.Sprintf(" Driver %q takes no options of its own.", t.Driver)
		}
		diags = append(diags, errDiag(attr.NameRange, "Unsupported argument", detail))
	}
	if decode != nil {
		var d hcl.Diagnostics
		t.Options, d = decode(own)
		diags = append(diags, d...)
	}
	return diags
}

// decodeRoles reads role: one role, or a list of distinct roles.
func (t *Target) decodeRoles(attr *hcl.Attribute) hcl.Diagnostics {
	elems, diags := attrStrings(attr, true)
	if diags.HasErrors() {
		return diags
	}
	if len(elems) == 0 {
		return hcl.Diagnostics{errDiag(attr.Expr.Range(), "Empty role",
			fmt.Sprintf("Target %q has no role. Give \"firewall\", \"access_switch\", or both as a list.", t.Name))}
	}
	for _, e := range elems {
		switch ok, detail := oneOf(e.S, targetRoles); {
		case e.S == "":
			diags = append(diags, errDiag(e.Range, "Empty role",
				fmt.Sprintf("Target %q has an empty role. Give \"firewall\", \"access_switch\", or both as a list.", t.Name)))
		case !ok:
			diags = append(diags, errDiag(e.Range, "Invalid target role",
				detail+" A firewall enforces flows between zones; an access switch puts device ports in their zone's VLAN."))
		case slices.Contains(t.Roles, e.S):
			diags = append(diags, errDiag(e.Range, "Duplicate target role",
				fmt.Sprintf("Target %q lists role %q twice; remove one.", t.Name, e.S)))
		default:
			t.Roles = append(t.Roles, e.S)
		}
	}
	slices.Sort(t.Roles)
	return diags
}

// checkDriver checks that the driver is registered and fills every role.
func (t *Target) checkDriver(attr *hcl.Attribute, drivers map[string][]string, roleOK bool) hcl.Diagnostics {
	roles, known := drivers[t.Driver]
	if !known {
		names := sortedKeys(drivers)
		detail := fmt.Sprintf("No driver named %q is registered.", t.Driver)
		if len(names) == 0 {
			detail += " This build of Ward has no drivers registered."
		} else {
			detail += " Available drivers: " + strings.Join(names, ", ") + "."
			if s := suggest(t.Driver, names); s != "" {
				detail += fmt.Sprintf(" Did you mean %q?", s)
			}
		}
		return hcl.Diagnostics{errDiag(attr.Expr.Range(), "Unknown driver", detail)}
	}
	if !roleOK {
		return nil
	}
	for _, r := range t.Roles {
		if !slices.Contains(roles, r) {
			return hcl.Diagnostics{errDiag(attr.Expr.Range(), "Driver cannot fill this role",
				fmt.Sprintf("Driver %q configures %s targets, not %s. Change the role or the driver.", t.Driver, strings.Join(roles, " and "), r))}
		}
	}
	return nil
}

// HasRole reports whether the target does role.
func (t *Target) HasRole(role string) bool { return slices.Contains(t.Roles, role) }

func attrNames(s *hcl.BodySchema) []string {
	out := make([]string, len(s.Attributes))
	for i, a := range s.Attributes {
		out[i] = a.Name
	}
	return out
}

// validHostname reports whether s is a DNS name. A name whose last label is
// all digits is not (RFC 3696), which keeps "10.0.0.256" from passing as one.
func validHostname(s string) bool {
	if !hostnameRE.MatchString(s) {
		return false
	}
	last := s[strings.LastIndexByte(s, '.')+1:]
	return strings.TrimLeft(last, "0123456789") != ""
}
