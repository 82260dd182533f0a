#!/usr/bin/env bash
# Installs what building and testing StarKV Cluster needs on Debian 12 / Ubuntu, and nothing that is
# already there. Safe to run again. Runs apt-get through sudo when not root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

need_apt=()
# TorchSharp 0.107's native shim is patched during the build where libstdc++ lacks GLIBCXX_3.4.32.
command -v patchelf >/dev/null || need_apt+=(patchelf)
command -v g++ >/dev/null || need_apt+=(g++)
# npm installs Azurite, the blob storage emulator the storage tests run against.
command -v npm >/dev/null || need_apt+=(nodejs npm)
# The multi-process cluster test (tests/Cluster.Tests) runs a real Redis for Orleans clustering.
command -v redis-server >/dev/null || need_apt+=(redis-server)

if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need_apt[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK is required (https://dot.net)" >&2; exit 1; }

# Azurite (the Azure Storage emulator) for the blob storage tests, pinned, in .tools/azurite (git-ignored).
# The storage tests look for .tools/azurite/node_modules/.bin/azurite-blob.
AZURITE_VERSION=3.37.0
if [ ! -x .tools/azurite/node_modules/.bin/azurite-blob ]; then
  echo "setup: installing azurite ${AZURITE_VERSION} into .tools/azurite"
  mkdir -p .tools/azurite
  npm install --prefix .tools/azurite --no-audit --no-fund --loglevel=error "azurite@${AZURITE_VERSION}" >/dev/null
fi
echo "setup: ready"
