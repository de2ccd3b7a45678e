#!/usr/bin/env bash
# Debian packages the tests drive: chromium (browser tests, never a downloaded
# browser) and nginx (the cluster's load balancer). Install what is missing
# when we can (root + apt-get); otherwise say how, and those tests skip (or
# fail, with REQUIRE_ALL_TESTS=1 as in CI).
set -u
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian packages for the tests: ${missing[*]}..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  exit $?
fi
echo "note: missing ${missing[*]}; install with: apt-get install ${missing[*]} (their tests skip meanwhile)." >&2
exit 0
