#!/usr/bin/env bash
# expect.sh EXIT_CODE PATTERN -- COMMAND [ARGS...]   (EXIT_CODE "nonzero": any failure, as mpirun reports one)
# Runs COMMAND and passes when it exits with EXIT_CODE and its output (stdout and stderr together) matches
# the extended regular expression PATTERN, matched against the whole output at once (so '.*' spans lines).
# Prints what it saw otherwise.
set -u
want=$1 pattern=$2
shift 2
[ "$1" = "--" ] && shift
out=$("$@" 2>&1)
got=$?
if { [ "$want" = nonzero ] && [ "$got" = 0 ]; } || { [ "$want" != nonzero ] && [ "$got" != "$want" ]; }; then
  printf 'expected exit %s, got %s from: %s\n--- output ---\n%s\n' "$want" "$got" "$*" "$out"
  exit 1
fi
if ! grep -Ezq -- "$pattern" <<<"$out"; then
  printf 'output of: %s\ndoes not match: %s\n--- output ---\n%s\n' "$*" "$pattern" "$out"
  exit 1
fi
printf '%s\n' "$out"
