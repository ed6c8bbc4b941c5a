#!/usr/bin/env bash
# Installs the unpacked BloodCell or BloodCell Review folder for the current user (or under
# PREFIX): the program in PREFIX/lib/bloodcell/, a launcher in PREFIX/share/applications/, and
# the command in PREFIX/bin/. uninstall.sh, inside the installed folder, removes exactly that.
#
# The program never goes under PREFIX/share/: the user's data folder is ~/.local/share/BloodCell/,
# which a case-insensitive file system (SMB, casefold ext4) would take for share/bloodcell/.
# Everything is checked before anything is changed, and only a folder this script made (it holds
# .bloodcell-program) is ever replaced.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
glibc_floor="@GLIBC@"   # written by packaging/build.sh: the newest glibc any bundled file asks for

fail() { echo "install.sh: $*" >&2; exit 2; }

# -- what is being installed
desktops=("$here"/*.desktop)
[ "${#desktops[@]}" -eq 1 ] && [ -f "${desktops[0]}" ] || fail "run the install.sh inside the unpacked BloodCell folder"
desktop="${desktops[0]##*/}"
command="${desktop%.desktop}"
case "$command" in
  bloodcell) name=BloodCell ;;
  bloodcell-review) name=BloodCellReview ;;
  *) fail "unexpected launcher $desktop" ;;
esac
[ -x "$here/$name/$name" ] || fail "$here/$name/$name is missing: unpack the whole archive again"

# -- this system
if [[ "$glibc_floor" =~ ^[0-9]+\.[0-9]+$ ]]; then
  have=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}' || true)
  if [ -z "$have" ] || [ "$(printf '%s\n%s\n' "$glibc_floor" "$have" | sort -V | head -n1)" != "$glibc_floor" ]; then
    fail "$name needs glibc $glibc_floor or newer (Debian 12, Ubuntu 24.04, Fedora 37, RHEL 10 or later); this system has ${have:-no glibc}. Nothing was installed."
  fi
fi

# -- where
if [ -n "${PREFIX:-}" ]; then
  prefix="$PREFIX"
elif [ -n "${HOME:-}" ]; then
  prefix="$HOME/.local"
else
  fail "neither PREFIX nor HOME is set: say where to install, e.g. PREFIX=/opt/bloodcell $0"
fi
if [[ "$prefix" =~ [[:cntrl:]] ]]; then
  fail "PREFIX holds a control character (a line break or tab); choose another folder. Nothing was changed."
fi
case "$prefix" in /*) ;; *) prefix="$PWD/$prefix" ;; esac   # a relative PREFIX would leave dangling links
programs="$prefix/lib/bloodcell"
target="$programs/$name"
legacy="$prefix/share/bloodcell/$name"   # where installs before 0.1.0's fix put it
if [ -e "$target" ] && [ ! -e "$target/.bloodcell-program" ]; then
  fail "$target exists but was not made by this installer; move it away first. Nothing was changed."
fi
for folder in "$programs" "$prefix/share/applications" "$prefix/share/icons/hicolor/256x256/apps" "$prefix/bin"; do
  mkdir -p "$folder" 2>/dev/null || fail "cannot create $folder. Nothing was installed."
  [ -w "$folder" ] || fail "$folder is not writable. Nothing was installed."
done
prefix="$(cd "$prefix" && pwd)"
programs="$prefix/lib/bloodcell"
target="$programs/$name"

# -- the program: copied beside, then swapped in, so a failed copy leaves the old one working
staging="$programs/.$name.installing.$$"
trap 'rm -rf "$staging"' EXIT
cp -a "$here/$name" "$staging"
cp "$here/uninstall.sh" "$staging/uninstall.sh"
# The launcher carries the same mark, so uninstall.sh removes only a launcher of this copy.
install_id="$(date +%s)-$$-$RANDOM$RANDOM"
printf '%s\n' "$install_id" > "$staging/.bloodcell-program"
[ -e "$target" ] && rm -rf "$target"
mv "$staging" "$target"
trap - EXIT

# An install from before the program moved to lib/: remove its own files by name, never the
# folder as a whole (on a case-insensitive file system it is the user's data folder).
if [ -x "$legacy/$name" ] && [ -d "$legacy/_internal" ]; then
  rm -rf "$legacy/_internal" "$legacy/$name" "$legacy/bloodcell-cli" "$legacy/bloodcell-review-cli" "$legacy/uninstall.sh"
  rmdir "$legacy" "$prefix/share/bloodcell" 2>/dev/null || true
fi

# -- the launcher: Exec quoted as the Desktop Entry Specification says (quotes, then the
# string's own backslash escape, and %% for a literal %), so any folder name can launch
exec_argument() {
  local value="$1"
  value="${value//\\/\\\\}"; value="${value//\"/\\\"}"; value="${value//\`/\\\`}"; value="${value//\$/\\\$}"
  value="\"$value\""
  value="${value//\\/\\\\}"
  printf '%s' "${value//%/%%}"
}
entry="$prefix/share/applications/$desktop"
{
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      Exec=*) printf 'Exec=%s %%F\n' "$(exec_argument "$target/$name")" ;;
      Icon=*) printf 'Icon=%s\n' "$command" ;;
      *) printf '%s\n' "$line" ;;
    esac
  done < "$here/$desktop"
  printf 'X-BloodCell-Install=%s\n' "$install_id"
} > "$entry.tmp"
mv "$entry.tmp" "$entry"
cp "$here/$command.png" "$prefix/share/icons/hicolor/256x256/apps/$command.png"
ln -sfn "$target/$name" "$prefix/bin/$command"

echo "$name installed in $target"
echo "To remove it: \"$target/uninstall.sh\""

# -- what the desktop will and will not find
data_dirs="${XDG_DATA_HOME:-${HOME:-/nonexistent}/.local/share}:${XDG_DATA_DIRS:-/usr/local/share:/usr/share}"
case ":$data_dirs:" in
  *":$prefix/share:"*|*":$prefix/share/:"*) echo "It is in the applications menu as $name." ;;
  *) echo "Note: $prefix/share is not one of the desktop's data folders (XDG_DATA_DIRS), so no menu entry" \
          "will appear; start it as $prefix/bin/$command, or add $prefix/share to XDG_DATA_DIRS." ;;
esac
case ":${PATH:-}:" in
  *":$prefix/bin:"*) echo "Run it as '$command'." ;;
  *) echo "Run it as \"$prefix/bin/$command\" ($prefix/bin is not on your PATH)." ;;
esac
# Qt's X11 plugin needs these; minimal Debian/Ubuntu installs lack them. (The list is read
# whole first: grep -q on a pipe would end ldconfig early, and pipefail call that a failure.)
known_libraries=$(ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true)
missing=""
for lib in libxcb-cursor.so.0 libxcb-icccm.so.4 libxcb-keysyms.so.1; do
  case "$known_libraries" in *"$lib"*) ;; *) missing="$missing $lib" ;; esac
done
if [ -n "$missing" ]; then
  echo "Note: the window needs$missing: install them with"
  echo "  sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"
fi
