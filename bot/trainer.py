"""Train the Rasa model only when its inputs changed.

The model is named after a hash of everything that goes into training (config.yml,
domain.yml, every file under data/, the exemplars and the trainable components' code), so a
second `make test` or `make run` reuses it:

    python -m bot.trainer            # prints the path of the model to use
    python -m bot.trainer --check    # exit 1 when a training run would be needed
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from bot.settings import PROJECT_ROOT, get_settings

# The semantic safety net is trained on its exemplars too (bot/safety/component.py), and the
# trainable custom components write what their code learns into the model: a change to their
# code must train a new model (an old one would lack or misread their files). Since the
# eighth pass SemanticCrisisScorer's training (bot/safety/component.py) writes a net per view,
# and bot/safety/embedder.py makes the vectors those nets keep, so both count too.
TRAINING_INPUTS = (
    "config.yml",
    "domain.yml",
    "data",
    "bot/safety/exemplars.yml",
    "bot/answers.py",
    "bot/safety/semantic.py",
    "bot/safety/component.py",
    "bot/safety/embedder.py",
)
KEEP_MODELS = 3


def training_hash(root: Path = PROJECT_ROOT) -> str:
    digest = hashlib.sha256()
    for name in TRAINING_INPUTS:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(root)).encode())
            digest.update(b"\0")
            digest.update(file.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:16]


def model_path(model_dir: Path | None = None, root: Path = PROJECT_ROOT) -> Path:
    model_dir = model_dir or get_settings().model_dir
    return model_dir / f"koers-{training_hash(root)}.tar.gz"


def quiet_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TF_CPP_MIN_LOG_LEVEL="3",
        TF_INTRA_OP_PARALLELISM_THREADS="1",
        TF_INTER_OP_PARALLELISM_THREADS="1",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        RASA_TELEMETRY_ENABLED="false",
        PYTHONWARNINGS="ignore",
    )
    return env


def _show(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _prune(model_dir: Path, keep: Path) -> None:
    models = sorted(model_dir.glob("koers-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    for old in models[:-KEEP_MODELS]:
        if old != keep:
            old.unlink(missing_ok=True)


def ensure_model(model_dir: Path | None = None, verbose: bool = True) -> Path:
    """Return the model for the current training data, training it first if needed."""
    target = model_path(model_dir)
    if target.exists():
        if verbose:
            print(f"Model is up to date: {_show(target)}", file=sys.stderr)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    if verbose:
        print("Training the model (first time about 15 minutes on 2 cores)...", file=sys.stderr)
    started = time.monotonic()
    cmd = [
        sys.executable,
        "-m",
        "rasa",
        "train",
        "--config",
        "config.yml",
        "--domain",
        "domain.yml",
        "--data",
        "data",
        "--out",
        str(target.parent),
        "--fixed-model-name",
        target.name.removesuffix(".tar.gz"),
    ]
    log_file = get_settings().var_dir / "train.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=PROJECT_ROOT,
            env=quiet_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        assert proc.stdout is not None
        component, shown, buffer = "", -1, ""
        while chunk := proc.stdout.read(256):  # keep the full log; show a short progress
            log.write(chunk)
            buffer += chunk
            *parts, buffer = re.split(r"[\r\n]", buffer)
            for part in parts:
                if "Starting to train component" in part:
                    component = part.rsplit("component", 1)[-1].strip(" '.")
                    shown = -1
                    if verbose:
                        print(
                            f"    training {component} ({time.monotonic() - started:.0f} s)",
                            file=sys.stderr,
                            flush=True,
                        )
                elif verbose and (match := re.match(r"Epochs:\s+(\d+)%", part)):
                    quarter = int(match.group(1)) // 25
                    if quarter > shown and quarter > 0:
                        shown = quarter
                        print(
                            f"      {component}: {quarter * 25}% of epochs",
                            file=sys.stderr,
                            flush=True,
                        )
        returncode = proc.wait()
    if returncode != 0 or not target.exists():
        tail = log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
        print("\n".join(tail), file=sys.stderr)
        raise SystemExit(f"Training failed; the full log is in {log_file}")
    if verbose:
        print(
            f"Trained in {time.monotonic() - started:.0f} s: " f"{_show(target)}", file=sys.stderr
        )
    _prune(target.parent, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.trainer")
    parser.add_argument(
        "--check", action="store_true", help="only report whether training is needed"
    )
    args = parser.parse_args(argv)
    if args.check:
        target = model_path()
        print(target)
        return 0 if target.exists() else 1
    print(ensure_model())
    return 0


if __name__ == "__main__":
    sys.exit(main())
