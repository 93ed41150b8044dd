package quarantine

import (
	"context"
	"strings"
	"testing"

	"github.com/wardnet/ward/drivers"
)

// spellingSwitch reports its ports the way IOS shows them.
type spellingSwitch struct{ ports map[string]int }

func (spellingSwitch) SetPortVLAN(context.Context, drivers.Session, string, int) error { return nil }
func (s spellingSwitch) ReadQuarantine(context.Context, drivers.Session) (drivers.QuarantineState, error) {
	return drivers.QuarantineState{Ports: s.ports}, nil
}
func (spellingSwitch) CanonicalPort(name string) (string, error) {
	if rest, ok := strings.CutPrefix(name, "Gi"); ok && !strings.HasPrefix(rest, "gabit") {
		return "GigabitEthernet" + rest, nil
	}
	return name, nil
}

// TestReadPortsMatchesTheInventorysSpelling: a port the device reports as
// GigabitEthernet1/0/5 is the inventory's Gi1/0/5, so a release finds it
// in the quarantine VLAN and reconcile does not move an isolated port
// back home.
func TestReadPortsMatchesTheInventorysSpelling(t *testing.T) {
	sw := spellingSwitch{ports: map[string]int{"GigabitEthernet1/0/5": 210, "GigabitEthernet1/0/9": 220}}
	have, blind, err := readPorts(t.Context(), sw, nil, []string{"Gi1/0/5"})
	if err != nil || blind {
		t.Fatal(err, blind)
	}
	if have["Gi1/0/5"] != 210 || have["GigabitEthernet1/0/9"] != 220 || len(have) != 2 {
		t.Errorf("ports read %v; want Gi1/0/5 (the inventory's spelling) home 210, and the unknown port as the device spells it", have)
	}
	if drivers.SamePort(struct{}{}, "Gi1/0/5", "GigabitEthernet1/0/5") {
		t.Error("a driver without PortNamer compares spellings")
	}
}
