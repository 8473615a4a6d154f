#!/bin/sh
# Runs inside the testbed guest: one Criterion binary, serially (the tests share
# the kernel), with TAP on stdout for meson.
set -e
bin=$1
shift
exec "$bin" --tap=- --jobs=1 "$@"
