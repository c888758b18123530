"""``python -m wizard`` runs the same entry point as the ``torch-gpu-setup`` command."""

from wizard.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
