#!/usr/bin/env bash
# onenet-cli token, as a user runs it: exact V2 output, verify answers, exit statuses.
set -u
cli="$1"
failures=0
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then echo "ok: $1"; else echo "FAIL: $1: expected [$2] got [$3]"; failures=$((failures + 1)); fi
}
key=KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=
v2='version=2018-10-31&res=products%2FCk2AF9QD2K%2Fdevices%2Ftest&et=32472115200&method=sha1&sign=onzQlILHFFNqIY%2BdOXYM3lthLT8%3D'

check "V2 exactly" "$v2" "$("$cli" token --key "$key" --res products/Ck2AF9QD2K/devices/test --et 32472115200 --method sha1)"
check "--product/--device shorthand" "$v2" "$("$cli" token --key "$key" --product Ck2AF9QD2K --device test --et 32472115200 --method sha1)"
# --product alone: a product-level token (onenet-protocol.md vector D1). It used to be refused.
d1='version=2018-10-31&res=products%2FCk2AF9QD2K&et=1700000000&method=sha1&sign=3C81sbyItVGrMOxPXonppd9fFOg%3D'
check "--product alone signs the product res (D1)" "$d1" "$("$cli" token --key "$key" --product Ck2AF9QD2K --et 1700000000 --method sha1 2>/dev/null)"
# Leading zeros are decimal, not octal (CLI11 alone would read 032472115200 in base 8).
check "--et with leading zeros" "$v2" "$("$cli" token --key "$key" --res products/Ck2AF9QD2K/devices/test --et 032472115200 --method sha1)"
check "key from ONENET_KEY" "$v2" "$(ONENET_KEY="$key" "$cli" token --res products/Ck2AF9QD2K/devices/test --et 32472115200 --method sha1)"

out=$("$cli" token --verify "$v2" --key "$key"); rc=$?
check "verify valid" "valid/0" "$out/$rc"
tampered=${v2/sign=o/sign=p}
out=$("$cli" token --verify "$tampered" --key "$key"); rc=$?
check "verify tampered exit" "1" "$rc"
case "$out" in invalid:*signature*) echo "ok: tampered reason";; *) echo "FAIL: tampered reason [$out]"; failures=$((failures + 1));; esac
expired=$("$cli" token --key "$key" --res products/P/devices/D --et 1000 2>"${TMPDIR:-/tmp}/token_warning.$$"); rc=$?
warning=$(cat "${TMPDIR:-/tmp}/token_warning.$$"); rm -f "${TMPDIR:-/tmp}/token_warning.$$"
check "a past et is signed (exit 0)" "0" "$rc"
case "$warning" in *"warning: et 1000 is not in the future"*) echo "ok: past et warned";; *) echo "FAIL: past et warning [$warning]"; failures=$((failures + 1));; esac
case "$("$cli" token --key "$key" --res products/P/devices/D --et 0 2>/dev/null)" in
  *"&et=0&"*) echo "ok: --et 0 is signed as given";; *) echo "FAIL: --et 0"; failures=$((failures + 1));; esac
check "a future et is signed without a word" "" "$("$cli" token --key "$key" --res products/P/devices/D --ttl 60 2>&1 >/dev/null)"
out=$("$cli" token --verify "$expired" --key "$key"); rc=$?
check "verify expired exit" "1" "$rc"
case "$out" in invalid:*expired*) echo "ok: expired reason";; *) echo "FAIL: expired reason [$out]"; failures=$((failures + 1));; esac

ttl_token=$("$cli" token --key "$key" --res products/P/devices/D --ttl 600)
check "ttl token verifies" "valid" "$("$cli" token --verify "$ttl_token" --key "$key")"

for bad in "--key not-base64! --res products/P/devices/D" "--key $key --res products/P/devices/D --method sha512" \
           "--key $key --res products" "--key $key" "--key $key --res a/b --et 5 --ttl 5" "--res a/b" \
           "--key $key --res a/b --bogus" "--key $key --res a/b --et -5" "--key $key --res a/b --ttl -5" \
           "--key $key --res a/b --et 99999999999999999999" "--key $key --res a/b --ttl 0x10" \
           "--key $key --device d" "--key $key --product p --res a/b"; do
  err=$("$cli" token $bad 2>&1 >/dev/null); rc=$?
  lines=$(printf '%s\n' "$err" | wc -l)
  check "bad input [$bad] exits 2 with one line" "2/1" "$rc/$lines"
done
echo "$failures failed"
[ "$failures" -eq 0 ]
