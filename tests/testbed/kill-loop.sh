#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/testbed/kill-loop.sh — kill -9 tenantd in the middle of its work, N times,
# in the systemd testbed, and check after every restart that each tenant still
# has its processes, its guarantee and its limits.
#
#   tests/testbed/run --mode systemd --timeout 3600 -- tests/testbed/kill-loop.sh N [BUILD_DIR]
#
# BUILD_DIR (default: <source>/build) is installed with `meson install` as
# tests/testbed/test-daemon.c does, with tests/testbed/policies/daemon as the
# policy directory: db (critical service), web (normal service), batch (low
# scope, a sleep adopted into it). Each round starts one operation in the
# background (reassign web's limit, reassign db's request and limit, an
# edit of batch.ini and `tenantctl apply`, or a reaction: a memhog adopted
# into batch thrashes against its limit, swapping to zram, until tenantd
# throttles batch; the next such round ends the hog, and tenantd undoes its
# steps over the following rounds), kills tenantd after a random 0-1.5 s
# (reaction rounds: 0-8 s, into the ladder's steps), waits for systemd to
# restart it (Restart=on-failure) and checks:
#   - the PIDs in every tenant's cgroup are the ones from before the kill
#     (but for a tenant the reaction ladder evicted during the round, by its
#     journal, or that had no processes before it, evicted earlier and started
#     anew by this round's apply: the host's pressure may reach web);
#   - memory.min, memory.low and memory.max of every tenant are what tenantd's
#     own record says it must apply: the policy files plus the reassign
#     overrides it saved in /run/tenantd/overrides (a change killed before it
#     was saved is rolled back on restart; one saved is in force);
#   - every slice's memory.min and memory.low is at least its children's sum;
#   - batch's memory.high is the last throttle step tenantd's reaction state
#     records, or, without one, batch's memory.max (the low class has
#     high = limit): a step cut off by the kill is either in force and
#     recorded or not in force at all.
#   - scratch, a best-effort tenant the ladder takes first (throttle, freeze,
#     evict; a new process is adopted into it after an eviction), is frozen
#     exactly when tenantd's reaction state says so, and empty when evicted.
# After the last round the hog is ended and batch's memory.high must come
# back to its limit (every step undone across the restarts), and scratch is
# thawed.
# Prints one line per round and ends with "kills: N, ok: N, failed: N"; exits
# non-zero when a round failed. Not part of CI: 50 rounds take long under TCG.

set -u

N=${1:-50}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${2:-$SRC/build}
ETC=/usr/local/etc/tenantd
CTL=/usr/local/bin/tenantctl
CG=/sys/fs/cgroup
TS=$CG/tenants.slice
DB=$TS/tenants-critical.slice/tenant-db.service
WEB=$TS/tenants-normal.slice/tenant-web.service
BATCH=$TS/tenants-low.slice/tenant-batch.scope
SCRATCH=$TS/tenants-besteffort.slice/tenant-scratch.scope
MiB=1048576

if [ "${TESTBED:-}" != systemd ]; then
	echo "SKIP: runs in the systemd testbed: tests/testbed/run --mode systemd -- $0 N [BUILD_DIR]"
	exit 77
fi

die() {
	echo "kill-loop: $*" >&2
	journalctl -u tenantd --no-pager 2>/dev/null | tail -n 30 >&2
	exit 1
}

