"""Modules loaded on first attribute access (importlib's LazyLoader recipe).

Every Lambda function of a Chalice app imports app.py whole; the feedback handler must not pay at its cold
start for what only the API routes or the inbound handler use.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType

EAGER = "DESKMAIL_EAGER_IMPORTS"  # set by the local stack for its threaded API server


def lazy_module(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    if os.environ.get(EAGER) == "1":
        # `chalice local` (the local stack) serves requests from threads, and Python 3.11's LazyLoader is not
        # thread-safe: a second request during the first one's load saw a half-empty module (seen: AttributeError
        # "module 'chalicelib.services.protection' has no attribute 'user_deliverability'", a 500). Lambda runs one
        # request at a time per process, so it keeps the lazy load.
        return importlib.import_module(name)
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name}")
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
