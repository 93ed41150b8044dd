#!/usr/bin/env bash
# Ward's IOS-XE rendering side by side with capirca's, in one run, on one
# policy: the benchscale scenario of 60 zones × 200 devices × 400 flows
# (internal/benchscale.Capirca60x200x400), given to capirca as .net/.svc
# definitions and a .pol with a `cisco ... object-group` filter, one term
# per flow, and rendered by `aclgen --optimize`.
#
# It prints, for each tool, the lines of its output (all, and non-blank)
# and its time (best of RUNS): aclgen's wall time (the command a capirca
# user runs), capirca's parse and generate in one Python process (no
# interpreter start), Ward's render of the compiled intent
# (BenchmarkRenderCisco60x200x400), and Ward's whole way from HCL to
# IOS-XE text (BenchmarkPipelineCisco60x200x400). Before timing anything
# it checks that both outputs permit exactly the scenario's flows
# (TestCapircaCompare), so the two tools are compared on the same policy.
#
# Needs: Go, python3; installs Debian's python3-capirca if aclgen is
# missing (or, where Debian has no such package, capirca from PyPI in a
# virtualenv, and says so). Run as root for apt-get.
#
#   scripts/capirca-compare.sh            # RUNS=3
#   RUNS=5 KEEP=1 scripts/capirca-compare.sh   # keep the work directory
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
work=$(mktemp -d /tmp/ward-capirca.XXXXXX)
if [[ ${KEEP:-0} == 1 ]]; then
	echo "work directory: $work (kept)"
else
	trap 'rm -rf "$work"' EXIT
fi

# capirca: Debian's package first.
aclgen=$(command -v aclgen || true)
python=python3
capirca_from="Debian python3-capirca"
if [[ -z $aclgen ]]; then
	if apt-cache policy python3-capirca 2>/dev/null | grep -q 'Candidate: [0-9]'; then
		echo "installing Debian's python3-capirca" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-capirca >&2
		aclgen=$(command -v aclgen)
	else
		echo "NOTE: Debian has no python3-capirca here; installing capirca from PyPI in a virtualenv ($work/venv)" >&2
		python3 -m venv "$work/venv"
		"$work/venv/bin/pip" install -q capirca >&2
		aclgen=$work/venv/bin/aclgen
		python=$work/venv/bin/python
		capirca_from="PyPI capirca (virtualenv): Debian has no python3-capirca"
	fi
