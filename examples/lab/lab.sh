#!/usr/bin/env bash
# Ward's example lab: the example hospital's "access-ovs" devices as network
# namespaces behind an Open vSwitch access switch and a Linux nftables
# firewall, both reachable over SSH the way Ward reaches real ones, and the
# policy's Cisco IOS-XE, Arista EOS and Juniper Junos targets served by fake
# devices (netfakes/) on their own addresses. See README.md beside this script.
#
#   lab.sh up       build the lab (idempotent: running it again repairs, never resets)
#   lab.sh down     tear all of it down (idempotent)
#   lab.sh status   what is up; exit 0 healthy, 1 degraded, 3 down
#   lab.sh matrix   probe every device from every other device (open/closed)
#   lab.sh retag    put every device port back on its zone's VLAN (the initial state)
#
# Environment:
#   WARD_LAB_STATE      state dir (keys, pid files, OVS db, logs); default /run/ward-lab
#   WARD_LAB_POLICY     policy dir; default examples/hospital/policy
#   WARD_LAB_INVENTORY  inventory CSV; default examples/hospital/inventory.csv
#   WARD_LAB_FW_TARGET  the firewall target; default core-fw
#   WARD_LAB_SW_TARGET  the switch target whose inventory rows become devices; default access-ovs
#   WARD_LAB_NETFAKES   0: do not serve the network-OS targets (netfakes); default 1
#
# Needs root, Linux network namespaces, Open vSwitch (userspace datapath:
# no kernel module needed), OpenSSH sshd, nft, ethtool, sudo and Go
# (`make deps` installs the Debian packages).

set -Eeuo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$LAB_DIR/../.." && pwd)
STATE=${WARD_LAB_STATE:-/run/ward-lab}
POLICY_DIR=${WARD_LAB_POLICY:-$REPO/examples/hospital/policy}
INVENTORY=${WARD_LAB_INVENTORY:-$REPO/examples/hospital/inventory.csv}
FW_TARGET=${WARD_LAB_FW_TARGET:-core-fw}
SW_TARGET=${WARD_LAB_SW_TARGET:-access-ovs}
NETFAKES_ON=${WARD_LAB_NETFAKES:-1}

readonly MGMT_BRIDGE=wardmgmt
readonly MGMT_NET=10.250.61          # /24; the targets' addresses must be in it
readonly MGMT_HOST_IP=10.250.61.1
readonly FW_NS=ward-fw SW_NS=ward-sw DEV_NS_PREFIX=ward-d-
readonly FW_MGMT_IF=mg-fw SW_MGMT_IF=mg-sw
# The network-OS targets (drivers below) are fakes in one namespace of
# their own, each on its target's address: a host sshd on 0.0.0.0:22 would
# keep them off port 22 in this namespace. Their addresses must lie in
# VENDOR_NET.0.0/16 (the example's management range).
readonly NF_NS=ward-nf NF_MGMT_IF=mg-nf VENDOR_NET=10.250
readonly VENDOR_DRIVERS=" cisco_iosxe arista_eos juniper_junos "
readonly OVS_BRIDGE=ward-br
# OVS's own tools honour OVS_RUNDIR too; changing it is for testing the lab only
# (the ward user's ovs-vsctl, run through sudo, always uses the default).
OVS_RUNDIR=${OVS_RUNDIR:-/var/run/openvswitch}
export OVS_RUNDIR
readonly OVS_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
readonly LAB_USER=ward
readonly SUDOERS_FILE=/etc/sudoers.d/ward-lab
readonly KH_BEGIN='# BEGIN ward-lab' KH_END='# END ward-lab'
readonly DEFAULT_KNOWN_HOSTS=/etc/ward/known_hosts
# Every device also answers on these, whatever its zone: tcp/22 and tcp/7
# (echo) are what the negative probes aim at.
readonly BASE_TCP=7,22 BASE_UDP=7

LABNET=$STATE/bin/labnet
NETFAKES=$STATE/bin/netfakes

# --- messages ----------------------------------------------------------------

log() { printf 'ward-lab: %s\n' "$*"; }
step() { printf '==> %s\n' "$*"; }
warn() { printf 'ward-lab: warning: %s\n' "$*" >&2; }
die() {
	printf 'ward-lab: error: %s\n' "$*" >&2
	exit 1
}
# shellcheck disable=SC2154 # rc is set inside the trap
trap 'rc=$?; ((rc == 141)) || printf "ward-lab: failed (exit %s) at line %s: %s\n" "$rc" "$LINENO" "$BASH_COMMAND" >&2' ERR

