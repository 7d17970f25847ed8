"""Dialogue tests: `rasa data validate` and the test stories on the trained model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT
from bot.trainer import quiet_env


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rasa", *args],
        cwd=PROJECT_ROOT,
        env=quiet_env(),
        capture_output=True,
        text=True,
    )


def test_rasa_data_validate():
    result = _run(
        ["data", "validate", "--data", "data", "-d", "domain.yml", "--config", "config.yml"]
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.slow
def test_stories_predict_without_errors(model_path: Path, tmp_path: Path):
    out = tmp_path / "results"
    result = _run(
        [
            "test",
            "core",
            "--model",
            str(model_path),
            "--stories",
            "tests/stories",
            "--out",
            str(out),
            "--fail-on-prediction-errors",
        ]
    )
    failed = out / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:] + details
    assert (
        "None of the test stories failed" in details
        or not details.strip()
        or "stories: []" in details
    ), details
    if os.environ.get("KOERS_KEEP_RESULTS"):
        print(out)
