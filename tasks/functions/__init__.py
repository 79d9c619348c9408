"""The ten benchmark tasks as runnable JAX functions (``crosscountry_gym.tasks.functions``).

``function(name)`` is the task in its *traced form*: the callable whose jaxpr the paper turned
into the frozen graph (``jax.vmap`` with a batch of one where the paper used it), and
``example_args(name)`` are inputs of the paper's tracing shapes (``tasks.md`` §1.1), so

    make_graph(function(name), *example_args(name))

re-traces the benchmark. ``scaled(name, ...)`` returns ``(fn, args)`` for the larger runtime
problems of ``tasks.md`` §3: a batch of ``batch_size`` samples (``jax.vmap``) for the
per-sample tasks, a scale factor for MLP and Transformer.

One module per source file of the original examples (jamielohoff/graphax,
``src/graphax/examples/``, MIT licence): :mod:`.roe`, :mod:`.kinematics`, :mod:`.minpack`,
:mod:`.economics`, :mod:`.deep_learning`, :mod:`.randoms`. Each module's docstring lists the
paper quirks it keeps and any deviation (BlackScholes_Jacobian; RandomFunction_g's inputs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import jax
import jax.numpy as jnp

from crosscountry_gym.tasks import canonical_name

from . import deep_learning, economics, kinematics, minpack, randoms, roe

__all__ = [
    "TaskFunction",
    "function",
    "per_sample_function",
    "example_args",
    "paper_args",
    "scaled",
    "spec",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_SCALE",
]

DEFAULT_BATCH_SIZE = 512
"""Batch size of the paper's runtime experiments for the per-sample tasks (``tasks.md`` §3)."""
DEFAULT_SCALE = 16
"""Scale factor of the paper's runtime experiments for MLP and Transformer."""


@dataclass(frozen=True)
class TaskFunction:
    """How one task is run and traced.

    Attributes:
        name: package task name.
        per_sample: the math for one sample (un-batched).
        traced: the callable the paper traced (``per_sample`` itself or a ``jax.vmap`` of it).
        example_args: builds inputs for ``traced`` (finite outputs; the paper's tracing shapes).
        paper_args: builds the paper's own inputs (equal to ``example_args`` except where the
            paper's values give non-finite outputs, see :mod:`.randoms`).
        kind: ``"batch"`` (per-sample task, scaled by batch size) or ``"scale"`` (network
            whose sizes are multiplied by a scale factor).
        source: where the definition comes from.
    """

    name: str
    per_sample: Callable[..., Any]
    traced: Callable[..., Any]
    example_args: Callable[[], tuple]
    paper_args: Callable[[], tuple]
    kind: str
    source: str


def _scalars(values) -> Callable[[], tuple]:
    return lambda: tuple(values)


def _column(values) -> Callable[[], tuple]:
    """Scalars as (1, 1) arrays: a vmapped batch of one scalar per input (the paper's g)."""
    return lambda: tuple(jnp.full((1, 1), v, jnp.float32) for v in values)


_SRC = "jamielohoff/graphax src/graphax/examples/"

_REGISTRY: dict[str, TaskFunction] = {
    t.name: t
    for t in (
        TaskFunction(
            "RoeFlux_1d",
            roe.roe_flux_1d,
            roe.roe_flux_1d,
            _scalars(roe.ROEFLUX_1D_ARGS),
            _scalars(roe.ROEFLUX_1D_ARGS),
            "batch",
            _SRC + "roe.py (RoeFlux_1d)",
        ),
        TaskFunction(
            "RoeFlux_3d",
            roe.roe_flux_3d,
            jax.vmap(roe.roe_flux_3d),
            roe.roe_flux_3d_args,
            roe.roe_flux_3d_args,
            "batch",
            _SRC + "roe.py (RoeFlux_3d)",
        ),
        TaskFunction(
            "RobotArm_6DOF",
            kinematics.robot_arm_6dof,
            kinematics.robot_arm_6dof,
            _scalars(kinematics.ROBOTARM_ARGS),
            _scalars(kinematics.ROBOTARM_ARGS),
            "batch",
            _SRC + "differential_kinematics.py (RobotArm_6DOF)",
        ),
        TaskFunction(
            "HumanHeartDipole",
            minpack.human_heart_dipole,
            minpack.human_heart_dipole,
            _scalars(minpack.HUMAN_HEART_DIPOLE_ARGS),
            _scalars(minpack.HUMAN_HEART_DIPOLE_ARGS),
            "batch",
            _SRC + "minpack.py (HumanHeartDipole)",
        ),
        TaskFunction(
            "PropaneCombustion",
            minpack.propane_combustion,
            minpack.propane_combustion,
            _scalars(minpack.PROPANE_COMBUSTION_ARGS),
            _scalars(minpack.PROPANE_COMBUSTION_ARGS),
            "batch",
            _SRC + "minpack.py (PropaneCombustion)",
        ),
        TaskFunction(
            "BlackScholes_Jacobian",
            economics.black_scholes_jacobian,
            jax.vmap(economics.black_scholes_jacobian),
            economics.black_scholes_args,
            economics.black_scholes_args,
            "batch",
            _SRC + "economics.py (BlackScholes); reverse mode by jax.grad, not Graphax",
        ),
        TaskFunction(
            "MLP",
            deep_learning.perceptron,
            deep_learning.batched_perceptron,
            deep_learning.perceptron_args,
            deep_learning.perceptron_args,
            "scale",
            _SRC + "deep_learning.py (Perceptron)",
        ),
        TaskFunction(
            "Transformer",
            deep_learning.encoder,
            deep_learning.encoder,
            deep_learning.encoder_args,
            deep_learning.encoder_args,
            "scale",
            _SRC + "deep_learning.py (Encoder)",
        ),
        TaskFunction(
            "RandomFunction_f",
            randoms.random_f,
            randoms.random_f,
            randoms.random_f_args,
            randoms.random_f_args,
            "batch",
            _SRC + "randoms.py (f)",
        ),
        TaskFunction(
            "RandomFunction_g",
            randoms.random_g,
            jax.vmap(randoms.random_g),
            _column(randoms.G_VALUES),
            _column(randoms.G_PAPER_VALUES),
            "batch",
            _SRC + "randoms.py (g)",
        ),
    )
}