usage() {
	sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

require_root() {
	[[ $(id -u) == 0 ]] || die "must run as root (network namespaces, OVS, sshd, sudoers): sudo $0 $*"
}

require_cmds() {
	local c missing=()
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	((${#missing[@]} == 0)) || die "missing commands: ${missing[*]} (run 'make deps' in $REPO)"
}

find_go() {
	GO=$(command -v go 2>/dev/null || true)
	[[ -n $GO ]] || { [[ -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go; }
	[[ -n $GO ]] || die "Go is needed to build the lab's helper (examples/lab/labnet); put 'go' on PATH"
}

# --- small helpers -------------------------------------------------------------

ns_exists() { [[ -e /run/netns/$1 ]]; }

# in_ns PID NS: the process runs in namespace NS (not in one deleted and
# re-created under the same name).
in_ns() {
	local want
	want=$(stat -L -c %i "/run/netns/$2" 2>/dev/null) || return 1
	[[ $(readlink "/proc/$1/ns/net" 2>/dev/null) == "net:[$want]" ]]
}

# veth_ok HOST_IF NS NS_IF: HOST_IF here and NS_IF in NS are the two ends of
# one veth.
veth_ok() {
	local h n hidx hpeer nidx npeer
	h=$(ip -o link show dev "$1" 2>/dev/null) || return 1
	n=$(ip -n "$2" -o link show dev "$3" 2>/dev/null) || return 1
	hidx=${h%%:*} nidx=${n%%:*}
	[[ $h =~ ^[0-9]+:\ [^@:]+@if([0-9]+): ]] || return 1
	hpeer=${BASH_REMATCH[1]}
	[[ $n =~ ^[0-9]+:\ [^@:]+@if([0-9]+): ]] || return 1
	npeer=${BASH_REMATCH[1]}
	[[ $hpeer == "$nidx" && $npeer == "$hidx" ]]
}

# new_veth HOST_IF NS NS_IF: (re)create the pair unless it is intact; status 0
# when it was (re)created.
new_veth() {
	veth_ok "$1" "$2" "$3" && return 1
	ip link del "$1" 2>/dev/null || true
	ip -n "$2" link del "$3" 2>/dev/null || true
	ip link add "$1" type veth peer name "$3" netns "$2"
}
link_exists() { ip link show dev "$1" >/dev/null 2>&1; }
ns_link_exists() { ip -n "$1" link show dev "$2" >/dev/null 2>&1; }

ip2int() {
	local IFS=.
	local -a o
	read -r -a o <<<"$1"
	echo $(((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]))
}
int2ip() { echo "$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"; }
valid_ipv4() { [[ $1 =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] && ((BASH_REMATCH[1] < 256 && BASH_REMATCH[2] < 256 && BASH_REMATCH[3] < 256 && BASH_REMATCH[4] < 256)); }

# pid_alive PIDFILE WORD: the pid in PIDFILE runs and its command line has WORD.
pid_alive() {
	local pid
	[[ -s $1 ]] || return 1
	pid=$(<"$1")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ -r /proc/$pid/cmdline ]] || return 1
	tr '\0' ' ' </proc/"$pid"/cmdline | grep -q -- "$2"
}

# running PID: the process exists and is not a zombie (whoever reaps
# orphans here may take its time).
running() {
	local st
	st=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
	[[ -n $st && $st != Z ]]
}

# stop_pidfiles WORD PIDFILE...: TERM (then KILL) the processes, if they are ours.
stop_pidfiles() {
	local word=$1 pidf pid i
	local -a pids=() names=()
	shift
	for pidf in "$@"; do
		if pid_alive "$pidf" "$word"; then
			pid=$(<"$pidf")
			kill -TERM "$pid" 2>/dev/null || true
			pids+=("$pid")
			names+=("$(basename "$pidf" .pid)")
		fi
	done
	for i in $(seq 50); do
		for pid in "${pids[@]}"; do
			if running "$pid"; then
				sleep 0.1
				continue 2
			fi
		done
		break
	done
	for i in "${!pids[@]}"; do
		running "${pids[$i]}" && kill -KILL "${pids[$i]}" 2>/dev/null || true
		log "stopped ${names[$i]} (pid ${pids[$i]})"
	done
	rm -f "$@"
}

tx_off() { # tx_off [NS] IF: no TX checksum offload (the userspace datapath does not fill checksums in)
	local out
	if [[ $# == 2 ]]; then
		out=$(ip netns exec "$1" ethtool -K "$2" tx off 2>&1) || warn "ethtool -K $2 tx off (in $1): $out"
	else
		out=$(ethtool -K "$1" tx off 2>&1) || warn "ethtool -K $1 tx off: $out"
	fi
}

no_ipv6_root_if() {
	local f=/proc/sys/net/ipv6/conf/$1/disable_ipv6
	[[ -w $f ]] && echo 1 >"$f" 2>/dev/null || true
}

ensure_ns() {
	if ! ns_exists "$1"; then
		ip netns add "$1"
	fi
	ip -n "$1" link set lo up
	# The lab is IPv4 only; no router solicitations or DAD chatter on the switch.
	ip netns exec "$1" sh -c 'for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 /proc/sys/net/ipv6/conf/default/disable_ipv6; do [ -w $f ] && echo 1 >$f; done; true' 2>/dev/null || true
}

# --- the policy and the inventory ----------------------------------------------

declare -A ZONE_VLAN ZONE_SUBNET ZONE_TCP ZONE_UDP ZONE_MATCH
declare -A T_DRIVER T_ADDR T_PORT T_USER T_CRED T_KH FLOW_PAIR
ZONES=() F_NAME=() F_FROM=() F_TO=() F_TCP=() T_ORDER=()
DEFAULT_ZONE=""
QUARANTINE_VLAN=""

load_policy() {
	[[ -d $POLICY_DIR ]] || die "no policy directory $POLICY_DIR (set WARD_LAB_POLICY)"
	local files=("$POLICY_DIR"/*.hcl) out rec
	[[ -e ${files[0]} ]] || die "no *.hcl files in $POLICY_DIR"
	out=$(awk -f "$LAB_DIR/policy.awk" "${files[@]}") || die "could not read the policy in $POLICY_DIR"
	while IFS= read -r line; do
		IFS=$'\t' read -r -a rec <<<"$line"
		case ${rec[0]} in
		default_zone) DEFAULT_ZONE=${rec[1]} ;;
		quarantine_vlan) QUARANTINE_VLAN=${rec[1]} ;;
		zone)
			ZONES+=("${rec[1]}")
			ZONE_VLAN[${rec[1]}]=${rec[2]#-}
			ZONE_SUBNET[${rec[1]}]=${rec[3]#-}
			ZONE_TCP[${rec[1]}]=${rec[4]#-}
			ZONE_UDP[${rec[1]}]=${rec[5]#-}
			ZONE_MATCH[${rec[1]}]=$(printf '%s\t' "${rec[@]:6}")
			;;
		flow)
			F_NAME+=("${rec[1]}")
			F_FROM+=("${rec[2]#-}")
			F_TO+=("${rec[3]#-}")
			F_TCP+=("${rec[4]#-}")
			local a b
			for a in ${rec[2]#-}; do
				for b in ${rec[3]#-}; do FLOW_PAIR[$a'>'$b]=1; done
			done
			;;
		target)
			T_ORDER+=("${rec[1]}")
			T_DRIVER[${rec[1]}]=${rec[2]#-}
			T_ADDR[${rec[1]}]=${rec[3]#-}
			T_PORT[${rec[1]}]=${rec[4]#-}
			T_USER[${rec[1]}]=${rec[5]#-}
			T_CRED[${rec[1]}]=${rec[6]#-}
			T_KH[${rec[1]}]=${rec[7]#-}
			;;
		esac
	done <<<"$out"
	((${#ZONES[@]} > 0)) || die "no zones found in $POLICY_DIR"
	[[ -n $DEFAULT_ZONE ]] || DEFAULT_ZONE=unclassified

	local t want
	for t in "$FW_TARGET" "$SW_TARGET"; do
		[[ -n ${T_ADDR[$t]+x} ]] || die "the policy has no target \"$t\" (set WARD_LAB_FW_TARGET / WARD_LAB_SW_TARGET)"
		[[ $t == "$FW_TARGET" ]] && want=linux_nftables || want=openvswitch
		[[ ${T_DRIVER[$t]} == "$want" ]] || die "target \"$t\" has driver \"${T_DRIVER[$t]}\"; the lab plays a $want target"
		[[ ${T_ADDR[$t]} =~ ^${MGMT_NET//./\\.}\.([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 2 && BASH_REMATCH[1] <= 254)) ||
			die "target \"$t\" address ${T_ADDR[$t]} is not a host in the lab's management network $MGMT_NET.0/24 (other than .1)"
		[[ -n ${T_USER[$t]} ]] || die "target \"$t\" has no username"
		[[ ${T_USER[$t]} == "$LAB_USER" ]] || die "target \"$t\" logs in as \"${T_USER[$t]}\"; the lab's user is \"$LAB_USER\""
		[[ -n ${T_CRED[$t]} && ${T_CRED[$t]} != */* ]] || die "target \"$t\" has no usable credential name"
		[[ -z ${T_KH[$t]} || ${T_KH[$t]} == /* ]] || die "target \"$t\": known_hosts ${T_KH[$t]} is not an absolute path"
	done
	[[ ${T_ADDR[$FW_TARGET]} != "${T_ADDR[$SW_TARGET]}" ]] || die "targets $FW_TARGET and $SW_TARGET share the address ${T_ADDR[$FW_TARGET]}"
	FW_ADDR=${T_ADDR[$FW_TARGET]}
	SW_ADDR=${T_ADDR[$SW_TARGET]}
	load_vendor_targets
}

# load_vendor_targets: V_TARGETS, every target whose driver has a fake
# (netfakes), in policy order; one the lab cannot serve is skipped with a
# warning, never silently.
V_TARGETS=()
load_vendor_targets() {
	local t a p seen_addr=" $FW_ADDR $SW_ADDR $MGMT_HOST_IP " seen_cred=" ${T_CRED[$FW_TARGET]} ${T_CRED[$SW_TARGET]} "
	[[ $NETFAKES_ON == 1 ]] || return 0
	for t in "${T_ORDER[@]}"; do
		[[ $VENDOR_DRIVERS == *" ${T_DRIVER[$t]} "* ]] || continue
		a=${T_ADDR[$t]}
		if ! valid_ipv4 "$a" || [[ $a != "$VENDOR_NET".* ]]; then
			warn "target \"$t\" (${T_DRIVER[$t]}): address $a is not in $VENDOR_NET.0.0/16; the lab does not serve it"
			continue
		fi
		[[ $seen_addr != *" $a "* ]] || die "target \"$t\": address $a is taken by another target or the host"
		p=${T_PORT[$t]}
		[[ $p =~ ^[0-9]+$ ]] && ((p > 0 && p < 65536)) || die "target \"$t\": port ${T_PORT[$t]} is not a TCP port"
		[[ ${T_USER[$t]} =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "target \"$t\": username \"${T_USER[$t]}\" is not one the lab's fakes take"
		[[ -n ${T_CRED[$t]} && ${T_CRED[$t]} != */* ]] || die "target \"$t\" has no usable credential name"
		[[ $seen_cred != *" ${T_CRED[$t]} "* ]] || die "target \"$t\": credential ${T_CRED[$t]} is another target's too; the lab writes one password per target"
		[[ -z ${T_KH[$t]} || ${T_KH[$t]} == /* ]] || die "target \"$t\": known_hosts ${T_KH[$t]} is not an absolute path"
		[[ $t =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "target name \"$t\" is not a usable file name"
		seen_addr+="$a "
		seen_cred+="${T_CRED[$t]} "
		V_TARGETS+=("$t")
	done
}

# place_device: the zone whose match block fits the device in ROW (an
# associative array of the inventory columns), else the default zone.
declare -A ROW
place_device() {
	local z field key pats pat val ok any found=""
	local -a fields patlist
	for z in "${ZONES[@]}"; do
		[[ -n ${ZONE_MATCH[$z]//$'\t'/} ]] || continue # no match block: never placed by rule
		ok=1
		IFS=$'\t' read -r -a fields <<<"${ZONE_MATCH[$z]}"
		for field in "${fields[@]}"; do
			[[ -n $field ]] || continue
			key=${field%%=*}
			pats=${field#*=}
			val=${ROW[$key]-}
			IFS=$'\037' read -r -a patlist <<<"$pats"
			any=0
			for pat in "${patlist[@]}"; do
				# shellcheck disable=SC2053 # pat is a glob on purpose
				if [[ $val == $pat ]]; then
					any=1
					break
				fi
			done
			((any)) || { ok=0 && break; }
		done
		if ((ok)); then
			[[ -z $found ]] || warn "device ${ROW[name]} matches zones $found and $z; the lab uses $found (ward validate will complain)"
			[[ -n $found ]] || found=$z
		fi
	done
	echo "${found:-$DEFAULT_ZONE}"
}

# Devices: parallel arrays, one entry per inventory row on the switch target.
D_NAME=() D_MAC=() D_IP=() D_CLASS=() D_ZONE=() D_VLAN=() D_PLEN=() D_GW=() D_PORT=() D_NS=() D_TCP=() D_UDP=()
declare -A VLAN_GW VLAN_PLEN VLAN_ZONE

load_devices() {
	[[ -r $INVENTORY ]] || die "cannot read the inventory $INVENTORY (set WARD_LAB_INVENTORY)"
	local header line n=0 i col zone vlan subnet net plen mask gw ipn
	local -a cols vals
	declare -A seen_port seen_ip
	IFS= read -r header <"$INVENTORY"
	header=${header%$'\r'}
	IFS=, read -r -a cols <<<"$header"
	for col in name ip switch port class; do
		[[ ",$header," == *",$col,"* ]] || die "inventory $INVENTORY has no \"$col\" column"
	done
	while IFS= read -r line || [[ -n $line ]]; do
		n=$((n + 1))
		((n > 1)) || continue
		line=${line%$'\r'}
		[[ -n $line ]] || continue
		IFS=, read -r -a vals <<<"$line"
		ROW=()
		for i in "${!cols[@]}"; do ROW[${cols[$i]}]=${vals[$i]-}; done
		[[ ${ROW[switch]} == "$SW_TARGET" ]] || continue
		[[ $line != *'"'* ]] || die "inventory line $n: quoted CSV fields are not supported by the lab"

		zone=$(place_device)
		vlan=${ZONE_VLAN[$zone]-}
		subnet=${ZONE_SUBNET[$zone]-}
		[[ -n $vlan && -n $subnet ]] || die "inventory line $n (${ROW[name]}): zone $zone needs a vlan and a subnet for the lab"
		valid_ipv4 "${ROW[ip]}" || die "inventory line $n (${ROW[name]}): bad IPv4 address \"${ROW[ip]}\""
		net=${subnet%/*}
		plen=${subnet#*/}
		[[ $plen =~ ^[0-9]+$ ]] && ((plen >= 8 && plen <= 30)) || die "zone $zone: subnet $subnet: the lab needs a prefix between /8 and /30"
		mask=$(((0xffffffff << (32 - plen)) & 0xffffffff))
		ipn=$(ip2int "${ROW[ip]}")
		(((ipn & mask) == ($(ip2int "$net") & mask))) || die "inventory line $n (${ROW[name]}): ${ROW[ip]} is not in zone $zone's subnet $subnet"
		gw=$(int2ip $((($(ip2int "$net") & mask) + 1)))
		[[ ${ROW[ip]} != "$gw" ]] || die "inventory line $n (${ROW[name]}): ${ROW[ip]} is the zone gateway the lab's firewall uses"
		[[ ${ROW[port]} =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$ ]] || die "inventory line $n (${ROW[name]}): port \"${ROW[port]}\" is not a usable interface name (1-15 of A-Za-z0-9_.-)"
		[[ ${ROW[port]} != fw-v* && ${ROW[port]} != mg-* && ${ROW[port]} != "$MGMT_BRIDGE" && ${ROW[port]} != "$OVS_BRIDGE" ]] ||
			die "inventory line $n: port name ${ROW[port]} clashes with the lab's own interfaces"
		[[ -z ${seen_port[${ROW[port]}]-} ]] || die "inventory line $n: port ${ROW[port]} is used twice"
		[[ -z ${seen_ip[${ROW[ip]}]-} ]] || die "inventory line $n: address ${ROW[ip]} is used twice"
		seen_port[${ROW[port]}]=1
		seen_ip[${ROW[ip]}]=1

		D_NAME+=("${ROW[name]}")
		D_MAC+=("${ROW[mac]-}")
		D_IP+=("${ROW[ip]}")
		D_CLASS+=("${ROW[class]}")
		D_ZONE+=("$zone")
		D_VLAN+=("$vlan")
		D_PLEN+=("$plen")
		D_GW+=("$gw")
		D_PORT+=("${ROW[port]}")
		D_NS+=("$DEV_NS_PREFIX${ROW[port]#p-}")
		D_TCP+=("$(uniq_ports "$BASE_TCP,${ZONE_TCP[$zone]}")")
		D_UDP+=("$(uniq_ports "$BASE_UDP,${ZONE_UDP[$zone]}")")
		if [[ -n ${VLAN_ZONE[$vlan]-} && ${VLAN_ZONE[$vlan]} != "$zone" ]]; then
			die "zones ${VLAN_ZONE[$vlan]} and $zone share VLAN $vlan"
		fi
		VLAN_ZONE[$vlan]=$zone
		VLAN_GW[$vlan]=$gw
		VLAN_PLEN[$vlan]=$plen
	done <"$INVENTORY"
	((${#D_NAME[@]} > 0)) || die "no inventory rows have switch=$SW_TARGET in $INVENTORY"
	for i in "${!D_NS[@]}"; do
		((${#D_NS[$i]} <= 32)) || die "namespace name ${D_NS[$i]} is too long"
	done
}

# uniq_ports "7,22,443,22," -> "7,22,443"
uniq_ports() {
	local p out=""
	local -A seen=()
	for p in ${1//,/ }; do
		[[ -z ${seen[$p]-} ]] || continue
		seen[$p]=1
		out+=${out:+,}$p
	done
	echo "$out"
}

lab_vlans() { printf '%s\n' "${!VLAN_ZONE[@]}" | sort -n; }

# --- up ----------------------------------------------------------------------

setup_state() {
	[[ $STATE == /* && $STATE != / ]] || die "WARD_LAB_STATE must be an absolute directory other than /"
	mkdir -p "$STATE"/{bin,run,logs,ovs,ssh/hostkeys,credentials,build,netfakes}
	touch "$STATE/.ward-lab"
	# The lab user must reach authorized_keys (sshd reads it as the user);
	# secrets live in the 0700 directories.
	chmod 0755 "$STATE" "$STATE/ssh"
	chmod 0700 "$STATE/credentials" "$STATE/ssh/hostkeys"
}

# lab.conf: what status, matrix and probe.sh need to know without the policy.
write_lab_conf() {
	cat >"$STATE/lab.conf.new" <<EOF
# Written by lab.sh up (sourced by lab.sh and probe.sh).
FW_TARGET=$(printf '%q' "$FW_TARGET") FW_ADDR=$FW_ADDR FW_PORT=${T_PORT[$FW_TARGET]} FW_CRED=$(printf '%q' "${T_CRED[$FW_TARGET]}")
SW_TARGET=$(printf '%q' "$SW_TARGET") SW_ADDR=$SW_ADDR SW_PORT=${T_PORT[$SW_TARGET]} SW_CRED=$(printf '%q' "${T_CRED[$SW_TARGET]}")
QUARANTINE_VLAN=${QUARANTINE_VLAN}
EOF
	mv -f "$STATE/lab.conf.new" "$STATE/lab.conf"
}

read_lab_conf() {
	[[ -r $STATE/lab.conf ]] || return 1
	# shellcheck source=/dev/null
	source "$STATE/lab.conf"
}

build_labnet() {
	local src=$LAB_DIR/labnet/main.go
	if [[ -x $LABNET && $LABNET -nt $src ]]; then
		return
	fi
	find_go
	step "building the lab helper (labnet) into $STATE/bin"
	# Built as a throwaway module of its own (standard library only), so the
	# lab comes up whatever state Ward's own module is in.
	local b=$STATE/build
	cp "$src" "$b/main.go"
	printf 'module wardlab/labnet\n\ngo 1.22\n' >"$b/go.mod"
	local cache=${GOCACHE:-}
	[[ -n $cache || -n ${HOME:-} ]] || cache=$b/cache
	(cd "$b" && env GOWORK=off GOFLAGS='' GOTOOLCHAIN=local ${cache:+"GOCACHE=$cache"} "$GO" build -o "$LABNET.new" .) ||
		die "building examples/lab/labnet failed"
	mv -f "$LABNET.new" "$LABNET"
}

# build_netfakes: the fakes are packages of Ward's module, so netfakes is
# built inside it (unlike labnet). A binary identical to the last one is
# kept, so an unchanged netfakes keeps running (and keeps its state).
build_netfakes() {
	((${#V_TARGETS[@]} > 0)) || return 0
	find_go
	step "building the network-OS fakes (netfakes) into $STATE/bin"
	local cache=${GOCACHE:-}
	[[ -n $cache || -n ${HOME:-} ]] || cache=$STATE/build/cache
	(cd "$REPO" && env GOTOOLCHAIN=local ${cache:+"GOCACHE=$cache"} "$GO" build -buildvcs=false -o "$NETFAKES.new" ./examples/lab/netfakes) ||
		die "building examples/lab/netfakes failed (it is built from Ward's own module); WARD_LAB_NETFAKES=0 brings the lab up without the network-OS targets"
	if cmp -s "$NETFAKES.new" "$NETFAKES"; then
		rm -f "$NETFAKES.new"
	else
		mv -f "$NETFAKES.new" "$NETFAKES"
	fi
}

ovsdb_up() { ovs-vsctl --timeout=2 show >/dev/null 2>&1; }
vswitchd_up() { ovs-appctl --timeout=2 -t ovs-vswitchd version >/dev/null 2>&1; }

start_ovs() {
	mkdir -p "$OVS_RUNDIR"
	if ovsdb_up; then
		grep -qx ovsdb-server "$STATE/ovs-started-by-lab" 2>/dev/null || log "using the ovsdb-server already running"
	else
		step "starting ovsdb-server (database $STATE/ovs/conf.db)"
		[[ -r $OVS_SCHEMA ]] || die "no OVS schema at $OVS_SCHEMA (is openvswitch-switch installed?)"
		[[ -f $STATE/ovs/conf.db ]] || ovsdb-tool create "$STATE/ovs/conf.db" "$OVS_SCHEMA"
		ovsdb-server "$STATE/ovs/conf.db" \
			--remote="punix:$OVS_RUNDIR/db.sock" \
			--remote=db:Open_vSwitch,Open_vSwitch,manager_options \
			--pidfile --detach --log-file="$STATE/logs/ovsdb-server.log" </dev/null >/dev/null 2>&1 ||
			die "ovsdb-server did not start; see $STATE/logs/ovsdb-server.log"
		echo ovsdb-server >>"$STATE/ovs-started-by-lab"
		ovs-vsctl --no-wait init
	fi
	if vswitchd_up; then
		grep -qx ovs-vswitchd "$STATE/ovs-started-by-lab" 2>/dev/null || log "using the ovs-vswitchd already running"
	else
		step "starting ovs-vswitchd (userspace datapath)"
		ovs-vswitchd --pidfile --detach --log-file="$STATE/logs/ovs-vswitchd.log" </dev/null >/dev/null 2>&1 ||
			die "ovs-vswitchd did not start; see $STATE/logs/ovs-vswitchd.log"
		echo ovs-vswitchd >>"$STATE/ovs-started-by-lab"
	fi
}

# mgmt_leg NS HOST_IF ADDR: a veth from the management bridge to NS's mgmt0.
mgmt_leg() {
	local ns=$1 hif=$2 addr=$3
	if new_veth "$hif" "$ns" mgmt0; then
		ip neigh del "$addr" dev "$MGMT_BRIDGE" 2>/dev/null || true # the old mgmt0's MAC
	fi
	no_ipv6_root_if "$hif"
	ip link set "$hif" master "$MGMT_BRIDGE" up
	ip -n "$ns" addr replace "$addr/24" dev mgmt0
	ip -n "$ns" link set mgmt0 up
}

setup_mgmt() {
	step "management network $MGMT_NET.0/24: bridge $MGMT_BRIDGE ($MGMT_HOST_IP), $FW_NS ($FW_ADDR), $SW_NS ($SW_ADDR)"
	if ! link_exists "$MGMT_BRIDGE"; then
		ip link add "$MGMT_BRIDGE" type bridge
	fi
	no_ipv6_root_if "$MGMT_BRIDGE"
	ip addr replace "$MGMT_HOST_IP/24" dev "$MGMT_BRIDGE"
	ip link set "$MGMT_BRIDGE" up
	ensure_ns "$FW_NS"
	ensure_ns "$SW_NS"
	mgmt_leg "$FW_NS" "$FW_MGMT_IF" "$FW_ADDR"
	mgmt_leg "$SW_NS" "$SW_MGMT_IF" "$SW_ADDR"
}

setup_switch_and_firewall() {
	local vlan hif nif
	local -a args=(--timeout=30 -- --may-exist add-br "$OVS_BRIDGE" -- set bridge "$OVS_BRIDGE" datapath_type=netdev) unplug=(--timeout=30)
	step "OVS bridge $OVS_BRIDGE (datapath_type=netdev); firewall legs for VLANs $(lab_vlans | paste -sd' ')"
	ip netns exec "$FW_NS" sysctl -qw net.ipv4.ip_forward=1
	for vlan in $(lab_vlans); do
		hif=fw-v$vlan
		nif=v$vlan
		# A re-created interface must be unplugged and plugged in again, in two
		# transactions: OVS would keep its handle on the deleted one.
		new_veth "$hif" "$FW_NS" "$nif" && unplug+=(-- --if-exists del-port "$hif")
		no_ipv6_root_if "$hif"
		ip -n "$FW_NS" addr replace "${VLAN_GW[$vlan]}/${VLAN_PLEN[$vlan]}" dev "$nif"
		ip -n "$FW_NS" link set "$nif" up
		ip link set "$hif" up
		tx_off "$hif"
		tx_off "$FW_NS" "$nif"
		# The firewall legs are the lab's wiring, not Ward's: always on their VLAN.
		args+=(-- --may-exist add-port "$OVS_BRIDGE" "$hif" -- set port "$hif" tag="$vlan")
	done
	((${#unplug[@]} == 1)) || ovs-vsctl "${unplug[@]}"
	ovs-vsctl "${args[@]}"
}

# setup_netfakes_net: namespace ward-nf on the management bridge holding
# every network-OS target's address (/32), the management /24 on-link for
# the replies; addresses outside that /24 are routed onto the bridge here.
setup_netfakes_net() {
	local t a want=" " cur
	if ((${#V_TARGETS[@]} == 0)); then
		# None to serve (any more): no netfakes, no namespace, no routes.
		stop_pidfiles netfakes "$STATE/run/netfakes.pid"
		rm -f "$STATE/netfakes.conf"
		if ns_exists "$NF_NS"; then
			ip netns del "$NF_NS"
			log "deleted namespace $NF_NS (no network-OS targets to serve)"
		fi
		for cur in $(ip -o -4 route show dev "$MGMT_BRIDGE" | awk '$1 ~ /^[0-9.]+$/ {print $1}'); do
			ip route del "$cur/32" dev "$MGMT_BRIDGE"
		done
		return 0
	fi
	for t in "${V_TARGETS[@]}"; do want+="${T_ADDR[$t]}/32 "; done
	step "network-OS targets in $NF_NS:$(for t in "${V_TARGETS[@]}"; do printf ' %s (%s, %s)' "$t" "${T_DRIVER[$t]}" "${T_ADDR[$t]}"; done)"
	ensure_ns "$NF_NS"
	if new_veth "$NF_MGMT_IF" "$NF_NS" mgmt0; then
		# A new mgmt0 has a new MAC: forget the old one's, or the host
		# keeps sending to it until its neighbour entries time out.
		for t in "${V_TARGETS[@]}"; do ip neigh del "${T_ADDR[$t]}" dev "$MGMT_BRIDGE" 2>/dev/null || true; done
	fi
	no_ipv6_root_if "$NF_MGMT_IF"
	ip link set "$NF_MGMT_IF" master "$MGMT_BRIDGE" up
	ip -n "$NF_NS" link set mgmt0 up
	for cur in $(ip -n "$NF_NS" -o -4 addr show dev mgmt0 | awk '{print $4}'); do
		[[ $want == *" $cur "* ]] || ip -n "$NF_NS" addr del "$cur" dev mgmt0
	done
	for t in "${V_TARGETS[@]}"; do
		ip -n "$NF_NS" addr replace "${T_ADDR[$t]}/32" dev mgmt0
	done
	ip -n "$NF_NS" route replace "$MGMT_NET.0/24" dev mgmt0
	for cur in $(ip -o -4 route show dev "$MGMT_BRIDGE" | awk '$1 ~ /^[0-9.]+$/ {print $1}'); do
		[[ $want == *" $cur/32 "* ]] || ip route del "$cur/32" dev "$MGMT_BRIDGE"
	done
	for t in "${V_TARGETS[@]}"; do
		a=${T_ADDR[$t]}
		[[ $a == "$MGMT_NET".* ]] || ip route replace "$a/32" dev "$MGMT_BRIDGE" src "$MGMT_HOST_IP"
	done
}

# setup_vendor_credentials: one random password per network-OS target, in
# the credential file Ward reads (kept across up; a key found there, from
# an older lab, is replaced).
setup_vendor_credentials() {
	local t f
	for t in "${V_TARGETS[@]}"; do
		f=$STATE/credentials/${T_CRED[$t]}
		if [[ ! -s $f ]] || grep -q 'PRIVATE KEY' "$f"; then
			(
				umask 077
				printf '%s\n' "$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)" >"$f.new"
			)
			mv -f "$f.new" "$f"
			log "wrote a password for $t to $f"
		fi
		chmod 0600 "$f"
	done
}

# start_netfakes: (re)start netfakes unless it runs with the same
# configuration, binary and inventory (a restart is a factory reset of
# every fake).
start_netfakes() {
	local pidf=$STATE/run/netfakes.pid t deadline conf=$STATE/netfakes.conf
	if ((${#V_TARGETS[@]} == 0)); then
		stop_pidfiles netfakes "$pidf"
		rm -f "$conf"
		return 0
	fi
	{
		printf '# Written by lab.sh up: the network-OS targets netfakes serves.\n'
		printf '# netfakes %s, inventory %s %s\n' "$(sha256sum <"$NETFAKES" | cut -c1-16)" "$INVENTORY" "$(sha256sum <"$INVENTORY" | cut -c1-16)"
		printf '# name\tdriver\tlisten\thost key\tuser\tpassword file\n'
		for t in "${V_TARGETS[@]}"; do
			printf '%s\t%s\t%s:%s\t%s\t%s\t%s\n' "$t" "${T_DRIVER[$t]}" "${T_ADDR[$t]}" "${T_PORT[$t]}" \
				"$STATE/ssh/hostkeys/$t" "${T_USER[$t]}" "$STATE/credentials/${T_CRED[$t]}"
		done
	} >"$conf.new"
	if pid_alive "$pidf" netfakes && in_ns "$(<"$pidf")" "$NF_NS" && cmp -s "$conf.new" "$conf"; then
		rm -f "$conf.new"
		return 0
	fi
	if pid_alive "$pidf" netfakes; then
		log "restarting netfakes (its configuration, binary or inventory changed): the fakes start from factory settings"
	fi
	stop_pidfiles netfakes "$pidf"
	mv -f "$conf.new" "$conf"
	step "network-OS fakes (netfakes) in $NF_NS, log $STATE/logs/netfakes.log"
	ip netns exec "$NF_NS" setsid "$NETFAKES" -config "$conf" -inventory "$INVENTORY" -authorized-keys "$STATE/ssh/authorized_keys" \
		-pidfile "$pidf" -dump "$STATE/netfakes" </dev/null >>"$STATE/logs/netfakes.log" 2>&1 &
	deadline=$((SECONDS + 15))
	until [[ -s $pidf ]]; do
		if ! running $! || ((SECONDS > deadline)); then
			tail -n 5 "$STATE/logs/netfakes.log" >&2 || true
			die "netfakes did not come up; see $STATE/logs/netfakes.log"
		fi
		sleep 0.05
	done
	for t in "${V_TARGETS[@]}"; do
		until "$LABNET" probe -q -timeout 1s "${T_ADDR[$t]}:${T_PORT[$t]}"; do
			((SECONDS <= deadline)) || die "the fake of $t does not answer on ${T_ADDR[$t]}:${T_PORT[$t]}; see $STATE/logs/netfakes.log"
			sleep 0.1
		done
	done
}

valid_mac() { [[ ${1,,} =~ ^[0-9a-f]{2}(:[0-9a-f]{2}){5}$ ]] && (((0x${1:0:2} & 1) == 0)) && [[ $1 != 00:00:00:00:00:00 ]]; }

setup_devices() {
	local i ns hif tag
	local -a args=(--timeout=30) unplug=(--timeout=30)
	declare -A on_bridge=()
	for hif in $(ovs-vsctl list-ports "$OVS_BRIDGE"); do on_bridge[$hif]=1; done
	step "${#D_NAME[@]} device namespaces on $OVS_BRIDGE"
	for i in "${!D_NAME[@]}"; do
		ns=${D_NS[$i]}
		hif=${D_PORT[$i]}
		ensure_ns "$ns"
		if new_veth "$hif" "$ns" eth0; then
			if [[ -n ${on_bridge[$hif]-} ]]; then
				# The port outlived its interface: plug the new one in, keeping the port's VLAN.
				tag=$(ovs-vsctl get port "$hif" tag)
				[[ $tag =~ ^[0-9]+$ ]] || tag=${D_VLAN[$i]}
				unplug+=(-- del-port "$OVS_BRIDGE" "$hif")
				args+=(-- add-port "$OVS_BRIDGE" "$hif" tag="$tag")
			fi
		fi
		no_ipv6_root_if "$hif"
		if [[ -n ${D_MAC[$i]} ]]; then
			if valid_mac "${D_MAC[$i]}"; then
				ip -n "$ns" link set eth0 address "${D_MAC[$i]}"
			else
				warn "${D_NAME[$i]}: MAC ${D_MAC[$i]} is not a unicast MAC; the lab leaves a random one"
			fi
		fi
		ip -n "$ns" addr replace "${D_IP[$i]}/${D_PLEN[$i]}" dev eth0
		ip -n "$ns" link set eth0 up
		ip link set "$hif" up
		ip -n "$ns" route replace default via "${D_GW[$i]}" dev eth0
		tx_off "$hif"
		tx_off "$ns" eth0
		# A new port starts on its zone's VLAN; an existing one keeps whatever
		# VLAN it has (Ward's openvswitch driver owns it from then on).
		[[ -n ${on_bridge[$hif]-} ]] || args+=(-- add-port "$OVS_BRIDGE" "$hif" tag="${D_VLAN[$i]}")
	done
	((${#unplug[@]} == 1)) || ovs-vsctl "${unplug[@]}"
	((${#args[@]} == 1)) || ovs-vsctl "${args[@]}"

	{
		printf '# ward-lab devices (lab.sh up): name ns ip/prefix zone vlan gateway ovs_port tcp udp\n'
		for i in "${!D_NAME[@]}"; do
			printf '%s\t%s\t%s/%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${D_NAME[$i]}" "${D_NS[$i]}" "${D_IP[$i]}" "${D_PLEN[$i]}" \
				"${D_ZONE[$i]}" "${D_VLAN[$i]}" "${D_GW[$i]}" "${D_PORT[$i]}" "${D_TCP[$i]}" "${D_UDP[$i]}"
		done
	} >"$STATE/devices.tsv.new"
	mv -f "$STATE/devices.tsv.new" "$STATE/devices.tsv"
}

setup_user() {
	local pw nft ovsvsctl tmp
	if ! id -u "$LAB_USER" >/dev/null 2>&1; then
		step "creating user $LAB_USER"
		useradd -m -s /bin/bash -c "Ward example lab (examples/lab)" "$LAB_USER"
	fi
	# With UsePAM no, sshd refuses accounts whose password is locked ("!").
	# "*" is no password at all either, but not "locked".
	pw=$(getent shadow "$LAB_USER" | cut -d: -f2)
	if [[ $pw == '!'* ]]; then
		usermod -p '*' "$LAB_USER"
		log "set $LAB_USER's password field to '*' (no password; sshd refuses locked '!' accounts without PAM)"
	fi
	nft=$(command -v nft)
	ovsvsctl=$(command -v ovs-vsctl)
	tmp=$(mktemp)
	cat >"$tmp" <<EOF
# Installed by Ward's examples/lab/lab.sh; removed by "lab.sh down".
# The lab's targets log in as $LAB_USER and may run nft (core-fw) and
# ovs-vsctl (access-ovs) as root, nothing else.
Defaults:$LAB_USER !requiretty
$LAB_USER ALL=(root) NOPASSWD: $nft, $ovsvsctl
EOF
	visudo -cqf "$tmp" || {
		rm -f "$tmp"
		die "the generated sudoers file did not validate"
	}
	if ! cmp -s "$tmp" "$SUDOERS_FILE" 2>/dev/null; then
		install -m 0440 -o root -g root "$tmp" "$SUDOERS_FILE"
		log "installed $SUDOERS_FILE ($LAB_USER: nft, ovs-vsctl without a password)"
	fi
	rm -f "$tmp"
}

# sshd_conf TARGET NS
sshd_conf() {
	local t=$1 ns=$2
	cat <<EOF
# Generated by Ward's examples/lab/lab.sh: the SSH server of target "$t"
# (namespace $ns). Ward logs in as $LAB_USER with the key in
# $STATE/credentials/${T_CRED[$t]}.
ListenAddress ${T_ADDR[$t]}:${T_PORT[$t]}
HostKey $STATE/ssh/hostkeys/$t
PidFile $STATE/run/sshd-$t.pid
AuthorizedKeysFile $STATE/ssh/authorized_keys
AllowUsers $LAB_USER
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTunnel no
MaxStartups 64:30:128
MaxSessions 32
ClientAliveInterval 30
LogLevel VERBOSE
Subsystem sftp internal-sftp
EOF
}

setup_ssh() {
	local t ns
	step "OpenSSH: sshd in $FW_NS ($FW_ADDR:${T_PORT[$FW_TARGET]}) and $SW_NS ($SW_ADDR:${T_PORT[$SW_TARGET]}), user $LAB_USER"
	mkdir -p /run/sshd
	chmod 0755 /run/sshd
	if [[ ! -s $STATE/ssh/ward_ed25519 ]]; then
		rm -f "$STATE/ssh/ward_ed25519" "$STATE/ssh/ward_ed25519.pub"
		ssh-keygen -q -t ed25519 -N '' -C "ward@ward-lab" -f "$STATE/ssh/ward_ed25519"
	fi
	chmod 0600 "$STATE/ssh/ward_ed25519"
	install -m 0644 "$STATE/ssh/ward_ed25519.pub" "$STATE/ssh/authorized_keys"
	for t in "$FW_TARGET" "$SW_TARGET" "${V_TARGETS[@]}"; do
		[[ $t != "$FW_TARGET" && $t != "$SW_TARGET" ]] || install -m 0600 "$STATE/ssh/ward_ed25519" "$STATE/credentials/${T_CRED[$t]}"
		if [[ ! -s $STATE/ssh/hostkeys/$t ]]; then
			rm -f "$STATE/ssh/hostkeys/$t" "$STATE/ssh/hostkeys/$t.pub"
			ssh-keygen -q -t ed25519 -N '' -C "ward-lab $t" -f "$STATE/ssh/hostkeys/$t"
		fi
	done

	: >"$STATE/known_hosts.new"
	for t in "$FW_TARGET" "$SW_TARGET" "${V_TARGETS[@]}"; do
		local host=${T_ADDR[$t]}
		[[ ${T_PORT[$t]} == 22 ]] || host="[$host]:${T_PORT[$t]}"
		printf '%s %s\n' "$host" "$(cut -d' ' -f1,2 "$STATE/ssh/hostkeys/$t.pub")" >>"$STATE/known_hosts.new"
	done
	chmod 0644 "$STATE/known_hosts.new"
	mv -f "$STATE/known_hosts.new" "$STATE/known_hosts"

	for t in "$FW_TARGET" "$SW_TARGET"; do
		[[ $t == "$FW_TARGET" ]] && ns=$FW_NS || ns=$SW_NS
		sshd_conf "$t" "$ns" >"$STATE/ssh/sshd-$t.conf.new"
		/usr/sbin/sshd -t -f "$STATE/ssh/sshd-$t.conf.new" || die "sshd rejects the generated $STATE/ssh/sshd-$t.conf"
		if pid_alive "$STATE/run/sshd-$t.pid" sshd && in_ns "$(<"$STATE/run/sshd-$t.pid")" "$ns" &&
			cmp -s "$STATE/ssh/sshd-$t.conf.new" "$STATE/ssh/sshd-$t.conf"; then
			rm -f "$STATE/ssh/sshd-$t.conf.new"
			continue
		fi
		stop_pidfiles sshd "$STATE/run/sshd-$t.pid" # a changed config: restart
		mv -f "$STATE/ssh/sshd-$t.conf.new" "$STATE/ssh/sshd-$t.conf"
		ip netns exec "$ns" /usr/sbin/sshd -f "$STATE/ssh/sshd-$t.conf" -E "$STATE/logs/sshd-$t.log" </dev/null >/dev/null 2>&1 ||
			die "sshd for $t did not start; see $STATE/logs/sshd-$t.log"
	done
}

# strip_block: the file on stdin without the ward-lab block.
strip_block() {
	awk -v b="$KH_BEGIN" -v e="$KH_END" '$0 == b { skip = 1; next } skip && $0 == e { skip = 0; next } !skip'
}

known_hosts_paths() {
	{
		local t
		for t in "$FW_TARGET" "$SW_TARGET" "${V_TARGETS[@]}"; do
			[[ -n ${T_KH[$t]-} ]] && echo "${T_KH[$t]}"
		done
		[[ -r $STATE/known_hosts.paths ]] && cat "$STATE/known_hosts.paths"
		echo "$DEFAULT_KNOWN_HOSTS"
	} | sort -u
}

install_known_hosts() {
	local kh tmp
	: >"$STATE/known_hosts.paths"
	for t in "$FW_TARGET" "$SW_TARGET" "${V_TARGETS[@]}"; do
		[[ -n ${T_KH[$t]} ]] && echo "${T_KH[$t]}" >>"$STATE/known_hosts.paths"
	done
	sort -u -o "$STATE/known_hosts.paths" "$STATE/known_hosts.paths"
	while IFS= read -r kh; do
		mkdir -p "$(dirname "$kh")"
		tmp=$(mktemp "$kh.ward-lab.XXXXXX")
		if [[ -f $kh ]]; then
			strip_block <"$kh" >"$tmp"
			chmod --reference="$kh" "$tmp"
		else
			chmod 0644 "$tmp"
		fi
		{
			echo "$KH_BEGIN"
			echo "# Host keys of Ward's example lab (examples/lab/lab.sh up); \"lab.sh down\" removes this block."
			cat "$STATE/known_hosts"
			echo "$KH_END"
		} >>"$tmp"
		mv -f "$tmp" "$kh"
		log "pinned the lab's host keys in $kh"
	done <"$STATE/known_hosts.paths"
}

start_listeners() {
	local i ns pidf started=() deadline
	step "device listeners (labnet serve)"
	for i in "${!D_NAME[@]}"; do
		ns=${D_NS[$i]}
		pidf=$STATE/run/labnet-$ns.pid
		if pid_alive "$pidf" labnet; then
			in_ns "$(<"$pidf")" "$ns" && continue
			stop_pidfiles labnet "$pidf" # left in a namespace that was deleted
		fi
		rm -f "$pidf"
		ip netns exec "$ns" setsid "$LABNET" serve -name "${D_NAME[$i]}" -tcp "${D_TCP[$i]}" -udp "${D_UDP[$i]}" -pidfile "$pidf" \
			</dev/null >>"$STATE/logs/labnet-$ns.log" 2>&1 &
		started+=("$i")
	done
	deadline=$((SECONDS + 15))
	for i in "${started[@]}"; do
		ns=${D_NS[$i]}
		until [[ -s $STATE/run/labnet-$ns.pid ]]; do
			if ((SECONDS > deadline)); then
				tail -n 5 "$STATE/logs/labnet-$ns.log" >&2 || true
				die "the listeners of ${D_NAME[$i]} ($ns) did not come up; see $STATE/logs/labnet-$ns.log"
			fi
			sleep 0.05
		done
	done
}

wait_for_sshd() {
	local t deadline=$((SECONDS + 15))
	for t in "$FW_TARGET" "$SW_TARGET"; do
		until "$LABNET" probe -q -timeout 1s "${T_ADDR[$t]}:${T_PORT[$t]}"; do
			((SECONDS <= deadline)) || die "sshd of $t does not answer on ${T_ADDR[$t]}:${T_PORT[$t]}; see $STATE/logs/sshd-$t.log"
			sleep 0.1
		done
	done
}

# try_examples: probe commands between the lab's devices, for the "up" summary:
# one a flow of the policy allows, the same pair on a port no flow opens, and
# a pair of zones no flow connects.
try_examples() {
	local f a b i j port
	local -A zone_dev=()
	for i in "${!D_NAME[@]}"; do
		[[ -n ${zone_dev[${D_ZONE[$i]}]-} ]] || zone_dev[${D_ZONE[$i]}]=$i
	done
	for f in "${!F_NAME[@]}"; do
		[[ -n ${F_TCP[$f]} ]] || continue
		for a in ${F_FROM[$f]}; do
			[[ -n ${zone_dev[$a]-} ]] || continue
			for b in ${F_TO[$f]}; do
				[[ -n ${zone_dev[$b]-} && $a != "$b" ]] || continue
				i=${zone_dev[$a]} j=${zone_dev[$b]}
				port=${F_TCP[$f]##*,}
				port=${port%-*}
				printf '  %s/probe.sh %s %s %s   # %s -> %s: flow "%s" allows it\n' \
					"$LAB_DIR" "${D_NS[$i]}" "${D_IP[$j]}" "$port" "${D_NAME[$i]}" "${D_NAME[$j]}" "${F_NAME[$f]}"
				printf '  %s/probe.sh %s %s 7       # the same pair, tcp/7: no flow opens it\n' "$LAB_DIR" "${D_NS[$i]}" "${D_IP[$j]}"
				break 3
			done
		done
	done
	for i in "${!D_NAME[@]}"; do
		for j in "${!D_NAME[@]}"; do
			[[ ${D_ZONE[$i]} != "${D_ZONE[$j]}" && -z ${FLOW_PAIR[${D_ZONE[$i]}'>'${D_ZONE[$j]}]-} && ${D_TCP[$j]} != "$BASE_TCP" ]] || continue
			port=${D_TCP[$j]#"$BASE_TCP,"}
			port=${port%%,*}
			port=${port%-*}
			printf '  %s/probe.sh %s %s %s   # %s -> %s: no flow from %s to %s\n' "$LAB_DIR" "${D_NS[$i]}" "${D_IP[$j]}" "$port" \
				"${D_NAME[$i]}" "${D_NAME[$j]}" "${D_ZONE[$i]}" "${D_ZONE[$j]}"
			break 2
		done
	done
	printf '  ip netns exec %s ping -c1 %s\n' "${D_NS[0]}" "${D_IP[-1]}"
}

print_vendor_targets() {
	local t
	if ((${#V_TARGETS[@]} == 0)); then
		[[ $NETFAKES_ON == 1 ]] || echo "  network-OS targets: not served (WARD_LAB_NETFAKES=0)"
		return 0
	fi
	for t in "${V_TARGETS[@]}"; do
		printf '  %-10s %s = a fake %s in namespace %s, ssh %s@%s:%s (password in %s), log %s\n' "${T_DRIVER[$t]%%_*}" "$t" "${T_DRIVER[$t]}" \
			"$NF_NS" "${T_USER[$t]}" "${T_ADDR[$t]}" "${T_PORT[$t]}" "$STATE/credentials/${T_CRED[$t]}" "$STATE/logs/netfakes.log"
	done
	echo "  (the fakes keep their configuration in memory: restarting netfakes is a factory reset; $STATE/netfakes/<target>.cfg shows it)"
}

print_devices() {
	local i
	printf '  %-18s %-16s %-18s %-22s %5s  %-11s %s\n' DEVICE NAMESPACE ADDRESS ZONE VLAN "OVS PORT" "TCP PORTS"
	for i in "${!D_NAME[@]}"; do
		printf '  %-18s %-16s %-18s %-22s %5s  %-11s %s\n' "${D_NAME[$i]}" "${D_NS[$i]}" "${D_IP[$i]}/${D_PLEN[$i]}" \
			"${D_ZONE[$i]}" "${D_VLAN[$i]}" "${D_PORT[$i]}" "${D_TCP[$i]}"
	done
}

cmd_up() {
	local t0=$SECONDS zones
	require_root up
	require_cmds ip ovs-vsctl ovs-appctl ovsdb-server ovs-vswitchd ovsdb-tool ethtool /usr/sbin/sshd ssh-keygen nft sudo visudo awk setsid useradd
	load_policy
	load_devices
	zones=$(printf '%s\n' "${D_ZONE[@]}" | sort -u | wc -l)
	log "policy $POLICY_DIR, inventory $INVENTORY: ${#D_NAME[@]} devices on $SW_TARGET in $zones zones"
	setup_state
	write_lab_conf
	build_labnet
	build_netfakes
	start_ovs
	setup_mgmt
	setup_netfakes_net
	setup_switch_and_firewall
	setup_devices
	setup_user
	setup_vendor_credentials
	setup_ssh
	install_known_hosts
	start_listeners
	start_netfakes
	wait_for_sshd

	cat <<EOF

ward-lab is up ($((SECONDS - t0)) s). State: $STATE

  firewall   $FW_TARGET   = namespace $FW_NS, ssh ${LAB_USER}@$FW_ADDR (sudo nft), zone gateways on OVS access ports fw-v<VLAN>
  switch     $SW_TARGET = namespace $SW_NS, ssh ${LAB_USER}@$SW_ADDR (sudo ovs-vsctl), bridge $OVS_BRIDGE
$(print_vendor_targets)
  management $MGMT_BRIDGE $MGMT_HOST_IP/24 in this namespace

$(print_devices)

For Ward (the targets' known_hosts, ${T_KH[$FW_TARGET]:-$DEFAULT_KNOWN_HOSTS}, now pins the lab's host keys):

  export WARD_CREDENTIALS_DIR=$STATE/credentials

Try (exit status 0: open, 1: closed; with no rules in $FW_NS yet, everything is open):
$(try_examples)
  ssh -i $STATE/credentials/${T_CRED[$FW_TARGET]} -o UserKnownHostsFile=$STATE/known_hosts ${LAB_USER}@$FW_ADDR 'sudo -n nft list ruleset'
  ssh -i $STATE/credentials/${T_CRED[$SW_TARGET]} -o UserKnownHostsFile=$STATE/known_hosts ${LAB_USER}@$SW_ADDR 'sudo -n ovs-vsctl show'
  $LAB_DIR/lab.sh matrix      # who reaches whom
  $LAB_DIR/lab.sh status
  $LAB_DIR/lab.sh down
EOF
}

# --- down --------------------------------------------------------------------

cmd_down() {
	require_root down
	local pidf ns pids l kh tmp
	local -a lab_ns=() links=()
	# What to remove comes from the state dir; without one, from the policy.
	if [[ -r $STATE/devices.tsv ]]; then
		while IFS=$'\t' read -r _ ns _ _ _ _ l _; do
			[[ $ns == "$DEV_NS_PREFIX"* ]] && lab_ns+=("$ns") && links+=("$l")
		done < <(grep -v '^#' "$STATE/devices.tsv")
	elif (load_policy && load_devices) >/dev/null 2>&1; then
		load_policy
		load_devices
		lab_ns+=("${D_NS[@]}")
		links+=("${D_PORT[@]}")
	fi
	if [[ -e $STATE && ! -e $STATE/.ward-lab ]]; then
		die "$STATE exists but is not a ward-lab state directory (no .ward-lab); refusing to touch it"
	fi
	step "stopping the lab's processes"
	shopt -s nullglob
	stop_pidfiles labnet "$STATE"/run/labnet-*.pid
	stop_pidfiles sshd "$STATE"/run/sshd-*.pid
	stop_pidfiles netfakes "$STATE"/run/netfakes.pid
	shopt -u nullglob

	if command -v ovs-vsctl >/dev/null 2>&1 && ovsdb_up; then
		if ovs-vsctl br-exists "$OVS_BRIDGE" 2>/dev/null; then
			step "deleting OVS bridge $OVS_BRIDGE"
			if vswitchd_up; then
				ovs-vsctl --timeout=30 del-br "$OVS_BRIDGE"
			else
				ovs-vsctl --no-wait del-br "$OVS_BRIDGE"
			fi
		fi
	fi

	# Every ward-d-* namespace is the lab's (recorded or not).
	while IFS= read -r ns; do
		[[ $ns == "$DEV_NS_PREFIX"* ]] && lab_ns+=("$ns")
	done < <(ip netns list 2>/dev/null | awk '{print $1}')
	lab_ns+=("$FW_NS" "$SW_NS" "$NF_NS")
	step "deleting namespaces"
	for ns in $(printf '%s\n' "${lab_ns[@]}" | sort -u); do
		ns_exists "$ns" || continue
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		if [[ -n $pids ]]; then
			log "stopping what still runs in $ns: pids ${pids//$'\n'/ }"
			# shellcheck disable=SC2086
			kill -TERM $pids 2>/dev/null || true
			sleep 0.3
			pids=$(ip netns pids "$ns" 2>/dev/null || true)
			# shellcheck disable=SC2086
			[[ -z $pids ]] || kill -KILL $pids 2>/dev/null || true
		fi
		ip netns del "$ns"
		log "deleted namespace $ns"
	done

	# Deleting a namespace deletes its veths and so their peers here; these
	# catch leftovers of a half-built lab.
	for l in "${links[@]}" "$MGMT_BRIDGE" "$FW_MGMT_IF" "$SW_MGMT_IF" "$NF_MGMT_IF" \
		$(ip -o link show 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | grep -E '^fw-v[0-9]+$' || true); do
		if link_exists "$l"; then
			ip link del "$l"
			log "deleted link $l"
		fi
	done

	if [[ -r $STATE/ovs-started-by-lab ]]; then
		if grep -qx ovs-vswitchd "$STATE/ovs-started-by-lab"; then
			step "stopping ovs-vswitchd (the lab started it)"
			ovs-appctl --timeout=10 -t ovs-vswitchd exit --cleanup >/dev/null 2>&1 || true
			stop_pidfiles ovs-vswitchd "$OVS_RUNDIR/ovs-vswitchd.pid"
		fi
		if grep -qx ovsdb-server "$STATE/ovs-started-by-lab"; then
			step "stopping ovsdb-server (the lab started it)"
			ovs-appctl --timeout=10 -t ovsdb-server exit >/dev/null 2>&1 || true
			stop_pidfiles ovsdb-server "$OVS_RUNDIR/ovsdb-server.pid"
		fi
	fi

	while IFS= read -r kh; do
		if [[ -f $kh ]] && grep -qxF "$KH_BEGIN" "$kh"; then
			tmp=$(mktemp "$kh.ward-lab.XXXXXX")
			strip_block <"$kh" >"$tmp"
			chmod --reference="$kh" "$tmp"
			mv -f "$tmp" "$kh"
			log "removed the lab's block from $kh"
		fi
	done < <(known_hosts_paths)
	if [[ -e $SUDOERS_FILE ]]; then
		rm -f "$SUDOERS_FILE"
		log "removed $SUDOERS_FILE (user $LAB_USER is kept)"
	fi
	if [[ -e $STATE/.ward-lab ]]; then
		rm -rf -- "$STATE"
		log "removed $STATE"
	fi
	log "down"
}

# --- status, matrix, retag ---------------------------------------------------

read_devices() { # fills D_* from $STATE/devices.tsv
	local name ns cidr zone vlan gw port tcp udp
	[[ -r $STATE/devices.tsv ]] || return 1
	while IFS=$'\t' read -r name ns cidr zone vlan gw port tcp udp; do
		D_NAME+=("$name") D_NS+=("$ns") D_IP+=("${cidr%/*}") D_PLEN+=("${cidr#*/}") D_ZONE+=("$zone")
		D_VLAN+=("$vlan") D_GW+=("$gw") D_PORT+=("$port") D_TCP+=("$tcp") D_UDP+=("$udp")
	done < <(grep -v '^#' "$STATE/devices.tsv")
}

cmd_status() {
	require_root status
	local bad=0 ns i tag t pidf word line addr name
	declare -A tags=()
	if ! read_devices || ! read_lab_conf; then
		echo "ward-lab is down (no $STATE/devices.tsv)."
		line=$(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^($FW_NS|$SW_NS|$NF_NS|$DEV_NS_PREFIX.*)$" | paste -sd' ' || true)
		[[ -z $line ]] || echo "leftover namespaces: $line (run lab.sh down)"
		exit 3
	fi
	echo "ward-lab status (state $STATE)"

	echo
	echo "Open vSwitch:"
	for word in ovsdb-server ovs-vswitchd; do
		pidf=$OVS_RUNDIR/$word.pid
		if pid_alive "$pidf" "$word"; then
			printf '  %-13s pid %s%s\n' "$word" "$(<"$pidf")" "$(grep -qx "$word" "$STATE/ovs-started-by-lab" 2>/dev/null && echo ' (started by the lab)')"
		else
			printf '  %-13s NOT RUNNING\n' "$word"
			bad=1
		fi
	done
	if ovsdb_up && ovs-vsctl br-exists "$OVS_BRIDGE" 2>/dev/null; then
		echo "  bridge $OVS_BRIDGE ($(ovs-vsctl get bridge "$OVS_BRIDGE" datapath_type)): $(ovs-vsctl list-ports "$OVS_BRIDGE" | wc -l) ports"
		while IFS=, read -r name tag; do
			name=${name//\"/}
			tags[$name]=$tag
		done < <(ovs-vsctl --format=csv --no-headings --columns=name,tag list Port)
		for name in $(ovs-vsctl list-ports "$OVS_BRIDGE" | grep '^fw-v'); do
			printf '  %-12s tag %-5s (firewall leg)\n' "$name" "${tags[$name]}"
		done
	else
		echo "  bridge $OVS_BRIDGE MISSING"
		bad=1
	fi

	echo
	echo "Namespaces: $(ip netns list | awk '{print $1}' | grep -E "^($FW_NS|$SW_NS|$NF_NS|$DEV_NS_PREFIX.*)$" | sort | paste -sd' ')"

	echo
	echo "SSH targets (probed from this namespace):"
	for t in "$FW_TARGET" "$SW_TARGET"; do
		pidf=$STATE/run/sshd-$t.pid
		if [[ $t == "$FW_TARGET" ]]; then
			ns=$FW_NS addr=$FW_ADDR:$FW_PORT
		else
			ns=$SW_NS addr=$SW_ADDR:$SW_PORT
		fi
		if pid_alive "$pidf" sshd; then
			printf '  %-11s %-8s sshd pid %-7s ' "$t" "$ns" "$(<"$pidf")"
		else
			printf '  %-11s %-8s sshd NOT RUNNING ' "$t" "$ns"
			bad=1
		fi
		if line=$("$LABNET" probe -timeout 1s "$addr" 2>&1); then
			echo "$line"
		else
			echo "$line"
			bad=1
		fi
	done

	status_netfakes || bad=1

	echo
	echo "Devices:"
	printf '  %-18s %-16s %-14s %-21s %-11s %-9s %-15s %s\n' DEVICE NAMESPACE ADDRESS ZONE "OVS PORT" ZONE-VLAN PORT-TAG LISTENERS
	for i in "${!D_NAME[@]}"; do
		tag=${tags[${D_PORT[$i]}]-missing}
		[[ $tag != "[]" ]] || tag=none
		pidf=$STATE/run/labnet-${D_NS[$i]}.pid
		if pid_alive "$pidf" labnet; then line="pid $(<"$pidf")"; else
			line="NOT RUNNING"
			bad=1
		fi
		ns_exists "${D_NS[$i]}" || { line="NO NAMESPACE" && bad=1; }
		[[ $tag == missing ]] && bad=1
		if [[ $tag != "${D_VLAN[$i]}" && $tag != missing ]]; then
			[[ $tag == "${QUARANTINE_VLAN:-none}" ]] && tag="$tag(quarantine)" || tag="$tag(!)"
		fi
		printf '  %-18s %-16s %-14s %-21s %-11s %-9s %-15s %s\n' "${D_NAME[$i]}" "${D_NS[$i]}" "${D_IP[$i]}" "${D_ZONE[$i]}" \
			"${D_PORT[$i]}" "${D_VLAN[$i]}" "$tag" "$line"
	done
	echo "  (PORT-TAG differs from ZONE-VLAN: \"(!)\", or \"(quarantine)\" for VLAN ${QUARANTINE_VLAN:-?}; Ward's openvswitch driver owns the tags)"
	echo
	if ((bad)); then
		echo "ward-lab is DEGRADED (see above; lab.sh up repairs)"
		exit 1
	fi
	echo "ward-lab is up"
}

# status_netfakes: netfakes' process and a probe of each target it serves;
# status 1 when something is wrong.
status_netfakes() {
	local conf=$STATE/netfakes.conf pidf=$STATE/run/netfakes.pid name driver listen line bad=0
	echo
	if [[ ! -r $conf ]]; then
		echo "Network-OS targets: none served (no $conf)"
		return 0
	fi
	if pid_alive "$pidf" netfakes; then
		echo "Network-OS targets (netfakes pid $(<"$pidf") in $NF_NS, log $STATE/logs/netfakes.log):"
	else
		echo "Network-OS targets (netfakes NOT RUNNING; lab.sh up starts it, as a factory reset):"
		bad=1
	fi
	while IFS=$'\t' read -r name driver listen _; do
		[[ -n $name && $name != '#'* ]] || continue
		if line=$("$LABNET" probe -timeout 1s "$listen" 2>&1); then
			printf '  %-14s %-14s %s\n' "$name" "$driver" "$line"
		else
			printf '  %-14s %-14s %s\n' "$name" "$driver" "$line"
			bad=1
		fi
	done <"$conf"
	return $bad
}

# sample_targets I: probe targets for device I: icmp, the first port of each
# of its zone's TCP items (at most 6), tcp/22 and tcp/7, its first zone UDP port.
sample_targets() {
	local i=$1 item n=0 ip=${D_IP[$1]} zt=${D_TCP[$1]#"$BASE_TCP"} zu=${D_UDP[$1]#"$BASE_UDP"}
	local -a out=("icmp:$ip")
	zt=${zt#,}
	zu=${zu#,}
	for item in ${zt//,/ }; do
		((n++ < 6)) || break
		out+=("tcp:$ip:${item%-*}")
	done
	out+=("tcp:$ip:22" "tcp:$ip:7")
	[[ -z $zu ]] || { item=${zu%%,*} && out+=("udp:$ip:${item%-*}"); }
	echo "${out[@]}"
}

cmd_matrix() {
	require_root matrix
	read_devices || die "the lab is down (no $STATE/devices.tsv); run lab.sh up"
	local i j dir
	dir=$(mktemp -d)
	for i in "${!D_NAME[@]}"; do
		(
			local -a targets=() more=()
			for j in "${!D_NAME[@]}"; do
				((i != j)) || continue
				read -r -a more <<<"$(sample_targets "$j")"
				targets+=("${more[@]}")
			done
			ip netns exec "${D_NS[$i]}" "$LABNET" probe -timeout "${PROBE_TIMEOUT:-1s}" "${targets[@]}" >"$dir/$i" 2>&1 || true
		) &
	done
	wait
	echo "# FROM -> TO: open ...; closed ...   (per destination: icmp, a port of each service of its zone, tcp/22, tcp/7)"
	for i in "${!D_NAME[@]}"; do
		for j in "${!D_NAME[@]}"; do
			((i != j)) || continue
			awk -v ip="${D_IP[$j]}" -v from="${D_NAME[$i]}" -v to="${D_NAME[$j]}" '
				{ split($2, a, ":"); if (a[2] != ip) next
				  p = (a[1] == "icmp") ? "icmp" : a[1] "/" a[3]
				  if ($1 == "open") o = o (o == "" ? "" : " ") p; else c = c (c == "" ? "" : " ") p }
				END { printf "%-18s -> %-18s open: %s; closed: %s\n", from, to, (o == "" ? "-" : o), (c == "" ? "-" : c) }' "$dir/$i"
		done
	done
	rm -rf "$dir"
}

cmd_retag() {
	require_root retag
	read_devices || die "the lab is down (no $STATE/devices.tsv); run lab.sh up"
	local i
	local -a args=(--timeout=30)
	for i in "${!D_NAME[@]}"; do
		args+=(-- set port "${D_PORT[$i]}" tag="${D_VLAN[$i]}")
	done
	ovs-vsctl "${args[@]}"
	log "every device port is back on its zone's VLAN"
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
matrix) cmd_matrix ;;
retag) cmd_retag ;;
-h | --help | help) usage ;;
*)
	usage >&2
	exit 2
	;;
esac
