# policy.awk — read a Ward policy (every *.hcl of its directory, in one run)
# and print what the example lab needs to build a network for it. Used by
# lab.sh; POSIX awk (works with mawk and gawk).
#
#   awk -f policy.awk examples/hospital/policy/*.hcl
#
# Output, one tab-separated record per line:
#
#   default_zone    NAME
#   quarantine_vlan VLAN
#   zone    NAME VLAN SUBNET TCP UDP [KEY=PATTERN\037PATTERN... ...]
#   target  NAME DRIVER ADDRESS PORT USERNAME CREDENTIAL KNOWN_HOSTS
#   flow    NAME FROM_ZONES TO_ZONES TCP   (zones space-separated; TCP as below)
#
# An empty field is "-" (so a shell can split on tabs). For a zone, TCP and UDP are the ports of every service of every flow whose
# `to` names the zone — the ports a device of that zone must answer on
# (comma-separated ports and ranges, "-" for none). A range wider than
# MAXRANGE ports (RTP's 16384-32767) is cut down to its first CUT ports and
# its last one. The trailing KEY=... fields are the zone's `match` block:
# inventory column name = glob patterns separated by \037 (ASCII unit
# separator); a device matches when every key has a matching pattern.
#
# This understands the subset of HCL Ward's example policy is written in:
# top-level blocks `kind "label" { ... }` (or on one line), `key = value`
# attributes whose lists may span lines, nested blocks/objects, and `#` or
# `//` comments. It is a lab helper, not a parser: `ward validate` is the
# judge of what a policy means.

BEGIN {
	FS = "\n"
	US = "\037"
	MAXRANGE = 128
	CUT = 8
	depth = 0
	kind = ""
	inner = ""
	pending = ""
	nzones = 0
	nflows = 0
	ntargets = 0
	default_zone = ""
	quarantine_vlan = ""
}

# strip_comment removes a trailing # or // comment outside strings and counts
# the braces outside strings into OPENS and CLOSES.
function strip_comment(s,    i, c, out, instr, esc) {
	out = ""
	instr = 0
	esc = 0
	OPENS = 0
	CLOSES = 0
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (instr) {
			if (esc) esc = 0
			else if (c == "\\") esc = 1
			else if (c == "\"") instr = 0
		} else {
			if (c == "\"") instr = 1
			else if (c == "#") break
			else if (c == "/" && substr(s, i + 1, 1) == "/") break
			else if (c == "{") OPENS++
			else if (c == "}") CLOSES++
		}
		out = out c
	}
	return out
}

function trim(s) {
	sub(/^[ \t\r]+/, "", s)
	sub(/[ \t\r]+$/, "", s)
	return s
}

# strings returns the quoted strings of v joined by sep.
function strings(v, sep,    out, n) {
	out = ""
	n = 0
	while (match(v, /"[^"]*"/)) {
		out = out (n++ ? sep : "") substr(v, RSTART + 1, RLENGTH - 2)
		v = substr(v, RSTART + RLENGTH)
	}
	return out
}

# refs returns the names referenced as prefix.NAME in v, space-separated.
function refs(v, prefix,    out, re, n) {
	out = ""
	n = 0
	re = prefix "\\.[A-Za-z0-9_-]+"
	while (match(v, re)) {
		out = out (n++ ? " " : "") substr(v, RSTART + length(prefix) + 1, RLENGTH - length(prefix) - 1)
		v = substr(v, RSTART + RLENGTH)
	}
	return out
}

