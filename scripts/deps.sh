#!/usr/bin/env bash
# Installs the Debian 12 packages this project needs, and only those that are missing.
# A no-op when everything is present; never prompts. Needs root or sudo to install.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git clang clang-format libclang-rt-14-dev
  libssl-dev openssl libcurl4-openssl-dev curl nlohmann-json3-dev doctest-dev
  libcli11-dev libcpp-httplib-dev libbenchmark-dev libmbedtls-dev
  mosquitto mosquitto-clients mosquitto-dev libmosquitto-dev libpaho-mqtt-dev
  gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib
  python3 procps
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps.sh: run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian package starts a system mosquitto on port 1883; our tests start their own on free
# ports and never use it, but stop it so it does not surprise anyone.
if printf '%s\n' "${missing[@]}" | grep -qx mosquitto && command -v systemctl >/dev/null; then
  $sudo systemctl disable --now mosquitto >/dev/null 2>&1 || true
fi
