#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The bash completion (shell-completion/tenantctl.bash) with the built
# tenantctl on PATH: verbs, global options, and --class from the policy
# directory's classes.ini (the built-in classes without one). TAP on stdout.
#   test-completion.sh SOURCE_ROOT BUILD_ROOT
set -euo pipefail
src=$1
build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
PATH=$build/ctl:$PATH
export TENANTD_POLICY_DIR=$tmp
# shellcheck source=/dev/null
source "$src/shell-completion/tenantctl.bash"

n=0
failed=0
# expect WANT WORDS...: COMPREPLY for WORDS, the last one being completed
expect() {
	local want=$1 got
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	set +eu # as in an interactive shell
	_tenantctl
	set -eu
	got="${COMPREPLY[*]}"
	n=$((n + 1))
	if [[ $got == "$want" ]]; then
		echo "ok $n - $* -> $got"
	else
		echo "not ok $n - $*: got '$got', want '$want'"
		failed=1
	fi
}

echo "1..6"
expect "reassign" tenantctl re
expect "systemd" tenantctl --backend s
expect "low" tenantctl reassign web --class l
printf '[class.gold]\nrank = 2\n\n [class.lead] \nrank = 1\n' >"$tmp/classes.ini"
expect "gold" tenantctl reassign web --class g
expect "gold lead" tenantctl reassign web --class ''
expect "--direct --keep-stale" tenantctl apply --
exit $failed
