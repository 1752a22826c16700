#!/usr/bin/env bash
# Installs a Vulkan loader and Mesa's Vulkan drivers, so that Dawn (npm `webgpu`) finds a WebGPU
# adapter on a machine without a GPU: lavapipe, Mesa's software Vulkan driver. CI uses it to run
# the WebGPU tests. Debian 12's own Mesa (22.3) is too old for Dawn ("shaderUniform*Array
# DynamicIndexing required"); the Mesa 25 in bookworm-backports works.
#
# Debian 12 (bookworm) only. Non-interactive and idempotent: a second run changes nothing.
set -euo pipefail

MIN_MESA=25
SOURCES_DIR=/etc/apt/sources.list.d

. /etc/os-release
if [[ "${VERSION_CODENAME:-}" != bookworm ]]; then
  echo "install-vulkan.sh: written for Debian 12 (bookworm), this is ${PRETTY_NAME:-unknown}" >&2
  exit 1
fi

sudo=()
if [[ $EUID -ne 0 ]]; then sudo=(sudo); fi
# sudo drops the environment, so the non-interactive setting travels on the command line.
apt_get=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)

installed_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }

mesa=$(installed_version mesa-vulkan-drivers)
if [[ -n "$(installed_version libvulkan1)" && -n "$mesa" ]] && dpkg --compare-versions "$mesa" ge "$MIN_MESA"; then
  echo "libvulkan1 and mesa-vulkan-drivers $mesa are already installed"
  exit 0
fi

# Add bookworm-backports in the style and from the mirror of the existing sources.
if ! grep -qs bookworm-backports /etc/apt/sources.list "$SOURCES_DIR"/*.list "$SOURCES_DIR"/*.sources; then
  if [[ -f "$SOURCES_DIR/debian.sources" ]]; then
    mirror=$(awk '$1 == "URIs:" { print $2; exit }' "$SOURCES_DIR/debian.sources")
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$mirror" | "${sudo[@]}" tee "$SOURCES_DIR/bookworm-backports.sources" >/dev/null
  else
    mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
    echo "deb ${mirror:-http://deb.debian.org/debian} bookworm-backports main" |
      "${sudo[@]}" tee "$SOURCES_DIR/bookworm-backports.list" >/dev/null
  fi
fi

start=$SECONDS
"${apt_get[@]}" update -qq
# -t prefers backports for the whole transaction: Mesa 25 needs libdrm and mesa-libgallium from
# there, and moves Mesa's already installed OpenGL packages to 25 with it.
"${apt_get[@]}" install -y -qq --no-install-recommends -t bookworm-backports libvulkan1 mesa-vulkan-drivers

mesa=$(installed_version mesa-vulkan-drivers)
if ! dpkg --compare-versions "$mesa" ge "$MIN_MESA"; then
  echo "install-vulkan.sh: got mesa-vulkan-drivers $mesa, need >= $MIN_MESA" >&2
  exit 1
fi
echo "installed libvulkan1 $(installed_version libvulkan1) and mesa-vulkan-drivers $mesa in $((SECONDS - start)) s"
