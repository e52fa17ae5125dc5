#!/usr/bin/env bash
# Installs the Debian packages Aegis needs to build, test and benchmark.
# Idempotent: only missing packages are installed. Run as root on Debian 12.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # libraries used by this release
  libsimdjson-dev libsqlite3-dev sqlite3 libidn2-dev libtomlplusplus-dev libspdlog-dev
  libfmt-dev libcli11-dev libevtx-dev libbfio-dev libzip-dev zlib1g-dev
  libyaml-cpp-dev libhyperscan-dev libpcre2-dev libboost1.81-dev libssl-dev
  libcurl4-openssl-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev clang-19 libclang-rt-19-dev
  bsdutils ripgrep hyperfine python3 gzip zip unzip procps time curl openssl
  python3-aiosmtpd wrk
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run as root or install them with apt-get" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
