#!/usr/bin/env bash
# One set-up script for napari-photon (Debian 12, root or sudo, display optional).
#
#   bash scripts/bootstrap.sh demo [demo args...]   # install, then run the demo
#   bash scripts/bootstrap.sh test [pytest args...] # install, then run the tests
#
# Safe to re-run: Debian packages are only installed when `dpkg -s` says they are
# missing (one `apt-get update` first, only then), the virtual environment is only
# created when missing, and pip only runs when pyproject.toml changed since the last
# successful install (stamp files inside .venv).
set -euo pipefail

usage() {
    echo "usage: bash scripts/bootstrap.sh {demo|test} [args...]" >&2
    exit 2
}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

[ $# -ge 1 ] || usage
MODE="$1"
shift
case "$MODE" in
    demo | test) ;;
    *) usage ;;
esac

log() { echo "[bootstrap] $*" >&2; }

# --------------------------------------------------------------------------- Debian
# Qt 6 (xcb platform) + Mesa GL runtime: enough for napari to open a window.
QT_RUNTIME_PKGS=(
    libgl1 libegl1 libgl1-mesa-dri libglib2.0-0 libfontconfig1 libdbus-1-3
    libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
    libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1
)
if [ "$MODE" = test ]; then
    # Xvfb for pytest-xvfb, MariaDB for the database fixtures.
    WANT_PKGS=(xvfb xauth "${QT_RUNTIME_PKGS[@]}" mariadb-server)
else
    WANT_PKGS=("${QT_RUNTIME_PKGS[@]}")
fi

PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"

# Debian's own python3 has no venv/ensurepip without python3-venv.
if [ ! -x "$VENV/bin/python" ]; then
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        WANT_PKGS+=(python3 python3-venv)
    elif ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        WANT_PKGS+=(python3-venv)
    fi
fi

missing_pkgs() {
    # Prints the packages of "$@" that are not fully installed, one per line.
    local installed
    installed="$(dpkg -s "$@" 2>/dev/null | awk '
        /^Package: / { pkg = $2 }
        /^Status: install ok installed$/ { print pkg }' || true)"
    local p
    for p in "$@"; do
        if ! grep -qxF "$p" <<<"$installed"; then
            echo "$p"
        fi
    done
}

as_root() {
    # Runs "$@" as root: directly, through sudo, or not at all (returns 1).
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        if [ -t 0 ]; then sudo "$@"; else sudo -n "$@"; fi
    else
        return 1
    fi
}

install_debian_packages() {
    if ! command -v dpkg >/dev/null 2>&1; then
        log "no dpkg: not a Debian system; make sure these are installed: ${WANT_PKGS[*]}"
        return 0
    fi
    local missing
    mapfile -t missing < <(missing_pkgs "${WANT_PKGS[@]}")
    if [ "${#missing[@]}" -eq 0 ]; then
        log "Debian packages: all ${#WANT_PKGS[@]} present"
        return 0
    fi
    log "Debian packages missing: ${missing[*]}"
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300)
    if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
        log "not root and no sudo: install them yourself, then re-run:"
        log "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
        return 0
    fi
    if ! as_root "${apt[@]}" update -q; then
        log "apt-get update failed (trying the install anyway)"
    fi
    if ! as_root "${apt[@]}" install -y -q --no-install-recommends "${missing[@]}"; then
        log "could not install: ${missing[*]}"
        log "  run as root: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
        return 1
    fi
}

# --------------------------------------------------------------------------- Python
venv_works() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1
}

ensure_venv() {
    if venv_works; then
        return 0
    fi
    if [ -e "$VENV" ]; then
        log "$VENV exists but its python does not run: recreating it"
        "$PYTHON" -m venv --clear "$VENV"
    else
        log "creating $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
}

stamp_value() {
    # What a finished install depends on: pyproject.toml and the interpreter.
    {
        sha256sum pyproject.toml | cut -d' ' -f1
        "$VENV/bin/python" -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
}

stamp_file() { echo "$VENV/.napari-photon-bootstrap-$1.stamp"; }

stamp_ok() {
    local f
    f="$(stamp_file "$1")"
    [ -f "$f" ] && [ "$(cat "$f")" = "$CURRENT_STAMP" ]
}

dists_present() {
    # Cheap guard against a stamp that outlived a manual `pip uninstall`.
    "$VENV/bin/python" - "$@" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
for name in sys.argv[1:]:
    version(name)
EOF
}

install_python_packages() {
    CURRENT_STAMP="$(stamp_value)"
    local target dists
    if [ "$MODE" = test ]; then
        target=(-e ".[test]")
        dists=(napari-photon pytest pytest-xvfb moto)
        if stamp_ok test && dists_present "${dists[@]}"; then
            log "pip: up to date (stamp matches pyproject.toml), skipped"
            return 0
        fi
    else
        target=(-e ".[napari]" PyQt6)
        dists=(napari-photon PyQt6)
        # The test extra contains napari[pyqt6], so a test install serves the demo too.
        if { stamp_ok demo || stamp_ok test; } && dists_present "${dists[@]}"; then
            log "pip: up to date (stamp matches pyproject.toml), skipped"
            return 0
        fi
    fi
    local pip=("$VENV/bin/python" -m pip --disable-pip-version-check)
    log "pip: upgrading pip"
    "${pip[@]}" install -q --upgrade pip
    log "pip: installing ${target[*]}"
    "${pip[@]}" install --progress-bar off "${target[@]}"
    stamp_value >"$(stamp_file "$MODE")"
}

# --------------------------------------------------------------------------- main
t0=$SECONDS
install_debian_packages
ensure_venv
install_python_packages
log "set-up done in $((SECONDS - t0)) s"

if [ "$MODE" = demo ]; then
    exec "$VENV/bin/napari-photon" demo "$@"
fi

# test: keep caches and config inside the checkout (.cache/ is gitignored).
export XDG_CONFIG_HOME="$ROOT/.cache/xdg-config"
export XDG_CACHE_HOME="$ROOT/.cache/xdg-cache"
export MPLCONFIGDIR="$ROOT/.cache/matplotlib"
mkdir -p "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$MPLCONFIGDIR"
# pytest-xvfb starts Xvfb and sets DISPLAY; offscreen would give vispy no GL context.
unset QT_QPA_PLATFORM

set +e
"$VENV/bin/python" -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    log "FAILED: pytest collected no tests (exit 5); a test run must run tests"
    exit 1
fi
exit "$rc"
