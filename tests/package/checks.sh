# What the package tests share (sourced): the CMake generator, and checks that count failures.
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
failures=0
check() {  # check NAME COMMAND...: ok when COMMAND succeeds
  if "${@:2}"; then echo "ok: $1"; else echo "FAIL: $1"; failures=$((failures + 1)); fi
}
check_none() {  # check_none NAME LINES: ok when LINES is empty; else names what it holds
  check "$1${2:+ (found: ${2//$'\n'/ })}" test -z "$2"
}
finish() {  # finish WHAT: the summary line, and the exit status
  [ "$failures" -eq 0 ] && echo "all $1 checks passed"
  exit "$((failures > 0))"
}
