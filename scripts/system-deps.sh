#!/usr/bin/env bash
# Installs Debian packages the app or its tests need (wkhtmltopdf for PDFs; chromium, its driver and
# poppler-utils for the tests) when they are missing and we are root. Otherwise prints the exact
# command and carries on: the features that need them answer with a clear message instead.
set -u
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installerar systempaket: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/samverkan-apt.log 2>&1 \
     || { apt-get update -qq >>/tmp/samverkan-apt.log 2>&1 \
          && apt-get install -y -qq --no-install-recommends "${missing[@]}" >>/tmp/samverkan-apt.log 2>&1; }; then
    exit 0
  fi
  echo "Kunde inte installera ${missing[*]} (se /tmp/samverkan-apt.log)." >&2
else
  echo "Saknade systempaket: ${missing[*]}. Installera dem med:" >&2
  echo "  sudo apt-get install ${missing[*]}" >&2
fi
# Carry on: PDF features and browser tests report the missing program themselves.
exit 0
