"""Machine + choices -> Plan: which PyTorch build to install, and why in plain words."""
