# Sourced by scripts/demo and scripts/test: make ./.venv with Kiln installed in it.
# Debian splits venv support into python3-venv; install it (and other system packages) with
# apt-get when we are root or may sudo.

apt_install() {
    local missing=("$@")
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing system packages: ${missing[*]}"
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    elif command -v sudo >/dev/null; then
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    else
        echo "please install: ${missing[*]} (apt-get install ${missing[*]})" >&2
        return 1
    fi
}

ensure_venv() {
    local extras="$1"
    local py="${PYTHON:-python3}"
    if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "Kiln needs Python 3.11 or newer; $py is $("$py" --version 2>&1)" >&2
        exit 1
    fi
    if [ ! -x .venv/bin/python ]; then
        if ! "$py" -m venv .venv 2>/dev/null; then
            rm -rf .venv
            local ver
            ver=$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
            apt_install "python${ver}-venv" || apt_install python3-venv
            "$py" -m venv .venv
        fi
    fi
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}"
}
