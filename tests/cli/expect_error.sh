# Sourced by the CLI test scripts: fail MESSAGE, and expect_error PATTERN COMMAND... (the command must fail
# and print something matching the extended regular expression PATTERN).
fail() { echo "FAIL: $*"; exit 1; }
expect_error() {  # PATTERN COMMAND...
  local pattern=$1 out
  shift
  if out=$("$@" 2>&1); then fail "accepted: $* -> $out"; fi
  grep -Eq -- "$pattern" <<<"$out" || fail "expected /$pattern/ from $*, got: $out"
  echo "ok: $(grep -Eo -- "$pattern" <<<"$out" | head -1)"
}
