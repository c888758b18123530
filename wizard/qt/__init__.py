"""The Qt face of the wizard (PySide6). The only package that imports Qt: it shows, the core decides."""