fi
# The Python aclgen runs on (its #! line): capirca's modules are there,
# whatever python3 comes first on PATH.
shebang=$(head -n 1 "$aclgen")
if [[ $shebang == '#!'*python* ]]; then
	python=${shebang#\#!}
	python=${python%% *}
fi
if dpkg-query -W -f='${Status}' python3-capirca 2>/dev/null | grep -q 'ok installed'; then
	capirca_version=$(dpkg-query -W -f='${Version}' python3-capirca)
else
	capirca_version=$("$python" -c 'import importlib.metadata as m; print(m.version("capirca"))')
fi

# The inputs, Ward's rendering and its line counts.
hook() {
	WARD_CAPIRCA_DIR=$work go test -count=1 -run '^TestCapircaCompare$' -v ./drivers/ciscoiosxe/ >"$work/hook.log" 2>&1 || {
		cat "$work/hook.log" >&2
		echo "capirca-compare: the test hook failed (above)" >&2
		exit 1
	}
}
hook
read -r ward_lines ward_nonblank < <(awk '$1 == "ward-lines" { print $2, $3 }' "$work/hook.log")

# aclgen: render the one policy file (no process pool), best of RUNS.
run_aclgen() {
	rm -rf "$work/out"
	"$aclgen" --base_directory="$work/policies" --definitions_directory="$work/def" \
		--output_directory="$work/out" --policy_file="$work/policies/pol/ward_bench.pol" \
		--optimize --nodebug --noverbose >"$work/aclgen.log" 2>&1 || {
		cat "$work/aclgen.log" >&2
		echo "capirca-compare: aclgen failed (above)" >&2
		exit 1
	}
}
best_aclgen_ns=
for _ in $(seq "$RUNS"); do
	start=$(date +%s%N)
	run_aclgen
	ns=$(($(date +%s%N) - start))
	if [[ -z $best_aclgen_ns || $ns -lt $best_aclgen_ns ]]; then best_aclgen_ns=$ns; fi
done
acl=$work/out/ward_bench.acl
capirca_lines=$(wc -l <"$acl")
capirca_nonblank=$(grep -c . "$acl")

# capirca's own work in one process: read the definitions, parse and
# optimise the policy, generate the cisco filter (as aclgen's RenderFile).
best_inproc_ns=$("$python" - "$work" "$RUNS" <<'EOF'
import sys, time
from capirca.lib import cisco, naming, policy
work, runs = sys.argv[1], int(sys.argv[2])
best = None
for _ in range(runs):
    t = time.perf_counter_ns()
    defs = naming.Naming(work + "/def")
    with open(work + "/policies/pol/ward_bench.pol") as f:
        pol = policy.ParsePolicy(f.read(), defs, optimize=True, base_dir=work + "/policies")
    out = str(cisco.Cisco(pol, 2))
    ns = time.perf_counter_ns() - t
    best = ns if best is None else min(best, ns)
print(best)
EOF
)

# Both outputs permit exactly the scenario's flows.
hook
grep -q '^capirca-same-policy ok$' "$work/hook.log" || {
	cat "$work/hook.log" >&2
	echo "capirca-compare: the check that capirca's output permits the scenario's flows did not run" >&2
	exit 1
}

# Ward: the render benchmark and the whole pipeline, best of RUNS.
go test -run '^$' -bench '^Benchmark(Render|Pipeline)Cisco60x200x400$' -benchmem -count "$RUNS" \
	./drivers/ciscoiosxe/ >"$work/bench.txt" 2>&1 || {
	cat "$work/bench.txt" >&2
	exit 1
}
best_bench() { awk -v name="$1" '$1 ~ "^"name"(-[0-9]+)?$" { if (best == "" || $3 < best) best = $3 } END { print best }' "$work/bench.txt"; }
ward_render_ns=$(best_bench BenchmarkRenderCisco60x200x400)
ward_pipeline_ns=$(best_bench BenchmarkPipelineCisco60x200x400)
if [[ -z $ward_render_ns || -z $ward_pipeline_ns ]]; then
	cat "$work/bench.txt" >&2
	echo "capirca-compare: no benchmark figure found (above)" >&2
	exit 1
fi

ms() { awk -v ns="$1" 'BEGIN { printf "%.2f ms", ns / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { r = a / b; printf (r < 10 ? "%.1f×" : "%.0f×"), r }'; }

echo
echo "60 zones × 200 devices × 400 flows; capirca $capirca_version ($capirca_from); $(go env GOVERSION) $(go env GOOS)/$(go env GOARCH); $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); best of $RUNS"
echo
printf '| %-44s | %7s | %9s | %10s | %s |\n' "what" "lines" "non-blank" "time" "capirca aclgen ÷ this"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "---------" "-----------" "------------" "---"
printf '| %-44s | %7s | %9s | %10s | %s |\n' "capirca: aclgen --optimize (wall)" "$capirca_lines" "$capirca_nonblank" "$(ms "$best_aclgen_ns")" "1×"
printf '| %-44s | %7s | %9s | %10s | %s |\n' "capirca: parse + generate, in process" "" "" "$(ms "$best_inproc_ns")" "$(ratio "$best_aclgen_ns" "$best_inproc_ns")"
printf '| %-44s | %7s | %9s | %10s | %s |\n' "Ward: Render (intent compiled beforehand)" "$ward_lines" "$ward_nonblank" "$(ms "$ward_render_ns")" "$(ratio "$best_aclgen_ns" "$ward_render_ns")"
printf '| %-44s | %7s | %9s | %10s | %s |\n' "Ward: parse HCL, evaluate, compile, Render" "" "" "$(ms "$ward_pipeline_ns")" "$(ratio "$best_aclgen_ns" "$ward_pipeline_ns")"
echo
echo "Ward render vs capirca in process: $(ratio "$best_inproc_ns" "$ward_render_ns") faster"
echo "lines: Ward $ward_lines, capirca $capirca_lines (non-blank: Ward $ward_nonblank, capirca $capirca_nonblank)"
