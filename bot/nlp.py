"""The offline Dutch spaCy pipeline: a blank `nl` pipeline with the lookup lemmatizer.

No pretrained Dutch model can be downloaded on our users' machines, so the project builds
its own small pipeline from `spacy-lookups-data` (installed with the `build` extra) and
saves it to disk. At run time only `spacy.load(path)` is used; nothing is fetched.

    python -m bot.nlp build     # writes build/spacy-nl (about 4 MB)
"""

from __future__ import annotations

import argparse
import sys
from functools import lru_cache
from pathlib import Path

import spacy
from spacy.language import Language

from bot.settings import get_settings

MARKER = "koers-spacy-nl-v1"


def build_pipeline(target: Path) -> Path:
    """Build the blank Dutch pipeline with lookup lemmas and save it to `target`."""
    nlp = spacy.blank("nl")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()  # loads the lookup tables from spacy-lookups-data
    target.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(target)
    (target / "KOERS").write_text(MARKER + "\n", encoding="utf-8")
    return target


def is_built(path: Path) -> bool:
    marker = path / "KOERS"
    return marker.exists() and marker.read_text(encoding="utf-8").strip() == MARKER


@lru_cache(maxsize=4)
def load_pipeline(path: str | None = None) -> Language:
    """Load the saved pipeline. Raises a clear error when it has not been built."""
    target = Path(path) if path else get_settings().spacy_pipeline_dir
    if not is_built(target):
        raise RuntimeError(
            f"The Dutch spaCy pipeline is missing at {target}. "
            "Build it with `make build` (or `python -m bot.nlp build`)."
        )
    return spacy.load(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.nlp")
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--target", type=Path, default=None)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    target = args.target or get_settings().spacy_pipeline_dir
    if is_built(target) and not args.force:
        print(f"spaCy pipeline already built at {target}")
        return 0
    build_pipeline(target)
    print(f"spaCy pipeline built at {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