# ports turns a service's port list ([443, 51444] or ["5000-5099"]) into
# "443,51444" / "5000-5099".
function ports(v) {
	gsub(/[\[\]" \t]/, "", v)
	sub(/,$/, "", v)
	return v
}

function attr(key, value, in_match) {
	value = trim(value)
	if (kind == "zone") {
		if (in_match) {
			if (value ~ /^\[/ || value ~ /^"/) zmatch[nzones] = zmatch[nzones] "\t" key "=" strings(value, US)
			else zmatch[nzones] = zmatch[nzones] "\t" key "=" value
		} else if (key == "vlan") zvlan[nzones] = value + 0
		else if (key == "subnets") {
			zsubnet[nzones] = strings(value, " ")
			sub(/ .*/, "", zsubnet[nzones])
		}
	} else if (kind == "service") {
		if (key == "tcp") svc_tcp[label] = ports(value)
		else if (key == "udp") svc_udp[label] = ports(value)
	} else if (kind == "flow") {
		if (key == "from") flow_from[nflows] = refs(value, "zone")
		else if (key == "to") flow_to[nflows] = refs(value, "zone")
		else if (key == "services") flow_svc[nflows] = refs(value, "service")
	} else if (kind == "target") {
		if (value ~ /^"/) value = strings(value, " ")
		t[ntargets, key] = value
	} else if (kind == "settings") {
		if (key == "default_zone") default_zone = strings(value, " ")
	} else if (kind == "quarantine") {
		if (key == "vlan") quarantine_vlan = value + 0
	}
}

function begin_block(k, l) {
	kind = k
	label = l
	inner = ""
	if (kind == "zone") {
		nzones++
		zname[nzones] = label
		zvlan[nzones] = ""
		zsubnet[nzones] = ""
		zmatch[nzones] = ""
	} else if (kind == "flow") {
		nflows++
		flow_name[nflows] = label
		flow_from[nflows] = ""
		flow_to[nflows] = ""
		flow_svc[nflows] = ""
	} else if (kind == "target") {
		ntargets++
		tname[ntargets] = label
	}
}

# An attribute line "key = value" (value possibly continued on later lines).
function attr_line(line, in_match,    key, value) {
	if (!match(line, /^[ \t]*[A-Za-z_][A-Za-z0-9_-]*[ \t]*=/)) return 0
	key = trim(substr(line, RSTART, RLENGTH - 1))
	value = trim(substr(line, RSTART + RLENGTH))
	if (value ~ /^\[/ && index(value, "]") == 0) {
		pending = value
		pending_key = key
		pending_match = in_match
		return 1
	}
	attr(key, value, in_match)
	return 1
}

{
	line = strip_comment($0)
	if (pending != "") {
		pending = pending " " line
		if (index(line, "]")) {
			attr(pending_key, pending, pending_match)
			pending = ""
		}
		depth += OPENS - CLOSES
		next
	}
	if (depth == 0) {
		if (match(line, /^[ \t]*[a-z_]+/)) {
			k = trim(substr(line, RSTART, RLENGTH))
			l = ""
			if (match(line, /"[^"]*"/)) l = substr(line, RSTART + 1, RLENGTH - 2)
			if (OPENS > 0) {
				begin_block(k, l)
				# a one-line block: service "https" { tcp = [443] }
				if (CLOSES > 0 && match(line, /\{.*\}/)) attr_line(substr(line, RSTART + 1, RLENGTH - 2), 0)
			}
		}
	} else if (depth == 1) {
		if (!attr_line(line, 0) && OPENS > 0 && match(line, /^[ \t]*[A-Za-z_]+/)) inner = trim(substr(line, RSTART, RLENGTH))
		else if (OPENS > 0 && match(line, /^[ \t]*[A-Za-z_]+[ \t]*=[ \t]*\{/)) inner = "object"
	} else if (depth == 2 && inner == "match" && kind == "zone") {
		attr_line(line, 1)
	}
	depth += OPENS - CLOSES
	if (depth <= 1) inner = ""
	if (depth == 0) kind = ""
}

# norm dedupes a comma list of ports/ranges and cuts wide ranges down.
function norm(list,    n, parts, i, p, a, b, out, seen, lo, hi) {
	n = split(list, parts, ",")
	out = ""
	for (i = 1; i <= n; i++) {
		p = parts[i]
		if (p == "") continue
		if (index(p, "-")) {
			split(p, a, "-")
			lo = a[1] + 0
			hi = a[2] + 0
			if (hi - lo + 1 > MAXRANGE) p = lo "-" (lo + CUT - 1) "," hi
		}
		if (p in seen) continue
		seen[p] = 1
		out = out (out == "" ? "" : ",") p
	}
	return out == "" ? "-" : out
}

function dash(s) {
	return s == "" ? "-" : s
}

END {
	for (f = 1; f <= nflows; f++) {
		nz = split(flow_to[f], zs, " ")
		ns = split(flow_svc[f], ss, " ")
		for (i = 1; i <= nz; i++)
			for (j = 1; j <= ns; j++) {
				if (ss[j] in svc_tcp) ztcp[zs[i]] = ztcp[zs[i]] "," svc_tcp[ss[j]]
				if (ss[j] in svc_udp) zudp[zs[i]] = zudp[zs[i]] "," svc_udp[ss[j]]
			}
	}
	if (default_zone != "") print "default_zone\t" default_zone
	if (quarantine_vlan != "") print "quarantine_vlan\t" quarantine_vlan
	for (z = 1; z <= nzones; z++) {
		n = zname[z]
		print "zone\t" n "\t" dash(zvlan[z]) "\t" dash(zsubnet[z]) "\t" norm(ztcp[n]) "\t" norm(zudp[n]) zmatch[z]
	}
	for (f = 1; f <= nflows; f++) {
		ftcp = ""
		ns = split(flow_svc[f], ss, " ")
		for (j = 1; j <= ns; j++)
			if (ss[j] in svc_tcp) ftcp = ftcp "," svc_tcp[ss[j]]
		print "flow\t" flow_name[f] "\t" dash(flow_from[f]) "\t" dash(flow_to[f]) "\t" norm(ftcp)
	}
	for (i = 1; i <= ntargets; i++) {
		port = t[i, "port"]
		if (port == "") port = 22
		print "target\t" tname[i] "\t" dash(t[i, "driver"]) "\t" dash(t[i, "address"]) "\t" port "\t" dash(t[i, "username"]) "\t" dash(t[i, "credential"]) "\t" dash(t[i, "known_hosts"])
	}
}
