"""The exported public surface (pgx-style): a curated list, every name resolves, and importing
the package pulls in none of the heavy optional dependencies."""

import subprocess
import sys

import crosscountry_gym

EXPECTED = {
    "Edge", "Graph", "GraphFormatError", "InvalidOrderError", "cost", "step_costs",
    "validate_order", "make_graph", "UnsupportedPrimitiveError", "jacobian",
    "count_multiplications", "verify_order", "tasks", "baselines", "__version__",
    "MODELS", "reference_costs", "resolve_order",
}


def test_public_names():
    assert set(crosscountry_gym.__all__) == EXPECTED
    for name in crosscountry_gym.__all__:
        assert getattr(crosscountry_gym, name) is not None, name


def test_unknown_attribute_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        crosscountry_gym.nope  # noqa: B018


def test_import_is_light():
    code = (
        "import sys, crosscountry_gym, crosscountry_gym.baselines, crosscountry_gym.tasks;"
        "heavy = [m for m in ('torch', 'stable_baselines3', 'mctx', 'equinox', 'optax') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_generic_top_level_modules_installed():
    import importlib.util

    for name in ("tasks", "baselines"):
        spec = importlib.util.find_spec(name)
        # a top-level 'tasks' may only resolve to this repository's source folder (pytest's
        # rootdir on sys.path), never to an installed module in site-packages
        assert spec is None or "site-packages" not in (spec.origin or ""), name
