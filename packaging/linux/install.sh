#!/usr/bin/env bash
# Installs the unpacked BloodCell or BloodCell Review folder for the current user (or under
# PREFIX): the program in PREFIX/share/bloodcell/, a launcher in the applications menu, and the
# command on PREFIX/bin. uninstall.sh, beside this script, removes exactly that.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
prefix="${PREFIX:-$HOME/.local}"
desktop=$(cd "$here" && ls *.desktop | head -1)
command="${desktop%.desktop}"                      # bloodcell or bloodcell-review
name=$(sed -n 's#^Exec=\([^/]*\)/.*#\1#p' "$here/$desktop")   # BloodCell or BloodCellReview
mkdir -p "$prefix/share/bloodcell" "$prefix/share/applications" "$prefix/share/icons/hicolor/256x256/apps" "$prefix/bin"
rm -rf "$prefix/share/bloodcell/$name"
cp -a "$here/$name" "$prefix/share/bloodcell/"
cp "$here/uninstall.sh" "$prefix/share/bloodcell/$name/uninstall.sh"
sed "s#^Exec=.*#Exec=$prefix/share/bloodcell/$name/$name %F#" "$here/$desktop" > "$prefix/share/applications/$desktop"
cp "$here/$command.png" "$prefix/share/icons/hicolor/256x256/apps/$command.png"
sed -i "s#^Icon=.*#Icon=$command#" "$prefix/share/applications/$desktop"
ln -sf "$prefix/share/bloodcell/$name/$name" "$prefix/bin/$command"
echo "$name installed: run '$command', or find it in the applications menu."
echo "To remove it: $prefix/share/bloodcell/$name/uninstall.sh"
# Qt's X11 plugin needs these; minimal Debian/Ubuntu installs lack them.
missing=""
for lib in libxcb-cursor.so.0 libxcb-icccm.so.4 libxcb-keysyms.so.1; do
  ldconfig -p 2>/dev/null | grep -q "$lib" || missing="$missing $lib"
done
if [ -n "$missing" ]; then
  echo "Note: the window needs$missing: install them with"
  echo "  sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"
fi
