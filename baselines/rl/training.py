"""Run bookkeeping shared by the RL agents: best order, checkpoints, metrics, plots, JSON.

One :class:`RunRecorder` per training run (one directory). It owns everything that must not
depend on the learning algorithm, so the two agents report identically:

* the **running best** cost *and its order* (bugs 2 and 3 of ``docs/rl.md`` §P8): every
  candidate order an agent reports is validated and re-costed with the NumPy reference
  :func:`crosscountry_gym.cost` in the run's cost model; the agent's own episode return is never
  trusted (``docs/rl.md`` §P7, *Reporting*). A disagreement between the two raises, because it
  means the agent or the environment is wrong;
* ``metrics.csv``: one row per logging step (env steps, episodes, wall time, best cost so far,
  batch statistics, agent-specific losses);
* ``checkpoint/``: ``recorder.json`` (this object's state) next to the agent's own files,
  swapped in atomically so that an interrupted save never destroys the last good checkpoint;
* ``best_order.json``: a leaderboard-ready submission (track "learned");
* ``learning_curve.png``: best and batch cost against environment steps, with the forward,
  reverse and Markowitz costs (:func:`crosscountry_gym.orders.reference_costs`) as horizontal
  lines.

The time budget is the total wall time of the run: a resumed run continues until the time
already spent plus the new time reaches the budget. It is not overshot: the agents stop early
enough to fit what is still to come (the next iteration where an iteration cannot be cut, and
the final checkpoint, whose duration every checkpoint measures; :meth:`RunRecorder.should_stop`).

Checkpoints (:meth:`RunRecorder.maybe_checkpoint`) come after the first iteration of every
session and then every ``checkpoint_every_s``; each also writes ``best_order.json`` and the
plot, so a killed run loses at most that interval. Within :meth:`RunRecorder.catch_signals`
the first SIGINT (Ctrl-C) or SIGTERM stops the run at the agent's next check (PPO: the next
environment step or the end of a running update; AlphaZero: the end of the running iteration)
with a final checkpoint; the
agent then raises :class:`RunInterrupted`, which carries the result. A second signal aborts
as usual.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import json
import math
import os
import platform
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crosscountry_gym.engine import cost, validate_order
from crosscountry_gym.graph import Graph
from crosscountry_gym.orders import reference_costs
from crosscountry_gym.sparsity import DEFAULT_MODEL, check_model, cost_model_arg
from crosscountry_gym.tasks import Task, resolve_graph

__all__ = [
    "RunRecorder",
    "RunInterrupted",
    "TrainResult",
    "baseline_costs",
    "random_order_costs",
    "describe_source",
    "policy_submission",
    "CSV_FIELDS",
    "CODE_URL",
]

CSV_FIELDS = (
    "wall_s",
    "iteration",
    "env_steps",
    "episodes",
    "best_cost",
    "batch_mean_cost",
    "batch_min_cost",
    "episodes_per_s",
)
"""Columns every agent writes; agent-specific columns (losses ...) follow them."""

CODE_URL = "crosscountry-gym baselines/rl"
_CODE_PATH = {"ppo": "sb3_agent.py", "alphazero": "alphazero/"}  # under CODE_URL, per method
_CKPT = "checkpoint"
_RECORDER_FILE = "recorder.json"


def baseline_costs(graph: Graph, cost_model: str = DEFAULT_MODEL, *,
                   model: str | None = None) -> dict[str, int]:
    """Forward, reverse and Markowitz (paper variant) costs of ``graph`` in ``cost_model``, as
    a plain dict: :func:`crosscountry_gym.orders.reference_costs` (``model=`` is a deprecated
    alias of ``cost_model``)."""
    return dict(reference_costs(graph, cost_model_arg(cost_model, model)))


def random_order_costs(graph: Graph, n: int, seed: int = 0, cost_model: str = DEFAULT_MODEL, *,
                       model: str | None = None) -> np.ndarray:
    """Costs of ``n`` uniformly random elimination orders (the "random policy" reference);
    ``model=`` is a deprecated alias of ``cost_model``."""
    cost_model = cost_model_arg(cost_model, model)
    rng = np.random.default_rng(seed)
    elim = np.asarray(graph.eliminable)
    return np.asarray([cost(graph, rng.permutation(elim).tolist(), cost_model) for _ in range(n)])


@dataclass
class TrainResult:
    """Summary of a finished (or budget-stopped) run."""

    task: str
    method: str
    seed: int
    cost_model: str
    best_cost: int | None
    best_order: list[int] | None
    env_steps: int
    episodes: int
    wall_s: float
    out_dir: str
    baselines: dict[str, int] = field(default_factory=dict)
    interrupted: str | None = None
    """The stop signal that ended the run ("SIGINT", "SIGTERM"), ``None`` if it ran out."""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class RunInterrupted(KeyboardInterrupt):
    """Raised by an agent's ``train`` after a SIGINT / SIGTERM stopped the run and its final
    checkpoint and ``best_order.json`` were written. ``signal`` names the signal, ``result``
    is the run's :class:`TrainResult` (resume with ``resume=True``). A ``KeyboardInterrupt``,
    so a script that trains several runs stops as it would on Ctrl-C."""

    def __init__(self, signal: str, result: TrainResult) -> None:
        super().__init__(f"training stopped by {signal}; checkpoint saved in {result.out_dir}")
        self.signal, self.result = signal, result


class RunRecorder:
    """Bookkeeping of one run in ``out_dir`` (see the module docstring).

    Args:
        out_dir: run directory (created).
        task: the task name, :class:`Task` or :class:`Graph` the run optimises
            (:func:`crosscountry_gym.tasks.resolve_graph`; a graph is named after
            ``graph.name``), or, for a run on several graphs (a portable policy, ``docs/rl.md``),
            a list of them or a :class:`~crosscountry_gym.envs.random_graphs.RandomGraphSpec`.
            Such a run has no single graph (:attr:`graph` is ``None``): it counts episodes but
            keeps no best order and writes no ``best_order.json``; its policy is evaluated per
            task afterwards (``crosscountry-gym evaluate``).
        method: "ppo" or "alphazero" (also the leaderboard ``method`` prefix).
        seed: the run's seed.
        cost_model: a cost model of :data:`crosscountry_gym.sparsity.MODELS` (default "exact").
        budget_s: total wall-time budget of the run in seconds.
        extra_fields: agent-specific metrics-CSV columns.
        config: the agent's hyper-parameters (stored in the checkpoint and the JSON notes).
        resume: continue the checkpoint in ``out_dir`` (raises if there is none, or if it belongs
            to another task, method, seed or cost model).
        clock_start: the ``time.perf_counter()`` value this session's time counts from
            (default: now; the CLI passes the moment the command started, so that imports and
            set-up count toward the budget).
    """

    def __init__(
        self,
        out_dir: str | os.PathLike,
        task: str | Task | Graph,
        *,
        method: str,
        seed: int,
        cost_model: str = DEFAULT_MODEL,
        budget_s: float,
        extra_fields: Sequence[str] = (),
        config: dict[str, Any] | None = None,
        resume: bool = False,
        clock_start: float | None = None,
    ) -> None:
        check_model(cost_model)
        if not (isinstance(budget_s, int | float) and not isinstance(budget_s, bool)
                and math.isfinite(budget_s) and budget_s > 0):
            raise ValueError(f"budget must be a positive, finite number of seconds, got "
                             f"{budget_s!r}")
        self.graph: Graph | None
        self.task, self.graph, self.fingerprint = describe_source(task)
        self.out_dir = Path(out_dir)
        self.method, self.seed, self.cost_model = method, int(seed), cost_model
        self.budget_s = float(budget_s)
        self.fields = CSV_FIELDS + tuple(extra_fields)
        self.config = dict(config or {})
        self.best_cost: int | None = None
        self.best_order: list[int] | None = None
        self.env_steps = 0
        self.episodes = 0
        self.iteration = 0
        self._elapsed_before = 0.0
        self._t0 = time.perf_counter() if clock_start is None else float(clock_start)
        self._rate_mark = (self._t0, 0)
        self.reserve_s = 1.0  # expected duration of the final checkpoint (a guess until measured)
        self._measured = False
        self._last_ckpt: float | None = None  # elapsed_s at the end of this session's last one
        self._stop: Any = None  # the StopRequest of catch_signals() while it is active
        self._stopped_by: str | None = None  # its signal, once the block is left
        self.baselines = ({} if self.graph is None
                          else dict(reference_costs(self.graph, cost_model)))
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise ValueError(f"{self.out_dir} exists and is not a directory; the run needs a "
                             "directory of its own")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        _pyplot()  # imported now, within the budget, not by the final checkpoint's plot
        if resume:
            self._load_recorder()
        elif self.checkpoint_dir is not None:
            raise ValueError(
                f"{self.out_dir} already holds a checkpoint; pass resume=True (--resume) to "
                "continue it, or choose another output directory"
            )
        else:
            with open(self.csv_path, "w", newline="") as fh:
                csv.writer(fh).writerow(self.fields)

    # -- paths --------------------------------------------------------------------------------

    @property
    def csv_path(self) -> Path:
        return self.out_dir / "metrics.csv"

    @property
    def json_path(self) -> Path:
        return self.out_dir / "best_order.json"

    @property
    def png_path(self) -> Path:
        return self.out_dir / "learning_curve.png"

    @property
    def checkpoint_dir(self) -> Path | None:
        """The last complete checkpoint directory, or ``None``."""
        for name in (_CKPT, _CKPT + ".old"):
            p = self.out_dir / name
            if (p / _RECORDER_FILE).is_file():
                return p
        return None

    # -- time ---------------------------------------------------------------------------------

    @property
    def elapsed_s(self) -> float:
        """Wall time of the whole run so far (earlier sessions included)."""
        return self._elapsed_before + time.perf_counter() - self._t0

    def time_left(self) -> float:
        return self.budget_s - self.elapsed_s

    def out_of_time(self) -> bool:
        return self.time_left() <= 0

    # -- stopping -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def catch_signals(self) -> Iterator[None]:
        """Within this block the first SIGINT or SIGTERM only sets :attr:`interrupted`, which
        makes :meth:`should_stop` true (module docstring); a second one acts as usual."""
        from crosscountry_gym.baselines.search.common import stop_on_signals

        with stop_on_signals() as req:
            self._stop = req
            try:
                yield
            finally:
                self._stop = None
                self._stopped_by = req.signal

    @property
    def interrupted(self) -> str | None:
        """The stop signal received ("SIGINT", "SIGTERM"), or ``None``."""
        if self._stop is not None:
            return self._stop.signal
        return self._stopped_by

    def should_stop(self, upcoming_s: float = 0.0) -> bool:
        """True once a stop signal arrived, or when the time left would not cover
        ``upcoming_s`` (work that cannot be cut once started) plus the final checkpoint
        (:attr:`reserve_s`, with a margin: 1.5 x + 0.1 s)."""
        if self.interrupted is not None:
            return True
        return self.time_left() <= upcoming_s + 1.5 * self.reserve_s + 0.1

    # -- results ------------------------------------------------------------------------------

    def record_episodes(
        self, orders: Iterable[Sequence[int]], costs: Iterable[int] | None = None
    ) -> bool:
        """Count finished episodes and keep the best complete order; ``True`` if it improved.

        ``orders`` are complete elimination orders (vertex ids); ``costs`` the agent's own
        totals for them. Each new best is validated and re-costed with the reference model;
        a mismatch with the agent's total raises ``RuntimeError``.
        """
        orders = [list(map(int, o)) for o in orders]
        costs = [None] * len(orders) if costs is None else [int(c) for c in costs]
        if len(costs) != len(orders):
            raise ValueError("orders and costs differ in length")
        self.episodes += len(orders)
        if self.graph is None:  # several graphs: an order is not comparable across them
            return False
        improved = False
        # only candidates that can beat the best need the (slower) reference replay
        ranked = sorted(range(len(orders)), key=lambda i: (costs[i] is None, costs[i] or 0))
        for i in ranked:
            claimed = costs[i]
            if claimed is not None and self.best_cost is not None and claimed >= self.best_cost:
                break
            validate_order(self.graph, orders[i])
            true = cost(self.graph, orders[i], self.cost_model)
            if claimed is not None and claimed != true:
                raise RuntimeError(
                    f"agent reported cost {claimed} for an order whose reference cost is {true}"
                    f" ({self.cost_model}); the agent's bookkeeping is wrong"
                )
            if self.best_cost is None or true < self.best_cost:
                self.best_cost, self.best_order, improved = true, orders[i], True
        return improved

    def add_env_steps(self, n: int) -> None:
        self.env_steps += int(n)

    def episodes_per_s(self) -> float:
        """Episodes per second since the previous call (the progress-bar rate)."""
        now = time.perf_counter()
        t, e = self._rate_mark
        self._rate_mark = (now, self.episodes)
        return (self.episodes - e) / max(now - t, 1e-9)

    def log(self, batch_costs: Sequence[float] = (), **extra: float) -> dict[str, Any]:
        """Append one metrics row (batch statistics of ``batch_costs``) and return it."""
        self.iteration += 1
        bc = np.asarray(batch_costs, float)
        row: dict[str, Any] = {
            "wall_s": round(self.elapsed_s, 3),
            "iteration": self.iteration,
            "env_steps": self.env_steps,
            "episodes": self.episodes,
            "best_cost": "" if self.best_cost is None else self.best_cost,
            "batch_mean_cost": float(bc.mean()) if bc.size else "",
            "batch_min_cost": float(bc.min()) if bc.size else "",
            "episodes_per_s": round(self.episodes_per_s(), 3),
        }
        unknown = set(extra) - set(self.fields)
        if unknown:
            raise ValueError(f"unknown metrics columns {sorted(unknown)}; declare extra_fields")
        row.update({k: (float(v) if v is not None else "") for k, v in extra.items()})
        with open(self.csv_path, "a", newline="") as fh:
            csv.writer(fh).writerow([row.get(k, "") for k in self.fields])
        return row

    # -- checkpoints --------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "fingerprint": self.fingerprint,
            "method": self.method,
            "seed": self.seed,
            "cost_model": self.cost_model,
            "best_cost": self.best_cost,
            "best_order": self.best_order,
            "env_steps": self.env_steps,
            "episodes": self.episodes,
            "iteration": self.iteration,
            "elapsed_s": self.elapsed_s,
            "config": self.config,
        }

    def save_checkpoint(self, write_agent: Callable[[Path], None]) -> Path:
        """Write a checkpoint: ``write_agent(dir)`` saves the agent's files into ``dir``.

        Written to ``checkpoint.tmp`` first and swapped in, keeping the previous checkpoint as
        ``checkpoint.old`` until the new one is complete.
        """
        tmp, cur, old = (self.out_dir / n for n in (_CKPT + ".tmp", _CKPT, _CKPT + ".old"))
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        write_agent(tmp)
        (tmp / _RECORDER_FILE).write_text(json.dumps(self._state(), indent=1))
        shutil.rmtree(old, ignore_errors=True)
        if cur.exists():
            os.replace(cur, old)
        os.replace(tmp, cur)
        shutil.rmtree(old, ignore_errors=True)
        return cur

    def checkpoint(self, write_agent: Callable[[Path], None]) -> Path:
        """:meth:`save_checkpoint`, then ``best_order.json`` and the plot
        (:meth:`write_outputs`); :attr:`reserve_s` becomes the longest one of the session."""
        t = time.perf_counter()
        path = self.save_checkpoint(write_agent)
        self.write_outputs()
        took = time.perf_counter() - t
        self.reserve_s = max(self.reserve_s, took) if self._measured else took
        self._measured = True
        self._last_ckpt = self.elapsed_s
        return path

    def maybe_checkpoint(self, write_agent: Callable[[Path], None], every_s: float,
                         upcoming_s: float = 0.0) -> bool:
        """Call after every iteration: a :meth:`checkpoint` after this session's first
        iteration and then every ``every_s`` seconds, except when the run is about to stop
        anyway (its final checkpoint follows). True if one was written."""
        due = self._last_ckpt is None or self.elapsed_s - self._last_ckpt >= every_s
        if not due or self.should_stop(upcoming_s + self.reserve_s):
            return False
        self.checkpoint(write_agent)
        return True

    def _load_recorder(self) -> None:
        ckpt = self.checkpoint_dir
        if ckpt is None:
            raise ValueError(f"--resume: no checkpoint in {self.out_dir}")
        st = json.loads((ckpt / _RECORDER_FILE).read_text())
        mine = {"task": self.task, "fingerprint": self.fingerprint,
                "method": self.method, "seed": self.seed, "cost_model": self.cost_model}
        for key, val in mine.items():
            if st.get(key) != val:
                raise ValueError(
                    f"--resume: the checkpoint in {self.out_dir} has {key}={st.get(key)!r}, "
                    f"this run has {key}={val!r}"
                )
        self.best_cost, self.best_order = st["best_cost"], st["best_order"]
        self.env_steps, self.episodes = int(st["env_steps"]), int(st["episodes"])
        self.iteration = int(st["iteration"])
        self._elapsed_before = float(st["elapsed_s"])
        self._rate_mark = (self._t0, self.episodes)
        if not self.csv_path.exists():
            with open(self.csv_path, "w", newline="") as fh:
                csv.writer(fh).writerow(self.fields)
        else:  # drop rows logged after the checkpoint (they are replayed)
            with open(self.csv_path, newline="") as fh:
                rows = list(csv.reader(fh))
            keep = [rows[0]] + [r for r in rows[1:] if r and int(r[1]) <= self.iteration]
            with open(self.csv_path, "w", newline="") as fh:
                csv.writer(fh).writerows(keep)

    # -- outputs ------------------------------------------------------------------------------

    def submission(self, *, compute_budget: str | None = None, hardware: str | None = None,
                   authors: Sequence[str] = ("crosscountry-gym baselines",)) -> dict[str, Any]:
        """The best order as a leaderboard submission dict (``leaderboard/README.md`` format)."""
        if self.graph is None:
            raise ValueError(f"run {self.task} trained on several graphs and has no single best "
                             "order; evaluate its policy per task (crosscountry-gym evaluate "
                             "CHECKPOINT --task T --submit)")
        if self.best_order is None:
            raise ValueError("no complete episode has finished yet; nothing to submit")
        from crosscountry_gym import __version__

        method = {"ppo": "MaskablePPO (sb3-contrib)", "alphazero": "AlphaZero (mctx Gumbel MuZero)"}
        return {
            "task": self.task,
            "fingerprint": self.fingerprint,
            "cost_model": self.cost_model,
            "order": list(self.best_order),
            "claimed_cost": int(self.best_cost),
            "method": method.get(self.method, self.method),
            "track": "learned",
            "authors": list(authors),
            "code": f"{CODE_URL}/{_CODE_PATH.get(self.method, self.method)}",
            "package_version": __version__,
            "seeds": [self.seed],
            "compute_budget": compute_budget
            or f"{self.elapsed_s / 60:.1f} min wall, {self.env_steps} env steps",
            "hardware": hardware or _hardware(),
            "date": _dt.date.today().isoformat(),
            "notes": "best complete order of the run, re-costed with the reference cost model; "
            f"config {json.dumps(self.config, sort_keys=True)}",
        }

    def write_outputs(self) -> TrainResult:
        """Write ``best_order.json`` (if any episode finished) and ``learning_curve.png``."""
        if self.best_order is not None:
            tmp = self.json_path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(self.submission(), indent=1) + "\n")
            os.replace(tmp, self.json_path)
        plot_learning_curve(self.csv_path, self.png_path, self.baselines,
                            title=f"{self.task} · {self.method} · seed {self.seed}")
        return self.result()

    def result(self) -> TrainResult:
        return TrainResult(
            task=self.task, method=self.method, seed=self.seed, cost_model=self.cost_model,
            best_cost=self.best_cost, best_order=self.best_order, env_steps=self.env_steps,
            episodes=self.episodes, wall_s=self.elapsed_s, out_dir=str(self.out_dir),
            baselines=dict(self.baselines), interrupted=self.interrupted,
        )

    def finish(self, write_agent: Callable[[Path], None]) -> TrainResult:
        """The end of a run: the final :meth:`checkpoint`; returns the result, or raises
        :class:`RunInterrupted` (carrying it) if a stop signal ended the run."""
        self.checkpoint(write_agent)
        result = self.result()
        if result.interrupted is not None:
            raise RunInterrupted(result.interrupted, result)
        return result


def policy_submission(task: str | Task | Graph, order: Sequence[int], *, cost_model: str,
                      method: str, code: str, seeds: Sequence[int], compute_budget: str,
                      notes: str, authors: Sequence[str] = ("crosscountry-gym baselines",)
                      ) -> dict[str, Any]:
    """A leaderboard submission dict (``leaderboard/README.md`` format, track "learned") for
    ``order`` on ``task``, its cost re-computed with the reference model: what
    ``crosscountry-gym evaluate --submit`` stores for a policy's greedy order."""
    name, graph = resolve_graph(task)
    order = [int(v) for v in order]
    validate_order(graph, order)
    from crosscountry_gym import __version__

    return {
        "task": name or graph.name or "graph",
        "fingerprint": graph.fingerprint,
        "cost_model": check_model(cost_model),
        "order": order,
        "claimed_cost": int(cost(graph, order, cost_model)),
        "method": method,
        "track": "learned",
        "authors": list(authors),
        "code": code,
        "package_version": __version__,
        "seeds": [int(x) for x in seeds],
        "compute_budget": compute_budget,
        "hardware": _hardware(),
        "date": _dt.date.today().isoformat(),
        "notes": notes,
    }


