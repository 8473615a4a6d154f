#!/bin/sh
# The main job, guest side: apply the shipped example policies to the real
# kernel's cgroup2 tree and show the result read back from the kernel.
# Arguments: BUILD_DIR POLICY_DIR
set -eu
build=$1
policies=$2
ctl="$build/ctl/tenantctl"

echo "== host: $(uname -r), $(ls -d /sys/devices/system/node/node* | wc -l) NUMA nodes, $(grep MemTotal /proc/meminfo | tr -s ' ')"
echo "== tenantctl validate $policies"
"$ctl" validate "$policies"
echo
echo "== tenantctl plan $policies"
"$ctl" plan "$policies"
echo
echo "== tenantctl apply --direct $policies"
"$ctl" apply --direct "$policies"
echo
echo "== tenantctl tree (values read back from the kernel)"
"$ctl" tree
echo
echo "== second apply: nothing to change"
"$ctl" apply --direct "$policies"
