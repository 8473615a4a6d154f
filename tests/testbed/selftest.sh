#!/bin/sh
#
# tests/testbed/selftest.sh — guest-side check of the testbed itself.
#
# Run it through the harness, in either mode:
#   tests/testbed/run [--mode systemd] [--hugepages N | --hugepages-per-node A,B] \
#       tests/testbed/selftest.sh
#
# It verifies what kernel-facing tests rely on and prints one line per check
# ("ok - ..." / "not ok - ..."), then "N passed, N failed"; the exit status is
# non-zero if any check failed. The expected hugepage counts come from the
# TESTBED_HUGEPAGES / TESTBED_HUGEPAGES_PER_NODE variables that run exports.

set -u

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
# check DESCRIPTION COMMAND...: run COMMAND quietly, record the result.
check() {
	desc=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$desc"; else not_ok "$desc"; fi
}
has_word() { # has_word WORD FILE: FILE contains WORD as a separate word
	tr ' ' '\n' <"$2" | grep -qx "$1"
}

if [ -z "${TESTBED:-}" ]; then
	echo "selftest.sh: TESTBED is not set; run me with tests/testbed/run" >&2
	exit 2
fi

echo "# testbed selftest: mode=$TESTBED kernel=$(uname -r) pid1=$(cat /proc/1/comm) uptime=$(cut -d' ' -f1 /proc/uptime)s"
echo "# cwd=$(pwd) user=$(id -un) PATH=$PATH"

# --- identity ------------------------------------------------------------------
check "running as root" test "$(id -u)" = 0
case $TESTBED in
bare) check "PID 1 is the testbed init (bare mode)" test "$(cat /proc/1/comm)" != systemd ;;
systemd) check "PID 1 is systemd (systemd mode)" test "$(cat /proc/1/comm)" = systemd ;;
*) not_ok "TESTBED has an unknown value: $TESTBED" ;;
esac

# --- NUMA ------------------------------------------------------------------------
nodes=0
for n in /sys/devices/system/node/node[0-9]*; do
	[ -d "$n" ] || continue
	nodes=$((nodes + 1))
	echo "# ${n##*/}: cpus=$(cat "$n/cpulist") $(grep MemTotal "$n/meminfo" | awk '{print $(NF-1) $NF}')"
done
check "two NUMA nodes in /sys/devices/system/node (found $nodes)" test "$nodes" -eq 2
if [ -n "${TESTBED_CPUS:-}" ]; then
	check "online CPUs = $TESTBED_CPUS (found $(nproc))" test "$(nproc)" -eq "$TESTBED_CPUS"
fi
check "node0 has CPUs" test -n "$(cat /sys/devices/system/node/node0/cpulist 2>/dev/null)"
if [ "${TESTBED_CPUS:-2}" -ge 2 ]; then
	check "node1 has CPUs" test -n "$(cat /sys/devices/system/node/node1/cpulist 2>/dev/null)"
fi

# --- cgroup v2 -------------------------------------------------------------------
CG=/sys/fs/cgroup
fstype=$(awk '$2 == "/sys/fs/cgroup" { t = $3 } END { print t }' /proc/mounts)
check "cgroup2 mounted at $CG (fstype: ${fstype:-none})" test "$fstype" = cgroup2
v1=$(awk '$3 == "cgroup" { n++ } END { print n + 0 }' /proc/mounts)
check "no cgroup v1 hierarchies mounted (found $v1)" test "$v1" -eq 0
opts=$(awk '$2 == "/sys/fs/cgroup" { o = $4 } END { print o }' /proc/mounts)
echo "# cgroup2 mount options: $opts"
echo "# cgroup.controllers: $(cat $CG/cgroup.controllers 2>/dev/null)"
echo "# root cgroup.subtree_control: $(cat $CG/cgroup.subtree_control 2>/dev/null)"
echo "# own cgroup: $(cat /proc/self/cgroup)"
case ",$opts," in *,memory_recursiveprot,*) ok "memory_recursiveprot in effect" ;; *) not_ok "memory_recursiveprot in effect" ;; esac
case ",$opts," in *,nsdelegate,*) ok "nsdelegate in effect" ;; *) not_ok "nsdelegate in effect" ;; esac
for c in cpuset cpu io memory hugetlb pids; do
	check "controller $c available" has_word "$c" "$CG/cgroup.controllers"
	check "controller $c enabled in the root's subtree_control" has_word "$c" "$CG/cgroup.subtree_control"
