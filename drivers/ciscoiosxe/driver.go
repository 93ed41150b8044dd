package ciscoiosxe

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
)

// platformYAML is scrapligo's cisco_iosxe platform definition
// (scrapligo v1.4.3 assets/platforms/cisco_iosxe.yaml) with the failure
// patterns Ward found missing (see the iosxefake package doc): the
// rollback-confirmed answers, a duplicate sequence number, a file that
// cannot be opened, a default VLAN that cannot change, and the
// object-group refusals.
//
//go:embed platform.yaml
var platformYAML []byte

// Options are the per-target options (the target block's attributes).
type Options struct {
	// ConfirmMinutes is the revert timer of an apply (configure terminal
	// revert timer N): if Ward cannot confirm within it, the switch puts
	// the previous configuration back by itself.
	ConfirmMinutes int `json:"confirm_minutes"`
	// ArchivePath is the archive path Ward configures when the switch has
	// none (the revert timer and configure replace need the archive).
	ArchivePath string `json:"archive_path"`
	// Save writes the running configuration to the startup configuration
	// after a confirmed apply (write memory).
	Save *bool `json:"save_config"`
}

// Defaults of the options.
const (
	defaultConfirmMinutes = 5
	defaultArchivePath    = "flash:ward-archive"
)

var archivePathRe = regexp.MustCompile(`^[a-z][a-z0-9-]*:[A-Za-z0-9_./-]+$`)

func checkMinutes(v any) error {
	n, _ := v.(int)
	if n < 1 || n > 120 {
		return fmt.Errorf("confirm_minutes is %d: the revert timer takes 1 to 120 minutes (%s)", n, docConfirm)
	}
	return nil
}

func checkArchivePath(v any) error {
	s, _ := v.(string)
	if !archivePathRe.MatchString(s) {
		return fmt.Errorf("archive_path %q: want a file system and a path such as flash:ward-archive (letters, digits, _ . / -)", s)
	}
	return nil
}

// optionSpecs are the options, as data for the policy parser.
func optionSpecs() []drivers.Option {
	return []drivers.Option{
		{Name: "confirm_minutes", Type: drivers.OptionNumber, Check: checkMinutes,
			Doc: "minutes the switch waits for Ward to confirm an apply before it restores the previous configuration by itself (configure terminal revert timer); default 5"},
		{Name: "archive_path", Type: drivers.OptionString, Check: checkArchivePath,
			Doc: "where the archive keeps configurations (archive / path), configured when the switch has no archive; default flash:ward-archive"},
		{Name: "save_config", Type: drivers.OptionBool,
			Doc: "write memory after a confirmed apply, so the switch starts with it; default true"},
	}
}

// Register adds the cisco_iosxe driver to r.
func Register(r *drivers.Registry) {
	r.Register(drivers.Info{
		Name:        driverName,
		Description: "Cisco IOS-XE (Catalyst 9000): object-group ACLs bound inbound on zone SVIs, access-port VLANs; applied under a revert timer",
		Roles:       []drivers.Role{drivers.RoleAccessSwitch, drivers.RoleFirewall},
		Options:     optionSpecs(),
		Platform:    platformYAML,
		New:         func(o json.RawMessage) (drivers.Driver, error) { return New(o) },
	})
}

// driver is the IOS-XE driver. It holds its options only: no connection
// state (drivers.Driver).
type driver struct {
	confirmMinutes int
	archivePath    string
	save           bool
}

// New returns the driver with a target's options (nil: the defaults).
func New(raw json.RawMessage) (drivers.Driver, error) {
	o := Options{ConfirmMinutes: defaultConfirmMinutes, ArchivePath: defaultArchivePath}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, fmt.Errorf("options: %w", err)
		}
	}
	if err := checkMinutes(o.ConfirmMinutes); err != nil {
		return nil, err
	}
	if err := checkArchivePath(o.ArchivePath); err != nil {
		return nil, err
	}
	d := &driver{confirmMinutes: o.ConfirmMinutes, archivePath: o.ArchivePath, save: true}
	if o.Save != nil {
		d.save = *o.Save
	}
	return d, nil
}

// Render: see drivers.Driver.
func (d *driver) Render(t *intent.Target) (drivers.Config, error) {
	text, err := Render(t)
	return drivers.Config{Text: text}, err
}

// Parse: see drivers.Driver.
func (d *driver) Parse(cfg drivers.Config) (*intent.Target, error) { return Parse(cfg.Text) }

var (
	_ drivers.Driver           = (*driver)(nil)
	_ drivers.CommitConfirmer  = (*driver)(nil)
	_ drivers.Checkpointer     = (*driver)(nil)
	_ drivers.SetUpdater       = (*driver)(nil)
	_ drivers.VLANSetter       = (*driver)(nil)
	_ drivers.QuarantineReader = (*driver)(nil)
	_ drivers.CapacityChecker  = (*driver)(nil)
)
