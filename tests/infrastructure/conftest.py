"""Synthesize the CDK app once per test session, offline, into a temporary cdk.out."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.infrastructure.stage_context import CONTEXT, DEV_CONTEXT

try:  # `make test` may run without the infra tools: leave this folder to `make test-infra` then.
    import aws_cdk  # noqa: F401
except ImportError:
    collect_ignore_glob = ["test_*.py"]

REPO_ROOT = Path(__file__).resolve().parents[2]


def synthesize(context: dict, workdir: Path):
    """(stack, Template, template path, synth messages) for one context, offline."""
    from aws_cdk.assertions import Template

    from infrastructure.deskmail_cdk import build_app

    saved_cwd, saved_env = Path.cwd(), dict(os.environ)
    # No account, no credentials, no network: an environment-agnostic template.
    os.environ.update({"AWS_DEFAULT_REGION": "us-east-1", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "1"})
    for name in ("CDK_CONTEXT_JSON", "CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION", "AWS_PROFILE"):
        os.environ.pop(name, None)
    os.chdir(workdir)  # Chalice writes chalice.out/ into the working directory
    # Chalice imports app.py with importlib.import_module: a second synth would reuse the first one's module, whose
    # decorators read the first stage's environment.
    sys.modules.pop("app", None)
    try:
        app, stack = build_app(context, outdir=str(workdir / "cdk.out"))
        assembly = app.synth()
        template_path = Path(assembly.get_stack_by_name(stack.stack_name).template_full_path)
        template = Template.from_json(json.loads(template_path.read_text()))
        messages = [
            (str(m.level), m.id, str(m.entry.data)) for m in assembly.get_stack_by_name(stack.stack_name).messages
        ]
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return stack, template, template_path, messages


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory):
    """The prod stage with every optional part on (stage_context.CONTEXT)."""
    return synthesize(CONTEXT, tmp_path_factory.mktemp("synth"))


@pytest.fixture(scope="session")
def synthesized_dev(tmp_path_factory):
    """cdk.json's dev defaults: no alarm topic, receipt rule set not activated."""
    return synthesize(DEV_CONTEXT, tmp_path_factory.mktemp("synth-dev"))


@pytest.fixture(scope="session")
def dev_resources(synthesized_dev):
    return synthesized_dev[1].to_json()["Resources"]


@pytest.fixture(scope="session")
def template(synthesized):
    return synthesized[1]


@pytest.fixture(scope="session")
def resources(template):
    return template.to_json()["Resources"]


@pytest.fixture(scope="session")
def template_path(synthesized):
    return synthesized[2]


@pytest.fixture(scope="session")
def synth_messages(synthesized):
    return synthesized[3]
