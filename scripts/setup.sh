#!/usr/bin/env bash
# vit's system set-up: installs the system packages vit needs where they are missing, and says
# nothing when they are all there (so it is safe to run before every `npm ci`).
#
#   npm run setup              a C++ compiler, make and Python 3, with which `npm ci` builds the
#                              native CPU kernels (without them training is ~25x slower), and a
#                              font for the text in charts
#   npm run setup -- --tests   also what the whole test suite uses: PyTorch and ONNX for Python
#                              (reference models, the ONNX checker), OpenBLAS (the system-BLAS
#                              path), a Vulkan loader and Mesa's software driver (the WebGPU test),
#                              Slurm and munge (the sweep test starts a one-node cluster),
#                              Chromium (the browser the tests of `vit serve`'s page drive)
#
# Debian/Ubuntu (apt-get) and Fedora (dnf); uses sudo when not root. Where it cannot install (no
# package manager it knows, no root and no sudo), it prints the one command to run and exits 1.
set -euo pipefail

tests=false
for arg in "$@"; do
  case "$arg" in
    --tests) tests=true ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "vit setup: unknown option $arg (expected --tests)" >&2; exit 2 ;;
  esac
done

LOG=${TMPDIR:-/tmp}/vit-setup.log
say() { echo "vit setup: $*"; }
have() { command -v "$1" >/dev/null 2>&1; }
have_compiler() { [[ -n "${CXX:-}" ]] || have c++ || have g++ || have clang++; }

# Runs a package manager command as root, quietly (its output goes to $LOG).
as_root() {
  if [[ "$(id -u)" == 0 ]]; then "$@"
  elif have sudo; then sudo "$@"
  else return 127
  fi
}

# Installs $@ with the package manager, or says how when it cannot.
install_packages() {
  local manager=$1; shift
  local command
  case "$manager" in
    apt) command="apt-get install -y --no-install-recommends $*" ;;
    dnf) command="dnf install -y $*" ;;
  esac
  if [[ "$(id -u)" != 0 ]] && ! have sudo; then
    say "needs root to install $* (no sudo here): run as root: $command"
    exit 1
  fi
  say "installing $* (log: $LOG)"
  local ok=true
  case "$manager" in
    apt) { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
           as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"; } >>"$LOG" 2>&1 || ok=false ;;
    dnf) as_root dnf install -y -q "$@" >>"$LOG" 2>&1 || ok=false ;;
  esac
  if [[ $ok != true ]]; then
    say "installing failed: $(tail -n 1 "$LOG"); full log: $LOG"
    exit 1
  fi
}

debian_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
debian_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }

# Dawn (npm `webgpu`) needs Mesa >= 25 for its software Vulkan driver; Debian 12's own Mesa is
# 22.3, bookworm-backports has 25. Adds backports from the mirror the system already uses.
debian_vulkan() {
  local mesa
  mesa=$(debian_version mesa-vulkan-drivers)
  if debian_installed libvulkan1 && [[ -n "$mesa" ]] && dpkg --compare-versions "$mesa" ge 25; then return; fi
  local target=()
  if [[ "${VERSION_CODENAME:-}" == bookworm ]]; then
    local sources=/etc/apt/sources.list.d
    if ! grep -qs bookworm-backports /etc/apt/sources.list "$sources"/*.list "$sources"/*.sources; then
      local mirror
      mirror=$(awk '$1 == "URIs:" { print $2; exit }' "$sources/debian.sources" 2>/dev/null || true)
      printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "${mirror:-http://deb.debian.org/debian}" | as_root tee "$sources/bookworm-backports.sources" >/dev/null
    fi
    # -t prefers backports for the whole transaction: Mesa 25 needs libdrm and more from there.
    target=(-t bookworm-backports)
  fi
  say "installing libvulkan1 mesa-vulkan-drivers ${target[*]} (log: $LOG)"
  { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${target[@]}" libvulkan1 mesa-vulkan-drivers; } >>"$LOG" 2>&1 ||
    { say "installing failed: $(tail -n 1 "$LOG"); full log: $LOG"; exit 1; }
}

missing=()
if [[ "$(uname -s)" == Darwin ]]; then
  if ! xcode-select -p >/dev/null 2>&1; then say "the C++ compiler is missing: run xcode-select --install"; exit 1; fi
  if [[ $tests == true ]] && ! python3 -c 'import torch, onnx' >/dev/null 2>&1; then
    say "the tests use PyTorch and ONNX for Python: run python3 -m pip install torch onnx"; exit 1
  fi
  exit 0
fi

. "${VIT_OS_RELEASE:-/etc/os-release}"
family=" ${ID:-} ${ID_LIKE:-} "
if [[ "$family" == *" debian "* || "$family" == *" ubuntu "* ]]; then
  have_compiler || missing+=(g++)
  have make || missing+=(make)
  have python3 || missing+=(python3)
  wanted=(fonts-dejavu-core)
  [[ $tests == true ]] && wanted+=(python3-torch python3-onnx libopenblas0-pthread slurm-wlm munge chromium)
  for package in "${wanted[@]}"; do debian_installed "$package" || missing+=("$package"); done
  [[ ${#missing[@]} -eq 0 ]] || install_packages apt "${missing[@]}"
  [[ $tests == true ]] && debian_vulkan
elif [[ "$family" == *" fedora "* || "$family" == *" rhel "* || "$family" == *" centos "* ]]; then
  have_compiler || missing+=(gcc-c++)
  have make || missing+=(make)
  have python3 || missing+=(python3)
  wanted=(dejavu-sans-fonts)
  [[ $tests == true ]] && wanted+=(python3-torch python3-onnx openblas-threads vulkan-loader mesa-vulkan-drivers slurm-slurmctld slurm-slurmd munge chromium)
  for package in "${wanted[@]}"; do rpm -q "$package" >/dev/null 2>&1 || missing+=("$package"); done
  [[ ${#missing[@]} -eq 0 ]] || install_packages dnf "${missing[@]}"
else
  if ! have_compiler || ! have make || ! have python3; then
    say "install a C++ compiler, make and python3 with your system's package manager (${PRETTY_NAME:-this system} is not one vit knows)"
    exit 1
  fi
fi
exit 0
