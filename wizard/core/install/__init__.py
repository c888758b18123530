"""Process runner, interpreter targets, snapshots and rollback, pip, and the install flow."""
