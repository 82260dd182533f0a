#!/usr/bin/env bash
# Makes TorchSharp's native shim load on systems whose libstdc++ predates GLIBCXX_3.4.32 (Debian 12,
# Ubuntu 22.04). Patches the copies of libLibTorchSharp.so under an output folder, never the NuGet cache.
# See build/torchsharp/README.md. Usage: fix-libtorchsharp.sh <output-dir> <tools-dir>
set -euo pipefail
out_dir=$1
tools_dir=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
shim=libstarkv_glibcxx_compat.so
symbol=_ZSt21ios_base_library_initv
version=GLIBCXX_3.4.32

libstdcxx=$(/sbin/ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
[ -n "$libstdcxx" ] || libstdcxx=/usr/lib/x86_64-linux-gnu/libstdc++.so.6
if [ -f "$libstdcxx" ] && grep -q "$version" "$libstdcxx"; then
  exit 0  # the system libstdc++ has the version: nothing to fix
fi

mapfile -t targets < <(find "$out_dir" -maxdepth 4 -name libLibTorchSharp.so 2>/dev/null)
[ ${#targets[@]} -gt 0 ] || exit 0

missing=()
command -v patchelf >/dev/null || missing+=(patchelf)
command -v g++ >/dev/null || missing+=(g++)
if [ ${#missing[@]} -gt 0 ]; then
  echo "error STARKV001: TorchSharp needs ${missing[*]} to be patched for this system's libstdc++ (no $version). Install with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

mkdir -p "$tools_dir"
weaken="$tools_dir/elf_weaken_verneed"
if [ ! -x "$weaken" ] || [ "$here/elf_weaken_verneed.cpp" -nt "$weaken" ]; then
  g++ -O2 -o "$weaken.tmp.$$" "$here/elf_weaken_verneed.cpp" && mv -f "$weaken.tmp.$$" "$weaken"
fi
compat="$tools_dir/$shim"
if [ ! -f "$compat" ] || [ "$here/glibcxx_compat.cpp" -nt "$compat" ]; then
  g++ -O2 -shared -fPIC -o "$compat.tmp.$$" "$here/glibcxx_compat.cpp" && mv -f "$compat.tmp.$$" "$compat"
fi

for lib in "${targets[@]}"; do
  dir=$(dirname "$lib")
  # A program may be running from this folder: replace the shim by rename, and only when it changed.
  if ! cmp -s "$compat" "$dir/$shim"; then
    cp -f "$compat" "$dir/$shim.tmp.$$" && mv -f "$dir/$shim.tmp.$$" "$dir/$shim"
  fi
  if patchelf --print-needed "$lib" | grep -qx "$shim"; then
    continue  # already patched
  fi
  tmp="$lib.patching.$$"
  cp -f "$lib" "$tmp"
  "$weaken" "$tmp" "$version"
  patchelf --clear-symbol-version "$symbol" "$tmp"
  patchelf --add-needed "$shim" "$tmp"
  patchelf --set-rpath '$ORIGIN' "$tmp"
  mv -f "$tmp" "$lib"
  echo "Patched $lib for a libstdc++ without $version"
done