# wait_until SECONDS COMMAND...: poll every 0.1 s
wait_until() {
	t=$(($1 * 10))
	shift
	while [ "$t" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		t=$((t - 1))
	done
	return 1
}

main_pid() { systemctl show -p MainPID --value tenantd.service; }
ready() { systemctl is-active -q tenantd.service && "$CTL" list >/dev/null 2>&1; }
restarted() { p=$(main_pid) && [ "$p" != "$1" ] && [ "$p" != 0 ] && ready; }

# ---- install, as test-daemon.c does ----------------------------------------------------------

meson install -C "$BUILD" --no-rebuild --quiet || die "meson install -C $BUILD failed"
rm -rf "$ETC" && mkdir -p "$ETC" && cp -r "$SRC/tests/testbed/policies/daemon/." "$ETC" &&
	chown -R root:root "$ETC" && chmod -R go-w "$ETC" || die "cannot install the policies"
systemctl daemon-reload && systemd-tmpfiles --create tenantd.conf &&
	busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig >/dev/null ||
	die "cannot reload systemd or D-Bus"
rm -rf /run/tenantd/overrides /run/tenantd/stopped
systemctl start tenantd.service || die "tenantd does not start"
wait_until 60 ready || die "tenantd not ready"
sleep 100000 &
"$CTL" adopt batch $! >/dev/null || die "cannot adopt a process into batch"
wait_until 30 systemctl is-active -q tenant-web.service tenant-db.service || die "tenants not running"
# a best-effort tenant the ladder goes through first: throttled, frozen and
# evicted under the hog's pressure; given a new process after an eviction
printf '[tenant]\nclass = besteffort\n[memory]\nrequest = 8M\nlimit = 64M\n' >"$ETC/tenants/scratch.ini"
"$CTL" apply >/dev/null || die "cannot apply scratch.ini"
scratch_fill() {
	[ -n "$(cat "$SCRATCH/cgroup.procs" 2>/dev/null)" ] && return 0
	sleep 100000 &
	"$CTL" adopt scratch $! >/dev/null
}
scratch_fill || die "cannot adopt a process into scratch"

[ "$(cat "$BATCH/memory.high")" = "$(cat "$BATCH/memory.max")" ] ||
	die "batch's memory.high is not its memory.max: the checks below assume high = limit"
modprobe zram num_devices=1 && echo 256M >/sys/block/zram0/disksize && mkswap /dev/zram0 >/dev/null &&
	swapon /dev/zram0 || die "cannot set up zram swap"
HOG=""

# ---- what must hold -----------------------------------------------------------------------------

# override ID KEY DEFAULT: the value tenantd saved for ID's KEY, else DEFAULT
override() {
	v=$(awk -v sec="[$1]" -v key="$2" '
		/^\[/ { in_sec = ($0 == sec); next }
		in_sec && $1 == key && $2 == "=" { print $3 }' /run/tenantd/overrides 2>/dev/null)
	echo "${v:-$3}"
}

# bytes 64M -> 67108864 (the sizes used here are whole MiB)
bytes() { echo $((${1%M} * MiB)); }

# procs: "db:PIDS web:PIDS batch:PIDS"
procs() {
	for t in db:"$DB" web:"$WEB" batch:"$BATCH"; do
		printf '%s:%s ' "${t%%:*}" "$(sort "${t#*:}/cgroup.procs" 2>/dev/null | tr '\n' ',')"
	done
}

# evictions: "db:N web:N batch:N", how often the reaction ladder evicted each
# (the host's pressure may reach the normal class: web is evicted by design,
# and the next apply starts it again with new processes)
evictions() {
	for t in db web batch; do
		printf '%s:%s ' "$t" "$(journalctl -u tenantd TENANT=$t ACTION=evict -q --no-pager -o cat 2>/dev/null | wc -l)"
	done
}

# evicted_since "db:N web:N batch:N": the tenants evicted since then
evicted_since() {
	now=$(evictions)
	for t in db web batch; do
		a=$(echo "$1" | tr ' ' '\n' | sed -n "s/^$t://p")
		b=$(echo "$now" | tr ' ' '\n' | sed -n "s/^$t://p")
		[ "$a" = "$b" ] || printf '%s ' "$t"
	done
}

# expect FILE VALUE: record a mismatch
problems=""
expect() {
	got=$(cat "$1" 2>/dev/null || echo missing)
	[ "$got" = "$2" ] || problems="$problems ${1#"$TS"/}=$got(want $2)"
}

# every slice below tenants.slice: memory.min and memory.low >= children's sum
sums() {
	for dir in "$TS" "$TS"/*.slice; do
		for attr in memory.min memory.low; do
			mine=$(cat "$dir/$attr" 2>/dev/null) || continue
			sum=0
			for child in "$dir"/*/; do
				v=$(cat "$child$attr" 2>/dev/null) && sum=$((sum + v))
			done
			[ "$mine" -ge "$sum" ] || problems="$problems ${dir#"$CG"/}/$attr=$mine<$sum"
		done
	done
}

# scratch as tenantd's reaction state says: frozen (cgroup.freeze 1), evicted
# (no process left), or neither (cgroup.freeze 0); "" when it matches
scratch_state() {
	rec=$(awk '$1 == "tenant" && $2 == "scratch"' /run/tenantd/react.state 2>/dev/null)
	freeze=$(cat "$SCRATCH/cgroup.freeze" 2>/dev/null)
	case $rec in
	*evicted=1*) [ -z "$(cat "$SCRATCH/cgroup.procs" 2>/dev/null)" ] || echo "evicted, yet it has processes" ;;
	*frozen=1*) [ "$freeze" = 1 ] || echo "frozen in the state, cgroup.freeze=$freeze" ;;
	*) [ "$freeze" = 0 ] || echo "not frozen in the state, cgroup.freeze=$freeze" ;;
	esac
}

# the memory.high tenantd holds for batch: the last throttle step in its state, else the limit
want_high() {
	to=$(awk '$1 == "step" && $2 == "batch" && $3 == "throttle" { v = $5 } END { print v }' \
		/run/tenantd/react.state 2>/dev/null)
	echo "${to:-$(cat "$BATCH/memory.max")}"
}

# check PROCS EVICTIONS: the state after a restart (PROCS and EVICTIONS from
# before the round); a tenant the ladder evicted meanwhile is left out
# web_evicted PROCS EVICTIONS: the ladder evicted web during the round (its
# journal), or earlier and it has not run since (tenantd's reaction state), or
# earlier and this round's apply started it anew (no processes before)
web_evicted() {
	case " $(evicted_since "$2") " in *" web "*) return 0 ;; esac
	awk '$1 == "tenant" && $2 == "web"' /run/tenantd/react.state 2>/dev/null | grep -q 'evicted=1' && return 0
	echo "$1" | tr ' ' '\n' | grep -qx 'web:'
}

