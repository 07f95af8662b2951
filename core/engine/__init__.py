"""The engine: builds a resolved run (jepa), feeds it (loader), trains it (train, distributed, launch), keeps it
safe (ckpt, runs, faults) and evaluates it (evaluate, run_eval, results). Private: plugins use `jepakit.api`.
"""
