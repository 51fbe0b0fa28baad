"""CDK entry point: `python infrastructure/deskmail_cdk.py` (or the CDK CLI via cdk.json) synthesizes one stage."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
# Run as a script, Python puts infrastructure/ first on sys.path; the stack imports chalicelib and infrastructure.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import aws_cdk as cdk  # noqa: E402
from aws_cdk import cx_api  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infrastructure.stacks.deskmail_stack import DeskmailStack  # noqa: E402
from infrastructure.stacks.settings import StageSettings  # noqa: E402


def context_defaults() -> dict[str, Any]:
    """cdk.json's context: the CLI reads it, a plain `python` run would not, so the app reads it itself."""
    return json.loads((REPO_ROOT / "cdk.json").read_text())["context"]


def build_app(context: dict[str, Any] | None = None, outdir: str | None = None) -> tuple[cdk.App, DeskmailStack]:
    # Context given here is only a default: `-c key=value` from the CLI (CDK_CONTEXT_JSON) overrides it.
    app = cdk.App(context={**context_defaults(), **(context or {})}, outdir=outdir)
    settings = StageSettings.from_context(app.node)
    # Chalice uses the stack id as its stage name.
    stack = DeskmailStack(
        app,
        f"deskmail-{settings.stage}",
        settings=settings,
        description=f"deskmail help-desk notifications ({settings.stage})",
        env=cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")),
    )
    # cdk-nag's AWS Solutions rules report as synth errors; suppressions sit next to their resources with reasons.
    # It cannot see inside the Chalice (SAM) resources: checkov and cfn-lint cover those.
    cdk.Aspects.of(app).add(AwsSolutionsChecks())
    cdk.Tags.of(app).add("app", "deskmail")
    cdk.Tags.of(app).add("stage", settings.stage)
    return app, stack


def main() -> None:
    # `chalice package` builds a boto3 session during synth and dies without a region.
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("CDK_DEFAULT_REGION", "us-east-1"))
    # Synthesize next to the templates the CLI expects, from the repo root (Chalice writes chalice.out/ in cwd).
    os.chdir(REPO_ROOT)
    app, stack = build_app()
    assembly = app.synth()
    # The CDK CLI refuses to deploy on error annotations (cdk-nag's included); a plain run should fail as loudly.
    errors = [
        f"{message.id}: {message.entry.data}"
        for message in assembly.get_stack_by_name(stack.stack_name).messages
        if message.level == cx_api.SynthesisMessageLevel.ERROR
    ]
    if errors:
        sys.exit("synth errors:\n" + "\n".join(errors))


if __name__ == "__main__":
    main()
