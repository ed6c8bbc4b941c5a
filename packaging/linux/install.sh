#!/usr/bin/env bash
# Installs the unpacked BloodCell folder for the current user: ~/.local/share/bloodcell,
# a launcher in the applications menu, and `bloodcell` on ~/.local/bin.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
prefix="${PREFIX:-$HOME/.local}"
mkdir -p "$prefix/share/bloodcell" "$prefix/share/applications" "$prefix/share/icons/hicolor/256x256/apps" "$prefix/bin"
cp -a "$here/BloodCell" "$prefix/share/bloodcell/"
sed "s#^Exec=.*#Exec=$prefix/share/bloodcell/BloodCell/BloodCell %F#" "$here/bloodcell.desktop" > "$prefix/share/applications/bloodcell.desktop"
cp "$here/bloodcell.png" "$prefix/share/icons/hicolor/256x256/apps/bloodcell.png"
ln -sf "$prefix/share/bloodcell/BloodCell/BloodCell" "$prefix/bin/bloodcell"
echo "BloodCell installed: run 'bloodcell', or find it in the applications menu."
# Qt's X11 plugin needs these; minimal Debian/Ubuntu installs lack them.
missing=""
for lib in libxcb-cursor.so.0 libxcb-icccm.so.4 libxcb-keysyms.so.1; do
  ldconfig -p 2>/dev/null | grep -q "$lib" || missing="$missing $lib"
done
if [ -n "$missing" ]; then
  echo "Note: the window needs$missing: install them with"
  echo "  sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"
fi