check() {
	problems=""
	evicted=$(evicted_since "$2")
	web_evicted "$1" "$2" && evicted="$evicted web"
	now=$(procs)
	web_problems=""
	for t in db web batch; do
		case " $evicted " in *" $t "*) continue ;; esac
		a=$(echo "$1" | tr ' ' '\n' | grep "^$t:")
		b=$(echo "$now" | tr ' ' '\n' | grep "^$t:")
		[ "$a" = "$b" ] && continue
		if [ "$t" = web ]; then
			web_problems="$web_problems processes: '$a' -> '$b'"
		else
			problems="$problems processes: '$a' -> '$b'"
		fi
	done
	[ -z "$evicted" ] || echo "  (evicted by the reaction ladder meanwhile: $evicted)"
	batch_limit=$(awk '$1 == "limit" { print $3 }' "$ETC/tenants/batch.ini")
	expect "$DB/memory.min" "$(bytes "$(override db request 96M)")"
	expect "$DB/memory.max" "$(bytes "$(override db limit 128M)")"
	# an evicted web that is not running again has no values to check
	case " $evicted " in
	*" web "*) [ -n "$(cat "$WEB/cgroup.procs" 2>/dev/null)" ] && web_values=1 || web_values= ;;
	*) web_values=1 ;;
	esac
	if [ -n "$web_values" ]; then
		web_low=$(bytes "$(override web request 32M)")
		web_max=$(bytes "$(override web limit 64M)")
		case " $evicted " in
		*" web "*)
			# started again by this round's apply: systemd may still be
			# setting its unit up; or evicted again while being read
			t=100
			while [ "$t" -gt 0 ] && [ -n "$(cat "$WEB/cgroup.procs" 2>/dev/null)" ] &&
				{ [ "$(cat "$WEB/memory.low" 2>/dev/null)" != "$web_low" ] ||
					[ "$(cat "$WEB/memory.max" 2>/dev/null)" != "$web_max" ]; }; do
				sleep 0.1
				t=$((t - 1))
			done
			[ -n "$(cat "$WEB/cgroup.procs" 2>/dev/null)" ] || web_values=
			;;
		esac
	fi
	if [ -n "$web_values" ]; then
		kept=$problems
		problems=""
		expect "$WEB/memory.low" "$web_low"
		expect "$WEB/memory.max" "$web_max"
		web_problems="$web_problems$problems"
		problems=$kept
	fi
	expect "$BATCH/memory.max" "$(bytes "$batch_limit")"
	sums
	# the reaction: poll, as tenantd may take a step between two reads
	t=100
	while [ "$t" -gt 0 ] && [ "$(cat "$BATCH/memory.high")" != "$(want_high)" ]; do
		sleep 0.1
		t=$((t - 1))
	done
	expect "$BATCH/memory.high" "$(want_high)"
	t=100
	while [ "$t" -gt 0 ] && [ -n "$(scratch_state)" ]; do
		sleep 0.1
		t=$((t - 1))
	done
	[ -z "$(scratch_state)" ] || problems="$problems scratch: $(scratch_state)"
	# the restarted daemon may evict web while this check reads it: what is
	# wrong with web is excused only once that eviction is on record
	if [ -n "$web_problems" ]; then
		sleep 2
		if web_evicted "$1" "$2"; then
			echo "  (web evicted by the reaction ladder during the check)"
		else
			problems="$problems$web_problems"
		fi
	fi
	[ -z "$problems" ]
}

# random N: 0..N-1
random() { echo $(($(od -An -N2 -tu2 /dev/urandom) % $1)); }

