"""Run Rasa's command line with Koers' speed-ups applied first.

    python -m bot.rasa_server run --model models/koers-....tar.gz --enable-api ...

Exactly `python -m rasa ...`, except that `bot.rasa_patches.apply()` runs before Rasa loads
the model (see that module for what is patched and why). `bot.serve` starts Rasa this way.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    from bot import rasa_patches

    rasa_patches.apply()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *(sys.argv[1:] if argv is None else argv)]
    rasa_main()


if __name__ == "__main__":
    main()
