#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fuzz the parsers for a bounded time: tests/fuzz/run.sh [SECONDS] (default 30).
# The time is split: half for the policy parsers, a third for the QMP reply
# parser (fuzz-qmp), the rest for the PSI averages parser (fuzz-psi).
#
# Builds build-fuzz/ with clang, libFuzzer, ASan and UBSan on first use. New
# inputs go to build-fuzz/fuzz-corpus{,-qmp,-psi}/ (the seed corpora
# tests/corpus/{good,bad} and tests/fuzz/{qmp,psi}-corpus are only read);
# crashes are written to tests/fuzz/crash-*, which .gitignore keeps out of
# commits until one is turned into a test.
set -eu

secs=${1:-30}
case $secs in
        ''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build-fuzz

if [ ! -f "$build/build.ninja" ]; then
        (cd "$root" && CC=clang meson setup build-fuzz -Dfuzz=true \
                -Db_sanitize=address,undefined -Db_lundef=false)
fi
ninja -C "$build" tests/fuzz/fuzz-policy tests/fuzz/fuzz-qmp tests/fuzz/fuzz-psi

policy_secs=$((secs / 2))
qmp_secs=$((secs / 3))
psi_secs=$((secs - policy_secs - qmp_secs))
[ "$policy_secs" -ge 1 ] || policy_secs=1
[ "$qmp_secs" -ge 1 ] || qmp_secs=1
[ "$psi_secs" -ge 1 ] || psi_secs=1

mkdir -p "$build/fuzz-corpus" "$build/fuzz-corpus-qmp" "$build/fuzz-corpus-psi"
status=0
"$build/tests/fuzz/fuzz-policy" \
        -max_total_time="$policy_secs" \
        -max_len=8192 \
        -timeout=10 \
        -dict="$root/tests/fuzz/policy.dict" \
        -artifact_prefix="$root/tests/fuzz/" \
        "$build/fuzz-corpus" "$root/tests/corpus/good" "$root/tests/corpus/bad" || status=1
"$build/tests/fuzz/fuzz-qmp" \
        -max_total_time="$qmp_secs" \
        -max_len=8192 \
        -timeout=10 \
        -dict="$root/tests/fuzz/qmp.dict" \
        -artifact_prefix="$root/tests/fuzz/" \
        "$build/fuzz-corpus-qmp" "$root/tests/fuzz/qmp-corpus" || status=1
"$build/tests/fuzz/fuzz-psi" \
        -max_total_time="$psi_secs" \
        -max_len=1024 \
        -timeout=10 \
        -artifact_prefix="$root/tests/fuzz/" \
        "$build/fuzz-corpus-psi" "$root/tests/fuzz/psi-corpus" || status=1
exit $status
