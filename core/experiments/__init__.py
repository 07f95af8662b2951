"""Experiments over many runs: sweep (plan and resume a grid), compare, report (HTML) and bench (step speed).
Private: the CLI calls these; plugins never need them.
"""
