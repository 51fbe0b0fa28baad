"""The environment the benchmarks run in: the dev stage's variables and fake AWS credentials (moto, never AWS)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONFIG = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())


def stage_environment(stage: str = "dev") -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_DEV": "false",
        **CONFIG["environment_variables"],
        **CONFIG["stages"][stage]["environment_variables"],
    }


def use_stage_environment() -> None:
    os.environ.update(stage_environment())
    os.environ.pop("AWS_ENDPOINT_URL", None)


@contextlib.contextmanager
def service_logs_silenced():
    """The service's JSON logs and metrics go to stdout: to /dev/null while measuring, so the figures stay readable.

    Powertools' handler keeps the stream it found at import, so it is pointed elsewhere as well as stdout.
    """
    from chalicelib.observability import logger

    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        handlers = [h for h in logging.getLogger(logger.name).handlers if isinstance(h, logging.StreamHandler)]
        streams = [handler.setStream(devnull) for handler in handlers]
        try:
            yield
        finally:
            for handler, stream in zip(handlers, streams, strict=True):
                handler.setStream(stream)
