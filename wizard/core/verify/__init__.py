"""The verification demo: the runner here, the script that runs inside the target environment."""
