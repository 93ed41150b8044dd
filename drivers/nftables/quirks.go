package nftables

// What nft needs spelt its own way, as data. The renderer writes rules in
// the canonical form `nft list table` prints (checked against nft 1.0.6 by
// the tests), so that a table read back compares equal to the rendered one
// without a rule parser: nft sorts anonymous sets by value, merges adjacent
// port ranges, drops the braces of a one-element set, prints ICMPv6's
// protocol as ipv6-icmp and an ICMP type by one name per number.

// family is how one IP family is written in an inet table.
type family struct {
	suffix    string     // of the set names: zone_x_v4
	addr      string     // the payload keyword of addresses: ip saddr, ip6 saddr
	setType   string     // the set's element type
	icmpProto string     // the intent protocol that is this family's ICMP
	icmpMatch string     // the header keyword of its types: icmp type, icmpv6 type
	icmpL4    string     // how nft prints it as a layer 4 protocol
	icmpTypes []icmpType // by number; for a number with several names, the one nft prints first
	v6        bool       // which addresses belong to it
	prefixes  func(*addrSet) []element
}

type icmpType struct {
	name   string
	number int
}

var families = [...]family{
	{
		suffix: "_v4", addr: "ip", setType: "ipv4_addr",
		icmpProto: "icmp", icmpMatch: "icmp", icmpL4: "icmp",
		icmpTypes: []icmpType{
			{"echo-reply", 0}, {"destination-unreachable", 3}, {"source-quench", 4},
			{"redirect", 5}, {"echo-request", 8}, {"router-advertisement", 9},
			{"router-solicitation", 10}, {"time-exceeded", 11}, {"parameter-problem", 12},
			{"timestamp-request", 13}, {"timestamp-reply", 14}, {"info-request", 15},
			{"info-reply", 16}, {"address-mask-request", 17}, {"address-mask-reply", 18},
		},
		prefixes: func(s *addrSet) []element { return s.v4 },
	},
	{
		suffix: "_v6", addr: "ip6", setType: "ipv6_addr",
		icmpProto: "icmpv6", icmpMatch: "icmpv6", icmpL4: "ipv6-icmp",
		icmpTypes: []icmpType{
			{"destination-unreachable", 1}, {"packet-too-big", 2}, {"time-exceeded", 3},
			{"parameter-problem", 4}, {"echo-request", 128}, {"echo-reply", 129},
			{"mld-listener-query", 130}, {"mld-listener-report", 131},
			{"mld-listener-done", 132}, {"mld-listener-reduction", 132},
			{"nd-router-solicit", 133}, {"nd-router-advert", 134},
			{"nd-neighbor-solicit", 135}, {"nd-neighbor-advert", 136},
			{"nd-redirect", 137}, {"router-renumbering", 138},
			{"ind-neighbor-solicit", 141}, {"ind-neighbor-advert", 142},
			{"mld2-listener-report", 143},
		},
		v6:       true,
		prefixes: func(s *addrSet) []element { return s.v6 },
	},
}

const (
	// tableName is the one table Ward owns; nothing else on the host is
	// touched.
	tableName = "inet ward"
	// preamble starts a rendered configuration, so that it stays a script
	// that replaces the table when run by hand (Apply builds its own,
	// which keeps the quarantine sets: see transaction.go); Apply uses it
	// alone to remove the table. The first line creates the table if
	// absent, so that the delete cannot fail.
	preamble = "table inet ward\ndelete table inet ward\n"

	forwardChain    = "forward"
	forwardHook     = "type filter hook forward priority filter; policy %s;"
	restrictedChain = "restricted"

	// quarantineComment marks the sets whose members Apply never touches:
	// the quarantine changes them between applies (SetUpdater), and a
	// routine policy push must never release a quarantined device.
	quarantineComment = "ward quarantine: apply keeps its members"

	// absentMessage is how nft says that the table or set to list does
	// not exist (ENOENT).
	absentMessage = "No such file or directory"

	monitorLog = `log prefix "ward-monitor "`

	// maxComment is the longest comment nft stores (bytes).
	maxComment = 128
	// maxName is the longest set or chain name Ward writes; the kernel
	// takes 255 (NFT_NAME_MAXLEN 256, with the terminating NUL).
	maxName = 255
	// elementsPerCommand bounds one `nft add element` command line of
	// AddToSet and RemoveFromSet.
	elementsPerCommand = 100
)

// policies maps an intent DefaultAction to the forward chain's policy.
var policies = map[string]string{"drop": "drop", "accept": "accept"}

// l4Protos are the intent protocols matched by port, as nft names them.
var l4Protos = map[string]string{"tcp": "tcp", "udp": "udp"}
