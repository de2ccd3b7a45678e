"""What a test needs from the machine, and what to do when it is missing."""

import os

import pytest


def skip_unless_required(reason: str, module: bool = False) -> None:
    """Skip a test whose prerequisite is missing; fail instead when all tests must run.

    CI sets REQUIRE_ALL_TESTS=1 (.ci/run): there, a missing browser, service or
    source file is a failure, not a silent skip. `module=True` skips the
    whole test module (called at its top level), reported as one skip.
    """
    if os.environ.get("REQUIRE_ALL_TESTS") == "1":
        pytest.fail(f"{reason} (REQUIRE_ALL_TESTS=1: every test must run)")
    pytest.skip(reason, allow_module_level=module)
