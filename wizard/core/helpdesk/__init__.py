"""Answer files, unattended installs, offline bundles, diagnostics and support reports."""
