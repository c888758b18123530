"""The Qt-free core: it detects, decides, fetches and runs; it never imports PySide6."""
