"""The one error type users see.

Every problem caused by the user's input (a config, a plugin, a data file, a command line) is raised as a
`JepakitError` carrying a one-line message and a hint. The CLI prints both and exits 2 without a traceback;
anything else that escapes is a bug or a runtime failure (exit 1).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

EXIT_RUNTIME = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
#: A run stopped by `run.stop_signal` (a scheduler's advance warning such as SLURM's `--signal=USR1@120`) after
#: its checkpoint: EX_TEMPFAIL of sysexits.h, "try again later", which a batch script reads as "requeue me".
EXIT_REQUEUE = 75


class JepakitError(Exception):
    """Bad input of any kind: config, plugin, data or usage. Printed as `Error:` + `Hint:`, exit code 2."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} (hint: {self.hint})"


class RunFailed(JepakitError):
    """A run failed at run time (NaN loss, disk full ...): exit code 1, still without a traceback."""

    exit_code = EXIT_RUNTIME


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' Did you mean "x"?' suffix, or '' when nothing is close."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f' Did you mean "{close[0]}"?' if close else ""


class Interrupted(JepakitError):
    """SIGINT/SIGTERM arrived; a checkpoint was saved first. Exit code 130."""

    exit_code = EXIT_INTERRUPTED


class Preempted(Interrupted):
    """`run.stop_signal` (other than SIGINT/SIGTERM) arrived; a checkpoint was saved first. Exit code 75, so a
    batch script can tell "requeue and resume" from a user's Ctrl-C (130) and a failure (1)."""

    exit_code = EXIT_REQUEUE
