#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/testbed/valgrind-daemon.sh — tenantd under valgrind, in the bare testbed
# (cgroupfs backend, no D-Bus): start and apply tests/testbed/policies/basic,
# re-apply after a policy edit (inotify) and after SIGHUP, refuse a broken edit,
# remove a tenant whose file is gone, then stop with SIGTERM.
#
#   tests/testbed/run --timeout 600 -- tests/testbed/valgrind-daemon.sh BUILD_DIR/ctl/tenantd
#
# Prints "valgrind: clean" and exits 0 when tenantd exited 0 and valgrind found
# no errors and no definite, indirect or possible leaks; otherwise prints the
# valgrind report, "valgrind: NOT clean" and exits 1. Exits 77 (skip) outside
# the bare guest or without valgrind.

set -u

TENANTD=${1:-}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CG=/sys/fs/cgroup
POL=/tmp/vg-policy
STATE=/run/tenantd-vg
LOG=/tmp/valgrind.log
OUT=/tmp/tenantd.out
NORMAL="$CG/tenants.slice/tenants-normal.slice"

if [ "${TESTBED:-}" != bare ]; then
	echo "SKIP: runs in the bare testbed: tests/testbed/run -- $0 BUILD_DIR/ctl/tenantd"
	exit 77
fi
if ! command -v valgrind >/dev/null 2>&1; then
	echo "SKIP: valgrind is not installed (apt-get install valgrind)"
	exit 77
fi
if [ -z "$TENANTD" ] || [ ! -x "$TENANTD" ]; then
	echo "usage: $0 PATH/TO/tenantd" >&2
	exit 2
fi

fail() {
	echo "not ok - $*"
	echo "--- tenantd output"
	tail -n 40 "$OUT" 2>/dev/null
	[ -n "${PID:-}" ] && kill -KILL "$PID" 2>/dev/null
	echo "valgrind: NOT clean (the scenario failed before the end)"
	exit 1
}

# wait_value SECONDS FILE VALUE: until FILE reads VALUE
wait_value() {
	i=0
	while [ "$i" -lt $(($1 * 5)) ]; do
		[ "$(cat "$2" 2>/dev/null)" = "$3" ] && return 0
		kill -0 "$PID" 2>/dev/null || return 1
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}

# wait_gone SECONDS PATH
wait_gone() {
	i=0
	while [ "$i" -lt $(($1 * 5)) ]; do
		[ -e "$2" ] || return 0
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}

# the policies, owned by root and not group-writable (the loader refuses them otherwise)
rm -rf "$POL" "$STATE"
cp -r "$SRC/tests/testbed/policies/basic" "$POL" && chown -R root:root "$POL" && chmod -R go-w "$POL" ||
	fail "copy the policies"

start=$(date +%s)
valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
	--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
	--track-fds=no --num-callers=30 --log-file="$LOG" \
	"$TENANTD" --no-bus --backend cgroupfs --root "$CG" --policy-dir "$POL" --state-dir "$STATE" \
	--debounce 300ms >"$OUT" 2>&1 &
PID=$!

web="$NORMAL/tenant-web\\x2d01.scope"
db="$CG/tenants.slice/tenants-critical.slice/tenant-db\\x2dmain.scope"
wait_value 180 "$db/memory.min" $((128 << 20)) || fail "first apply: $db/memory.min"
echo "ok - first apply ($(($(date +%s) - start)) s after start)"

# an edit of a tenant file is picked up by inotify
sed -i 's/^limit = 64M/limit = 80M/' "$POL/tenants/web-01.ini"
wait_value 120 "$web/memory.max" $((80 << 20)) || fail "edit: web-01 memory.max"
echo "ok - policy edit applied"

# a broken edit is refused, the previous values stay
echo 'limit = lots' >>"$POL/tenants/web-01.ini"
sleep 5
[ "$(cat "$web/memory.max")" = $((80 << 20)) ] || fail "broken edit changed web-01"
sed -i '$d' "$POL/tenants/web-01.ini"
echo "ok - broken edit refused"

# SIGHUP re-applies (the daemon's inotify is also triggered by the edit; both are fine)
sed -i 's/^limit = 80M/limit = 72M/' "$POL/tenants/web-01.ini"
kill -HUP "$PID"
wait_value 120 "$web/memory.max" $((72 << 20)) || fail "SIGHUP: web-01 memory.max"
echo "ok - SIGHUP re-applied"

# a tenant whose file is gone is removed
rm "$POL/tenants/hog.ini"
wait_gone 120 "$CG/tenants.slice/tenants-low.slice/tenant-hog.scope" || fail "stale tenant hog not removed"
echo "ok - stale tenant removed"

kill -TERM "$PID"
wait "$PID"
rc=$?
echo "tenantd exited with $rc after $(($(date +%s) - start)) s"

if [ "$rc" -eq 0 ] && grep -q 'ERROR SUMMARY: 0 errors' "$LOG" && ! grep -q 'definitely lost: [1-9]\|indirectly lost: [1-9]\|possibly lost: [1-9]' "$LOG"; then
	grep -E 'in use at exit|definitely lost|ERROR SUMMARY' "$LOG" | sed 's/^==[0-9]*== //'
	echo "valgrind: clean"
	exit 0
fi
cat "$LOG"
echo "--- tenantd output"
tail -n 40 "$OUT"
echo "valgrind: NOT clean (tenantd exit status $rc)"
exit 1
