#!/usr/bin/env bash
# Make sure Debian packages are installed: `bash scripts/debian-packages.sh PURPOSE PACKAGE...`.
#
# Installs the missing ones with apt-get when run as root on a Debian-like system; otherwise
# prints the one `apt-get install` line to run and exits 2. Nothing is installed twice.
set -euo pipefail
purpose=$1
shift

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for package in "$@"; do
  installed "$package" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "$purpose needs Debian packages that are not installed. Install them, then run this again:" >&2
  echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 2
fi

echo "installing for $purpose: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Debian's postgresql would create and start a cluster of its own; the tests bring theirs.
mkdir -p /etc/postgresql-common/createcluster.d
echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/50-clearance-desk.conf
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
