#!/usr/bin/env bash
# Removes what install.sh put in place for this program (BloodCell or BloodCell Review, found
# from where this script lies), and nothing else: settings, sessions, exports and the verified
# cells in the user's folders stay.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
name="$(basename "$here")"
case "$name" in
  BloodCell) command=bloodcell ;;
  BloodCellReview) command=bloodcell-review ;;
  *) echo "uninstall.sh: run the copy inside the installed BloodCell or BloodCellReview folder" >&2; exit 2 ;;
esac
prefix="$(cd "$here/../../.." && pwd)"
if [ "$(readlink "$prefix/bin/$command" 2>/dev/null)" = "$here/$name" ]; then
  rm -f "$prefix/bin/$command"
fi
rm -f "$prefix/share/applications/$command.desktop" "$prefix/share/icons/hicolor/256x256/apps/$command.png"
rm -rf "$here"
rmdir "$prefix/share/bloodcell" 2>/dev/null || true
echo "$name removed from $prefix (your settings, sessions and exports are kept)."
