#!/usr/bin/env bash
# Removes what install.sh put in place for this program (BloodCell or BloodCell Review, found
# from where this script lies), and nothing else: settings, sessions, exports and the verified
# cells in the user's folders stay. It acts only on a folder install.sh made (.bloodcell-program).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
name="$(basename "$here")"
fail() { echo "uninstall.sh: $*" >&2; exit 2; }
case "$name" in
  BloodCell) command=bloodcell ;;
  BloodCellReview) command=bloodcell-review ;;
  *) fail "run the copy inside the installed BloodCell or BloodCellReview folder" ;;
esac
[ -f "$here/.bloodcell-program" ] || fail "$here was not made by install.sh; nothing was removed"
prefix="$(cd "$here/../../.." && pwd)"
if [ "$(readlink "$prefix/bin/$command" 2>/dev/null)" = "$here/$name" ]; then
  rm -f "$prefix/bin/$command"
fi
entry="$prefix/share/applications/$command.desktop"
# The launcher and icon are ours only when the launcher carries this copy's mark.
install_id="$(head -n1 "$here/.bloodcell-program")"
if [ -f "$entry" ] && [ "$(grep -c -xF "X-BloodCell-Install=$install_id" "$entry" || true)" != 0 ]; then
  rm -f "$entry" "$prefix/share/icons/hicolor/256x256/apps/$command.png"
fi
rm -rf "$here"
rmdir "$prefix/lib/bloodcell" 2>/dev/null || true
echo "$name removed from $prefix (your settings, sessions and exports are kept)."