# ---- the loop -----------------------------------------------------------------------------------

ok=0
failed=0
i=1
while [ "$i" -le "$N" ]; do
	max_delay=1500
	case $(random 4) in
	0)
		what="reassign web --limit $((64 + 8 * $(random 5)))M"
		;;
	1)
		what="reassign db --request $((80 + 16 * $(random 2)))M --limit $((128 + 16 * $(random 2)))M"
		;;
	2)
		scratch_fill
		if [ -z "$HOG" ]; then
			"$BUILD/tests/testbed/memhog" 96 >/dev/null &
			HOG=$!
			"$CTL" adopt batch "$HOG" >/dev/null || die "cannot adopt the hog into batch"
			what="list (reaction: a hog in batch)"
		else
			kill -9 "$HOG"
			wait "$HOG" 2>/dev/null
			HOG=""
			what="list (reaction: the hog ended)"
		fi
		max_delay=8000
		;;
	*)
		if grep -q '^limit = 48M' "$ETC/tenants/batch.ini"; then
			sed -i 's/^limit = 48M/limit = 40M/' "$ETC/tenants/batch.ini"
		else
			sed -i 's/^limit = 40M/limit = 48M/' "$ETC/tenants/batch.ini"
		fi
		what="apply (batch.ini edited)"
		;;
	esac
	before=$(procs)
	ev_before=$(evictions)
	old=$(main_pid)
	# shellcheck disable=SC2086
	timeout 60 "$CTL" ${what%% (*} >/dev/null 2>&1 &
	op=$!
	delay=$(random "$max_delay")
	sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
	# the start rate limit is systemd's, not tenantd's: do not let 50 kills trip it
	systemctl reset-failed tenantd.service 2>/dev/null
	kill -9 "$old"
	wait "$op"
	# 0: the operation finished before the kill; otherwise it was cut off
	what="$what, killed after ${delay} ms (tenantctl exit $?)"
	if ! wait_until 60 restarted "$old"; then
		failed=$((failed + 1))
		echo "not ok $i - $what: tenantd did not come back ($(systemctl is-active tenantd))"
		systemctl reset-failed tenantd.service
		systemctl start tenantd.service
		wait_until 60 ready
	elif check "$before" "$ev_before"; then
		ok=$((ok + 1))
		echo "ok $i - $what"
	else
		failed=$((failed + 1))
		echo "not ok $i - $what:$problems"
		case $problems in
		*tenant-web*)
			# what web looked like: its unit, its cgroup, its parent's controllers
			echo "  # web: $(systemctl show -p ActiveState -p SubState -p ControlGroup -p MemoryMax tenant-web.service | tr '\n' ' ')"
			echo "  # web cgroup: $(ls "$WEB" 2>&1 | tr '\n' ' ' | cut -c1-200)"
			echo "  # normal slice subtree_control: $(cat "$(dirname "$WEB")/cgroup.subtree_control" 2>&1)"
			journalctl -q --no-pager -n 8 -o cat -u tenant-web.service -u tenantd.service 2>/dev/null | sed 's/^/  # /'
			;;
		esac
	fi
	i=$((i + 1))
done

# the end of the hog: every step undone, across however many restarts
if [ -n "$HOG" ]; then
	kill -9 "$HOG"
	wait "$HOG" 2>/dev/null
fi
if wait_until 300 sh -c '[ "$(cat "$1/memory.high")" = "$(cat "$1/memory.max")" ]' sh "$BATCH"; then
	echo "ok - batch's memory.high back to its limit after the last hog"
else
	failed=$((failed + 1))
	echo "not ok - batch's memory.high stayed at $(cat "$BATCH/memory.high") (limit $(cat "$BATCH/memory.max"))"
fi
# scratch, unless it was evicted last, is thawed again
if wait_until 300 sh -c 'grep -q "^tenant scratch .*evicted=1" /run/tenantd/react.state || [ "$(cat "$1/cgroup.freeze")" = 0 ]' sh "$SCRATCH"; then
	echo "ok - scratch thawed (or evicted) after the last hog"
else
	failed=$((failed + 1))
	echo "not ok - scratch stayed frozen"
fi
swapoff /dev/zram0 2>/dev/null
for t in batch scratch; do
	echo "reaction steps on $t (journal):$(journalctl -u tenantd TENANT=$t -q --no-pager -o json |
		sed -n 's/.*"ACTION":"\([a-z]*\)".*/\1/p' | sort | uniq -c | awk '{ printf " %s %s", $2, $1 }')"
done

echo "kills: $N, ok: $ok, failed: $failed"
[ "$failed" -eq 0 ]