done

# A scratch child of the root shows the per-cgroup interface files.
T=$CG/testbed-selftest.$$
if mkdir "$T" 2>/dev/null; then
	for f in memory.pressure cpu.pressure io.pressure memory.min memory.high \
		cpuset.cpus cpuset.mems hugetlb.2MB.max pids.max cpu.weight; do
		check "child cgroup has $f" test -e "$T/$f"
	done
	check "child cgroup accepts cpuset.mems=1" sh -c "echo 1 >'$T/cpuset.mems'"
	rmdir "$T"
else
	not_ok "create a child cgroup under $CG"
fi

# --- PSI -----------------------------------------------------------------------------
for r in cpu memory io; do
	check "PSI /proc/pressure/$r readable" sh -c "grep -q '^some avg10=' /proc/pressure/$r"
done

# --- filesystems -----------------------------------------------------------------------
rootfs=$(awk '$2 == "/" { t = $3 } END { print t }' /proc/mounts)
check "root is an overlay (found ${rootfs:-none})" test "$rootfs" = overlay
W=/.testbed-selftest.$$
check "overlay root is writable" sh -c "echo x >'$W' && test \"\$(cat '$W')\" = x && rm -f '$W'"
check "/usr is writable through the overlay" sh -c "touch /usr/.testbed-selftest.$$ && rm -f /usr/.testbed-selftest.$$"
for m in /proc:proc /sys:sysfs /dev:devtmpfs /dev/shm:tmpfs /run:tmpfs /tmp:tmpfs \
	/dev/hugepages:hugetlbfs /dev/pts:devpts; do
	path=${m%%:*} want=${m#*:}
	got=$(awk -v p="$path" '$2 == p { t = $3 } END { print t }' /proc/mounts)
	check "$path is $want (found ${got:-nothing})" test "$got" = "$want"
done
check "/tmp is writable" sh -c "mktemp /tmp/selftest.XXXXXX >/dev/null"
check "/dev/fd exists" test -e /dev/fd/0
check "cwd is readable" test -r .

# --- hugepages ----------------------------------------------------------------------------
nr=$(cat /proc/sys/vm/nr_hugepages)
echo "# nr_hugepages=$nr $(grep -E 'HugePages_Total|Hugepagesize' /proc/meminfo | tr -s ' ' | tr '\n' ' ')"
want=${TESTBED_HUGEPAGES:-0}
check "nr_hugepages = $want (found $nr)" test "$nr" -eq "$want"
if [ -n "${TESTBED_HUGEPAGES_PER_NODE:-}" ]; then
	i=0
	for w in $(echo "$TESTBED_HUGEPAGES_PER_NODE" | tr ',' ' '); do
		f=/sys/devices/system/node/node$i/hugepages/hugepages-2048kB/nr_hugepages
		got=$(cat "$f" 2>/dev/null || echo missing)
		check "node$i has $w hugepages (found $got)" test "$got" = "$w"
		i=$((i + 1))
	done
fi

# --- systemd mode extras ---------------------------------------------------------------------
if [ "$TESTBED" = systemd ]; then
	check "busctl reaches the system bus" busctl --no-pager call org.freedesktop.DBus \
		/org/freedesktop/DBus org.freedesktop.DBus GetId
	check "systemctl talks to PID 1" systemctl --no-pager show -p Version
	check "own unit is testbed.service" grep -q '/system.slice/testbed.service$' /proc/self/cgroup
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