def spec(name: str) -> TaskFunction:
    """The :class:`TaskFunction` record of a task (name or alias, e.g. ``"Perceptron"``)."""
    return _REGISTRY[canonical_name(name)]


def function(name: str) -> Callable[..., Any]:
    """The task as the paper traced it (see the module docstring)."""
    return spec(name).traced


def per_sample_function(name: str) -> Callable[..., Any]:
    """The task's math for a single sample (no batch axis)."""
    return spec(name).per_sample


@cache
def _cached_example_args(name: str) -> tuple:
    return spec(name).example_args()


def example_args(name: str) -> tuple:
    """Inputs for :func:`function` with the paper's tracing shapes and finite outputs.

    Built once per process (JAX arrays are immutable, so sharing them is safe; building the
    PRNG-drawn weights of MLP/Transformer compiles JAX's random kernels, which takes seconds).
    """
    return _cached_example_args(canonical_name(name))


def paper_args(name: str) -> tuple:
    """The paper's own tracing inputs (for RandomFunction_g these give NaN outputs)."""
    return spec(name).paper_args()


def _per_sample_args(name: str) -> tuple:
    """One sample's inputs: the example inputs with the tracing batch axis (of size 1) removed."""
    t = spec(name)
    args = example_args(t.name)
    if t.traced is t.per_sample:
        return args
    return tuple(jnp.asarray(a)[0] for a in args)


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}")
    return value


def scaled(
    name: str,
    size: int | None = None,
    *,
    batch_size: int | None = None,
    scale: int | None = None,
    device: str | None = None,
) -> tuple[Callable[..., Any], tuple]:
    """A runtime variant ``(fn, args)`` of a task (``tasks.md`` §3).

    * Per-sample tasks (everything but MLP and Transformer): ``fn = jax.vmap(per_sample)`` and
      ``args`` are the example inputs repeated ``batch_size`` times (default 512) along a new
      leading axis.
    * MLP: ``scale`` (default 16) multiplies the layer sizes (4, 8, 4) and the batch is
      32 * scale (scale 16: x (512, 64), W1 (128, 64), W2 (64, 128)).
    * Transformer: ``scale`` (default 16) gives 4 * scale dimensional matrices, batch 1.

    ``size`` (positional) is the task's own knob: the scale for MLP/Transformer, the batch size
    otherwise (``load("MLP").scaled(4)``, ``load("RoeFlux_1d").scaled(1024)``). ``device`` (e.g.
    ``"cpu"``) places the inputs with ``jax.device_put`` on the first device of that platform, as
    the paper's CPU runs did. A parameter that does not apply to the task raises ``ValueError``.
    """
    t = spec(name)
    if size is not None:
        if (batch_size, scale) != (None, None):
            raise ValueError("give the size either positionally or by keyword, not both")
        if t.kind == "scale":
            scale = size
        else:
            batch_size = size
    if t.kind == "scale":
        if batch_size is not None:
            raise ValueError(
                f"{t.name} is scaled by `scale` (model size), not `batch_size`; "
                f"got batch_size={batch_size!r}"
            )
        s = _positive_int(DEFAULT_SCALE if scale is None else scale, "scale")
        build = deep_learning.perceptron_args if t.name == "MLP" else deep_learning.encoder_args
        fn, args = t.traced, build(s)
    else:
        if scale is not None:
            raise ValueError(
                f"{t.name} is scaled by `batch_size` (vmap), not `scale`; got scale={scale!r}"
            )
        b = _positive_int(DEFAULT_BATCH_SIZE if batch_size is None else batch_size, "batch_size")
        one = _per_sample_args(t.name)
        fn = jax.vmap(t.per_sample)
        args = tuple(jnp.broadcast_to(jnp.asarray(a, jnp.float32), (b, *jnp.shape(a))) for a in one)
    if device is not None:
        try:
            dev = jax.devices(device)[0]
        except RuntimeError as err:
            raise ValueError(f"no JAX device for platform {device!r}: {err}") from None
        args = tuple(jax.device_put(a, dev) if not isinstance(a, float) else a for a in args)
    return fn, args
