#!/bin/sh
# Adds torch-gpu-setup (this extracted folder) to your applications menu, for you only.
# Run it once from the folder where you unpacked the .tar.gz: ./install-menu-entry.sh
# Undo: ./install-menu-entry.sh --remove
set -eu
here=$(cd "$(dirname "$0")" && pwd)
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/256x256/apps"
if [ "${1:-}" = "--remove" ]; then
    rm -f "$apps/torch-gpu-setup.desktop" "$icons/torch-gpu-setup.png"
    echo "Removed the menu entry."
    exit 0
fi
mkdir -p "$apps" "$icons"
cp "$here/torch-gpu-setup.png" "$icons/torch-gpu-setup.png"
sed "s|^Exec=.*|Exec=\"$here/torch-gpu-setup\" gui|" "$here/torch-gpu-setup.desktop" > "$apps/torch-gpu-setup.desktop"
chmod 644 "$apps/torch-gpu-setup.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$apps" >/dev/null 2>&1 || true
echo "Added 'PyTorch GPU Setup' to your applications menu (it starts $here/torch-gpu-setup)."
