package main

import (
	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/aristaeos"
	"github.com/wardnet/ward/drivers/ciscoiosxe"
	"github.com/wardnet/ward/drivers/juniperjunos"
	"github.com/wardnet/ward/drivers/nftables"
	"github.com/wardnet/ward/drivers/openvswitch"
)

// newRegistry is the one explicit list of the drivers this binary knows.
//
// Every driver Ward ships, in one place (no init side effects).
func newRegistry() *drivers.Registry {
	r := &drivers.Registry{}
	nftables.Register(r)
	openvswitch.Register(r)
	ciscoiosxe.Register(r)
	aristaeos.Register(r)
	juniperjunos.Register(r)
	return r
}