def describe_source(task: Any) -> tuple[str, Graph | None, str]:
    """``(name, graph, fingerprint)`` of what a run trains on: one task or graph (its name,
    the graph, its fingerprint), or several graphs (a list of them or a ``RandomGraphSpec``):
    a label such as ``"PropaneCombustion+RoeFlux_1d"`` or ``"Random(num_vertices=20)"``,
    ``None``, and a digest of the source (``docs/rl.md``, *Portable policies*)."""
    import dataclasses
    import hashlib

    from crosscountry_gym.envs.random_graphs import RandomGraphSpec

    if not isinstance(task, RandomGraphSpec | list | tuple):  # one task; resolve_graph refuses
        name, graph = resolve_graph(task)                      # anything else (TypeError)
        return name or graph.name or "graph", graph, graph.fingerprint
    if isinstance(task, RandomGraphSpec):
        default = RandomGraphSpec()
        changed = [f"{f.name}={getattr(task, f.name)!r}" for f in dataclasses.fields(task)
                   if getattr(task, f.name) != getattr(default, f.name)]
        label = f"Random({', '.join(changed)})"
        key = repr(task)
    else:
        items = list(task)
        if not items:
            raise ValueError("a list of tasks must not be empty")
        resolved = [resolve_graph(t) for t in items]
        if len(resolved) == 1:
            name, graph = resolved[0]
            return name or graph.name or "graph", graph, graph.fingerprint
        label = "+".join(n or g.name or "graph" for n, g in resolved)
        key = ",".join(g.fingerprint for _, g in resolved)
    return label, None, "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _hardware() -> str:
    import jax  # already a core dependency

    cpu = platform.processor() or platform.machine()
    devs = ", ".join(sorted({d.device_kind for d in jax.local_devices()}))
    return f"{os.cpu_count()} CPU cores ({cpu}); JAX devices: {devs}"


