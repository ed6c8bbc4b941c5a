#!/usr/bin/env bash
# Builds the frozen products and their Linux packages:
#   full    dist/BloodCell/        and dist/BloodCell-VERSION-linux-x86_64.tar.gz
#   review  dist/BloodCellReview/  and dist/BloodCellReview-VERSION-linux-x86_64.tar.gz
# Usage: packaging/build.sh [full|review|both]   (default both; from a checkout: sets up .venv
# with the build extra first)
set -euo pipefail
cd "$(dirname "$0")/.."
editions="${1:-both}"
case "$editions" in
  full|review) ;;
  both) editions="full review" ;;
  *) echo "usage: packaging/build.sh [full|review|both]" >&2; exit 2 ;;
esac
python3.11 -m venv .venv
.venv/bin/pip install -q -e '.[build]'
echo "disk free before the build: $(df -h . | tail -1 | awk '{print $4}')"
version=$(.venv/bin/python -c "import model; print(model.__version__)")
for edition in $editions; do
  started=$(date +%s)
  if [ "$edition" = review ]; then
    name=BloodCellReview; title="BloodCell Review"; cli=bloodcell-review-cli; command=bloodcell-review
  else
    name=BloodCell; title="BloodCell"; cli=bloodcell-cli; command=bloodcell
  fi
  BLOODCELL_EDITION=$edition .venv/bin/pyinstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath "build/pyinstaller-$edition" build.spec
  # The work folder is only PyInstaller's cache; the full bundle is GBs, so the disk a CI machine
  # has left decides whether the tarball fits: free the cache, and stage with hard links, not a copy.
  rm -rf "build/pyinstaller-$edition"
  # The newest glibc symbol any bundled program or library asks for: the oldest Linux it runs on.
  # (objdump complains about files that are not ELF; what it prints for the others is enough)
  glibc=$( { find "dist/$name" -type f \( -name '*.so*' -o -perm -u+x \) -exec objdump -T {} + 2>/dev/null || true; } \
    | { grep -o 'GLIBC_[0-9.]*' || true; } | sort -Vu | tail -1 | cut -d_ -f2)
  stage="build/package-$edition/$name-$version"
  rm -rf "build/package-$edition" && mkdir -p "$stage"
  cp -al "dist/$name" "$stage/" 2>/dev/null || cp -a "dist/$name" "$stage/"
  sed -e "s#^Name=.*#Name=$title#" -e "s#^Exec=.*#Exec=$name/$name %F#" packaging/linux/bloodcell.desktop \
    > "$stage/$command.desktop"
  cp packaging/linux/uninstall.sh "$stage/"
  # install.sh refuses, before changing anything, a system older than the bundle needs.
  sed "s#@GLIBC@#$glibc#" packaging/linux/install.sh > "$stage/install.sh" && chmod +x "$stage/install.sh"
  cp resources/icon.png "$stage/$command.png"
  size=$(du -sh "dist/$name" | cut -f1)
  sed -e "s#@TITLE@#$title#g" -e "s#@NAME@#$name#g" -e "s#@CLI@#$cli#g" -e "s#@COMMAND@#$command#g" \
      -e "s#@VERSION@#$version#g" -e "s#@GLIBC@#$glibc#g" -e "s#@SIZE@#$size#g" \
      "packaging/linux/README-$edition.txt" > "$stage/README.txt"
  tar -C "build/package-$edition" -I 'gzip -1' -cf "dist/$name-$version-linux-x86_64.tar.gz" "$name-$version"
  rm -rf "build/package-$edition"
  echo "built dist/$name ($size, glibc $glibc or newer) and dist/$name-$version-linux-x86_64.tar.gz" \
    "($(du -sh "dist/$name-$version-linux-x86_64.tar.gz" | cut -f1)) in $(( $(date +%s) - started )) s"
done
