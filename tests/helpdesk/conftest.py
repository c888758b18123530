"""Fixtures of the install tests, reused here (not copied): loopback index, isolated pip, venvs,
the real torch 2.13.0 CPU wheel."""

from tests.install.conftest import isolated_pip, loopback_index, template_venv, venv
from tests.install.test_cli_e2e import torch_wheels

__all__ = ["isolated_pip", "loopback_index", "template_venv", "torch_wheels", "venv"]
