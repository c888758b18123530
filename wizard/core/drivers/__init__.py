"""NVIDIA driver and toolkit: what to install per OS, elevation, the unattended driver policy."""
