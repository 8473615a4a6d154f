#!/usr/bin/env bash
#
# tests/testbed/harness-test.sh — host-side test of tests/testbed/run itself.
#
# Boots the guest a handful of times (about 2–3 minutes under TCG) and checks:
#   - selftest.sh passes in bare mode and in systemd mode (with hugepages);
#   - the script's exit status comes back (3 -> 3) in both modes;
#   - arguments (with spaces and quotes), --env, cwd and TESTBED arrive intact,
#     also for a script and cwd under the host's /tmp;
#   - stdout and stderr are both streamed to the host's stdout, and a host
#     reader that goes away early (run ... | head) does not block the guest;
#   - the timeout path: exit 124 and "testbed: timeout after N s";
#   - harness errors: exit 125 naming the missing qemu, kernel, busybox or
#     modules, and when the guest dies without reporting a status.
#
# usage: tests/testbed/harness-test.sh [--quick]   (--quick: skip systemd mode)

set -euo pipefail

TB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
RUN=$TB_DIR/run
QUICK=
[[ ${1:-} != --quick ]] || QUICK=1

passed=0
failed=0
ok() {
	passed=$((passed + 1))
	echo "ok - $*"
}
not_ok() {
	failed=$((failed + 1))
	echo "not ok - $*"
}

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/testbed-harness.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

# run_case NAME WANT_STATUS [ENV=VALUE...] -- RUN-ARGS...
# Runs the harness; stdout goes to $SCRATCH/NAME.out, stderr to NAME.err.
run_case() {
	local name=$1 want=$2 rc=0
	shift 2
	local -a envs=()
	while [[ $1 != -- ]]; do envs+=("$1"); shift; done
	shift
	local t0=$SECONDS
	env "${envs[@]}" "$RUN" "$@" >"$SCRATCH/$name.out" 2>"$SCRATCH/$name.err" || rc=$?
	if [[ $rc == "$want" ]]; then
		ok "$name: exit status $rc ($((SECONDS - t0)) s)"
	else
		not_ok "$name: exit status $rc, wanted $want ($((SECONDS - t0)) s)"
		sed 's/^/    | /' "$SCRATCH/$name.out" "$SCRATCH/$name.err" | tail -n 30
	fi
}

# expect_in FILE PATTERN DESCRIPTION: grep -E PATTERN in FILE.
expect_in() {
	if grep -qE -- "$2" "$SCRATCH/$1"; then ok "$3"; else
		not_ok "$3 (no /$2/ in $1)"
		sed 's/^/    | /' "$SCRATCH/$1" | tail -n 20
	fi
}

