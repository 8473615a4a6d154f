#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fuzz the policy parsers for a bounded time: tests/fuzz/run.sh [SECONDS] (default 30).
#
# Builds build-fuzz/ with clang, libFuzzer, ASan and UBSan on first use. New
# inputs go to build-fuzz/fuzz-corpus/ (the seed corpus tests/corpus/good and
# tests/corpus/bad is only read); crashes are written to tests/fuzz/crash-*,
# which .gitignore keeps out of commits until one is turned into a test.
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
ninja -C "$build" tests/fuzz/fuzz-policy

mkdir -p "$build/fuzz-corpus"
exec "$build/tests/fuzz/fuzz-policy" \
        -max_total_time="$secs" \
        -max_len=8192 \
        -timeout=10 \
        -dict="$root/tests/fuzz/policy.dict" \
        -artifact_prefix="$root/tests/fuzz/" \
        "$build/fuzz-corpus" "$root/tests/corpus/good" "$root/tests/corpus/bad"
