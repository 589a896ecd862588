#!/usr/bin/env bash
# Keeps the README's C++ examples true: each ```cpp block must compile as C++17 with
# -pedantic-errors -Wall -Werror against today's headers (so no example drops a result). A block with main() compiles as it is; a fragment
# compiles inside a function, after readme_context.hpp (what the prose around it assumes).
# Usage: readme_examples.sh CXX SOURCE_DIR
set -euo pipefail
cxx=$1
root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk -v dir="$work" '
  /^```cpp$/ { n++; inside = 1; next }
  inside && /^```$/ { inside = 0; next }
  inside { print > (dir "/" n ".txt") }' "$root/README.md"
count=0
for block in "$work"/*.txt; do
  [ -e "$block" ] || break
  source="${block%.txt}.cpp"
  if grep -q 'int main(' "$block"; then
    cp "$block" "$source"
  else
    {
      grep '^#include' "$block" || true
      echo '#include "readme_context.hpp"'
      echo 'namespace readme {'
      echo 'void example() {'
      grep -v '^#include' "$block"
      echo '}'
      echo '}  // namespace readme'
    } >"$source"
  fi
  if ! "$cxx" -std=c++17 -pedantic-errors -Wall -Werror -fsyntax-only -I"$root/sdk/include" \
       -I"$root/platform/include" -I"$root/tests/docs" "$source"; then
    echo "README.md: C++ example $(basename "$block" .txt) does not compile (see above)"
    exit 1
  fi
  count=$((count + 1))
done
[ "$count" -gt 0 ] || { echo "README.md: no C++ examples found"; exit 1; }
echo "README.md: $count C++ examples compile"
