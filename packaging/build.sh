#!/usr/bin/env bash
# Builds the frozen app (dist/BloodCell/) and the Linux package (dist/BloodCell-VERSION-linux-x86_64.tar.gz).
# Usage: packaging/build.sh        (from a checkout; sets up .venv with the build extra first)
set -euo pipefail
cd "$(dirname "$0")/.."
python3.11 -m venv .venv
.venv/bin/pip install -q -e '.[build]'
started=$(date +%s)
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller build.spec
version=$(.venv/bin/python -c "import model; print(model.__version__)")
stage="build/package/BloodCell-$version"
rm -rf "$stage" && mkdir -p "$stage"
cp -a dist/BloodCell "$stage/"
cp packaging/linux/bloodcell.desktop packaging/linux/install.sh "$stage/"
cp resources/icon.png "$stage/bloodcell.png"
tar -C build/package -I 'gzip -1' -cf "dist/BloodCell-$version-linux-x86_64.tar.gz" "BloodCell-$version"
echo "built dist/BloodCell ($(du -sh dist/BloodCell | cut -f1)) and dist/BloodCell-$version-linux-x86_64.tar.gz in $(( $(date +%s) - started )) s"
