"""Contract tests any plugin can run on its parts."""
