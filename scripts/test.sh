#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine with Python 3.11+: installs what it needs
# (Debian's prometheus for promtool and the integration tests, a virtualenv with the test extras),
# then runs lint, format check, type check and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

# prometheus-blackbox-exporter: the reference the probes are tested against.
# prometheus-alertmanager: amtool checks the shipped Alertmanager config.
# podman, runc, debootstrap: the container image test (tests/integration/test_container_image.py).
# chromium: the console at / rendered headless (tests/integration/test_console_browser.py).
debian_packages=(prometheus prometheus-blackbox-exporter prometheus-alertmanager podman runc debootstrap chromium)
missing=()
for pkg in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian package starts a Prometheus on :9090; the tests start their own on free ports.
if command -v systemctl >/dev/null 2>&1; then systemctl stop prometheus 2>/dev/null || true; fi
if command -v systemctl >/dev/null 2>&1; then systemctl stop prometheus-blackbox-exporter 2>/dev/null || true; fi

python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy"; .venv/bin/mypy exporter collectors simulator tests benchmarks scripts
echo "== pytest"; .venv/bin/pytest "$@"