def _pyplot():
    """``matplotlib.pyplot`` on the Agg backend (the first import takes a second or more)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_learning_curve(csv_path: str | os.PathLike, png_path: str | os.PathLike,
                        baselines: dict[str, int], title: str = "") -> Path:
    """Best-so-far and batch-mean cost vs environment steps, with the heuristic lines."""
    plt = _pyplot()

    steps, best, mean = [], [], []
    with open(csv_path, newline="") as fh:
        for row in csv.DictReader(fh):
            if row["best_cost"] == "":
                continue
            steps.append(int(row["env_steps"]))
            best.append(float(row["best_cost"]))
            mean.append(float(row["batch_mean_cost"]) if row["batch_mean_cost"] else np.nan)
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    try:
        if steps:
            ax.plot(steps, mean, color="0.6", lw=1, label="batch mean")
            ax.step(steps, best, where="post", color="C3", lw=2, label="best so far")
        styles = {"forward": ("C0", "--"), "reverse": ("C2", "--"), "markowitz": ("C1", ":")}
        for name, val in baselines.items():
            c, ls = styles.get(name, ("k", "-."))
            ax.axhline(val, color=c, ls=ls, lw=1.2, label=f"{name} ({val})")
        ax.set_xlabel("environment steps")
        ax.set_ylabel("multiplications")
        ax.set_title(title, fontsize=9)
        if ax.get_legend_handles_labels()[0]:  # a run on several graphs may have no line yet
            ax.legend(fontsize=7, loc="upper right")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(png_path)
    finally:
        plt.close(fig)
    return Path(png_path)