# --- guest scripts in a host directory under /tmp --------------------------------------
mkdir -p "$SCRATCH/cwd dir"
cat >"$SCRATCH/exit3.sh" <<'EOF'
#!/bin/sh
# Echo what arrived, on both streams, then fail with a distinctive status.
echo "mode=$TESTBED cwd=$(pwd) argc=$#"
for a in "$@"; do echo "arg=[$a]"; done
echo "env=[${HARNESS_VAR:-unset}] copied=[${HARNESS_COPIED:-unset}]"
echo "this went to stderr" >&2
exit 3
EOF
printf '#!/bin/sh\necho started\nexec sleep 1000\n' >"$SCRATCH/sleep.sh"
printf '#!/bin/sh\nhead -c 1000000 /dev/zero | od -v\nexit 5\n' >"$SCRATCH/lots.sh"
chmod +x "$SCRATCH"/*.sh

# --- selftest in both modes ----------------------------------------------------------------
cd "$TB_DIR/../.."
run_case selftest-bare 0 -- --hugepages 4 "$TB_DIR/selftest.sh"
expect_in selftest-bare.out '^[0-9]+ passed, 0 failed$' "selftest-bare: all checks passed"
if [[ -z $QUICK ]]; then
	run_case selftest-systemd 0 -- --mode systemd --hugepages-per-node 2,3 "$TB_DIR/selftest.sh"
	expect_in selftest-systemd.out '^[0-9]+ passed, 0 failed$' "selftest-systemd: all checks passed"
fi

# --- exit status, arguments, environment, cwd -------------------------------------------------
cd "$SCRATCH/cwd dir"
export HARNESS_COPIED="from host"
for mode in bare ${QUICK:+-}systemd; do
	[[ $mode != -* ]] || continue
	# shellcheck disable=SC2016 # '$HOME' must arrive unexpanded
	run_case "status-$mode" 3 -- --mode "$mode" --env 'HARNESS_VAR=a b' --env HARNESS_COPIED \
		../exit3.sh "two words" "it's" '$HOME' ''
	expect_in "status-$mode.out" "^mode=$mode cwd=$SCRATCH/cwd dir argc=4\$" "status-$mode: mode, cwd and argc"
	expect_in "status-$mode.out" '^arg=\[two words\]$' "status-$mode: argument with a space"
	expect_in "status-$mode.out" "^arg=\\[it's\\]\$" "status-$mode: argument with a quote"
	# shellcheck disable=SC2016
	expect_in "status-$mode.out" '^arg=\[\$HOME\]$' "status-$mode: argument not expanded"
	expect_in "status-$mode.out" '^arg=\[\]$' "status-$mode: empty argument"
	expect_in "status-$mode.out" '^env=\[a b\] copied=\[from host\]$' "status-$mode: --env"
	expect_in "status-$mode.out" '^this went to stderr$' "status-$mode: stderr streamed to stdout"
done
cd "$TB_DIR/../.."

# --- the host stops reading (run ... | head): the guest must not block --------------------
rc=0
t0=$SECONDS
"$RUN" -q --timeout 120 "$SCRATCH/lots.sh" 2>"$SCRATCH/reader-gone.err" | head -c 100 >/dev/null ||
	rc=${PIPESTATUS[0]}
if [[ $rc == 5 ]]; then
	ok "reader-gone: exit status 5 although stdout was closed early ($((SECONDS - t0)) s)"
else
	not_ok "reader-gone: exit status $rc, wanted 5 ($((SECONDS - t0)) s)"
	sed 's/^/    | /' "$SCRATCH/reader-gone.err" | tail -n 20
fi

# --- timeout ------------------------------------------------------------------------------------
# 30 s: the script must have started (bare boot: 6–8 s idle, up to ~20 s on a busy host)
run_case timeout 124 -- --timeout 30 "$SCRATCH/sleep.sh"
expect_in timeout.err '^testbed: timeout after 30 s$' "timeout: message"
expect_in timeout.out '^started$' "timeout: output before the timeout was streamed"

# --- harness errors -------------------------------------------------------------------------------
kver=$(uname -r)
run_case no-kernel 125 TESTBED_KERNEL=/nonexistent -- "$SCRATCH/exit3.sh"
expect_in no-kernel.err 'kernel image not found: /nonexistent' "no-kernel: message"
run_case no-qemu 125 TESTBED_QEMU=/nonexistent/qemu-system-x86_64 -- "$SCRATCH/exit3.sh"
expect_in no-qemu.err 'qemu not found' "no-qemu: message"
run_case no-busybox 125 TESTBED_BUSYBOX=/nonexistent/busybox -- "$SCRATCH/exit3.sh"
expect_in no-busybox.err 'busybox not found' "no-busybox: message"
run_case no-modules 125 "TESTBED_MODULES=/nonexistent/lib/modules/$kver" -- "$SCRATCH/exit3.sh"
expect_in no-modules.err 'modules not found' "no-modules: message"
run_case no-script 125 -- "$SCRATCH/does-not-exist.sh"
expect_in no-script.err 'script not found' "no-script: message"
run_case guest-dies 125 -- --append testbed.mode=bogus "$SCRATCH/exit3.sh"
expect_in guest-dies.err 'without reporting an exit status' "guest-dies: message"
expect_in guest-dies.err 'unknown testbed.mode=bogus' "guest-dies: console tail shown"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
