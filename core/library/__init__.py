"""The building blocks plugins share: layers, data helpers, training helpers and plots.

Re-exported through `jepakit.api`, which is the public contract; import from there, not from here.
"""
