#!/usr/bin/env bash
# Browser tests drive Debian's Chromium at /usr/bin/chromium (Playwright never
# downloads a browser here). Install it when missing and we can (root + apt-get);
# otherwise say how, and the browser tests skip (or fail, with REQUIRE_ALL_TESTS=1).
set -u
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit $?
fi
echo "note: /usr/bin/chromium is missing; install it (apt-get install chromium) to run the browser tests." >&2
exit 0
