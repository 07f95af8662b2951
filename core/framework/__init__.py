"""The framework: hook specs are loaded into a registry (plugins), run files are read (config) and resolved into
parts (compose). Torch-free, so `jepakit --help` and `jepakit list` start fast. Private: plugins use `jepakit.api`.
"""
