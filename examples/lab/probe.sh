#!/usr/bin/env bash
# probe.sh — does the lab's network let this through? (Ward's example lab)
#
#   probe.sh [-q] [-t TIMEOUT] FROM DEST PORT [tcp|udp]
#   probe.sh [-q] [-t TIMEOUT] FROM DEST icmp
#
# Exit 0 when DEST answers from FROM within TIMEOUT (default 1s), 1 when it
# does not, 2 on a usage error or when the lab is not up.
#   tcp   a TCP connect completes (a drop times out, a reject is refused)
#   udp   a datagram comes back (every lab device echoes UDP on its ports)
#   icmp  an echo reply comes back
# FROM is a namespace (ward-d-pump1, ward-fw, ward-sw), a lab device's name
# (pump-netlab-01) or OVS port (p-pump1), or "host" for this namespace.
# DEST is an IPv4 address or a lab device's name. Prints one line,
# "open tcp:10.61.211.241:443 (ward-lab pumpsrv-netlab-01 tcp/443)" or
# "closed tcp:... (reason)", unless -q.
#
# The same, without this script: ip netns exec FROM $STATE/bin/labnet probe
# -timeout 1s [tcp:|udp:]IP:PORT | icmp:IP ... (several targets at once).

set -euo pipefail

STATE=${WARD_LAB_STATE:-/run/ward-lab}
LABNET=$STATE/bin/labnet

usage() {
	sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
	exit 2
}

quiet=() timeout=${PROBE_TIMEOUT:-1s}
while getopts qt:h opt; do
	case $opt in
	q) quiet=(-q) ;;
	t) timeout=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
(($# == 3 || $# == 4)) || usage
from=$1 dest=$2 port=$3 proto=${4:-tcp}

[[ -x $LABNET && -r $STATE/devices.tsv ]] || {
	echo "probe.sh: the lab is not up (no $STATE/devices.tsv); run examples/lab/lab.sh up" >&2
	exit 2
}

# devices.tsv: name ns ip/prefix zone vlan gateway ovs_port tcp udp
lookup() { # lookup KEY COLUMN: the COLUMN of the device whose name, ns or port is KEY
	awk -F'\t' -v k="$1" -v c="$2" '!/^#/ && ($1 == k || $2 == k || $7 == k) { print $c; exit }' "$STATE/devices.tsv"
}

if [[ $from == host || $from == root ]]; then
	ns=()
elif [[ -e /run/netns/$from ]]; then
	ns=(ip netns exec "$from")
else
	n=$(lookup "$from" 2)
	[[ -n $n ]] || {
		echo "probe.sh: no namespace or lab device \"$from\"" >&2
		exit 2
	}
	ns=(ip netns exec "$n")
fi

if [[ ! $dest =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
	d=$(lookup "$dest" 3)
	[[ -n $d ]] || {
		echo "probe.sh: \"$dest\" is neither an IPv4 address nor a lab device" >&2
		exit 2
	}
	dest=${d%/*}
fi

if [[ $port == icmp || $proto == icmp ]]; then
	target=icmp:$dest
else
	[[ $port =~ ^[0-9]+$ ]] || usage
	[[ $proto == tcp || $proto == udp ]] || usage
	target=$proto:$dest:$port
fi

exec "${ns[@]}" "$LABNET" probe "${quiet[@]}" -timeout "$timeout" "$target"
