#!/bin/sh
# The main job, guest side (systemd as PID 1): install tenantd like a package
# would, start tenantd.service on the shipped example policies, place the
# containers, and show what an operator sees: the tenants with their limits
# read back from the kernel, a runtime reassign, a kill -9 of the daemon that
# leaves every tenant alone, and the event log. Ends with a verdict line.
# Arguments: BUILD_DIR POLICY_DIR
set -eu
build=$1
policies=$2
here=$(cd "$(dirname "$0")" && pwd)
etc=/usr/local/etc/tenantd
ctl=/usr/local/bin/tenantctl
failed=0

say() { printf '\n== %s\n' "$*"; }
check() { # check WHAT COMMAND...: one verdict line per claim
        what=$1
        shift
        if "$@" >/dev/null 2>&1; then
                echo "   ok: $what"
        else
                echo "   FAILED: $what"
                failed=$((failed + 1))
        fi
}
cg() { cat "/sys/fs/cgroup/$1/$2"; }
procs() { cat "/sys/fs/cgroup/$1/cgroup.procs" 2>/dev/null | sort | tr '\n' ' '; }

say "host: $(uname -r), $(ls -d /sys/devices/system/node/node* | wc -l) NUMA nodes, $(grep MemTotal /proc/meminfo | tr -s ' '), $(systemctl --version | head -1)"

say "meson install (units, D-Bus policy, tmpfiles, binaries) and the shipped policies in $etc"
meson install -C "$build" --no-rebuild --quiet
rm -rf "$etc" && mkdir -p "$etc" && cp -r "$policies/." "$etc/" && chown -R root:root "$etc" && chmod -R go-w "$etc"
systemctl daemon-reload
systemd-tmpfiles --create tenantd.conf
busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig
$ctl validate "$etc"

say "systemctl start tenantd"
systemctl start tenantd
systemctl --no-pager status tenantd | sed -n '1,4p'

say "containers: crun, root file system = the host's, read-only; adopted into their tenants"
for c in web-01 web-02 ci-runner; do
        "$here/oci-bundle" "/run/bundles/$c" "$c" /bin/sleep 3600 >/dev/null
        crun --cgroup-manager=disabled run --detach --bundle "/run/bundles/$c" "$c"
        pid=$(crun state "$c" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
        $ctl adopt "$c" "$pid"
done

say "tenantctl list"
$ctl list
say "tenantctl tree (every value read back from the kernel)"
$ctl tree

db=tenants.slice/tenants-critical.slice/tenant-db.service
web=tenants.slice/tenants-normal.slice/tenant-web\\x2d01.scope
check "db VM runs (QEMU, guest RAM on node 1 hugepages)" systemctl is-active -q tenant-db.service
check "db memory.min is its guarantee" test "$(cg $db memory.min)" -gt 0
check "db pinned to node 1" test "$(cg $db cpuset.mems)" = 1
check "dev-vm runs" systemctl is-active -q tenant-dev\\x2dvm.service
check "web-01 container in its own leaf" test -n "$(procs "$web")"

say "tenantctl reassign web-01 --limit 160M"
$ctl reassign web-01 --limit 160M
check "web-01 memory.max is 160M in the kernel" test "$(cg "$web" memory.max)" = $((160 << 20))

say "kill -9 tenantd: systemd restarts it, tenants keep their processes and values"
before="$(procs $db)|$(procs "$web")|$(cg "$web" memory.max)"
old=$(systemctl show -p MainPID --value tenantd)
kill -9 "$old"
for i in $(seq 1 100); do
        new=$(systemctl show -p MainPID --value tenantd)
        [ "$new" != "$old" ] && [ "$new" != 0 ] && $ctl list >/dev/null 2>&1 && break
        sleep 0.3
done
after="$(procs $db)|$(procs "$web")|$(cg "$web" memory.max)"
echo "   tenantd PID $old -> $new"
check "same processes and values after the restart" test "$before" = "$after"

say "tenantctl events"
$ctl events

say "verdict"
if [ "$failed" -eq 0 ]; then
        echo "tenantd placed 5 tenants (2 VMs, 3 containers) under systemd, kept them across a kill -9, all checks passed"
else
        echo "$failed check(s) FAILED"
fi
for c in web-01 web-02 ci-runner; do crun kill "$c" KILL 2>/dev/null || true; done
exit "$failed"
