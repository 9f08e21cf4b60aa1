#!/usr/bin/env bash
# The Debian packages the project runs on, installed when missing: RabbitMQ (the
# broker), Chromium and its driver (the worker page's browser tests: nothing may
# download a browser at run time) and the Noto fonts (Thai, Burmese, Khmer, Lao and
# Devanagari render as boxes without them). As root through apt-get; otherwise the
# command to run is printed. Sourced by scripts/bootstrap.sh (tests and local run).
ILM_SYSTEM_PACKAGES=(rabbitmq-server chromium chromium-driver fonts-noto-core)

ilm_missing_packages() {
  local pkg
  for pkg in "${ILM_SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
  done
}

ilm_system_packages() {
  command -v dpkg-query >/dev/null 2>&1 || return 0     # not Debian: the README lists what to install
  local missing
  missing="$(ilm_missing_packages | tr '\n' ' ')"
  [ -z "${missing// /}" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing system packages: $missing" >&2
    # shellcheck disable=SC2086
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing) \
      >&2 || echo "apt-get could not install: $missing" >&2
  else
    echo "missing system packages; install them with: sudo apt-get install $missing" >&2
  fi
}

ilm_system_packages
