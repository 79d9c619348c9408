"""MaskablePPO (sb3-contrib) on the registered environments, with a size-agnostic graph encoder.

The agent uses the environment exactly as any user would: the native vector env
``gym.make_vec("CrossCountry/<Task>-v0", n, vectorization_mode="vector_entry_point")`` (or a
:class:`crosscountry_gym.envs.vector_env.CrossCountryVectorEnv` over a user :class:`Graph`, a
list of graphs or a :class:`RandomGraphSpec`) behind the package's SB3 adapter
:class:`crosscountry_gym.envs.sb3.SB3VecEnv`, its public ``action_masks()`` for MaskablePPO, and
``info["order"]`` / ``info["cost"]`` at the end of each episode. No private hooks.
``make_env(..., backend="dummy")`` keeps the former path (SB3's ``DummyVecEnv`` over
``gym.make`` envs) for comparison (``benchmarks/rl_bench.py``).

Portable policies (``docs/rl.md``, *Portable policies*): no parameter of the policy depends on
the number of vertices or inputs, so a checkpoint trained on one graph, a list of graphs or a
random family runs on any other graph. :func:`load_policy` rebuilds the policy for the
observation space of the graph at hand and loads the weights; :func:`greedy_order` plays its
deterministic order.

Policy (:class:`GraphMaskablePolicy`), size-agnostic and permutation-equivariant:

* :class:`GraphEncoder` (an SB3 ``BaseFeaturesExtractor``): one token per vertex column from
  local structure read off the ``edge_types`` tensor (degrees, copy / sparse edge counts, the
  Markowitz product, masks, vertex size), then ``num_layers`` blocks of predecessor/successor
  message passing + multi-head self-attention over the *live* vertices (eliminated and padding
  vertices masked out as keys) + a swish feed-forward layer, pre-LayerNorm. The same design as
  the AlphaZero network (:mod:`.alphazero.network`), in torch;
* :class:`VertexHeads` (the policy's ``mlp_extractor``): the actor maps every token to one logit
  (so ``action_net`` is the identity: logit k is vertex k + 1), the critic pools the live
  tokens into a vector for SB3's ``value_net``.

PPO settings follow the paper (``docs/rl.md`` §P3): rollout length = number of
eliminable vertices, 4 minibatches, 1 epoch, clip 0.2, GAE lambda 0.95, gamma 1, entropy 0.01,
value coefficient 1, Adam eps 1e-7, gradient clip 0.5, lr 2.5e-4 (constant: the run length is
a wall-time budget, unknown in advance). Differences: ``num_envs`` 8 by default (CPU), one shared
encoder for policy and value, and the value target is the return scaled by the environment's
``reward_scale = 1 / Markowitz cost`` (:func:`crosscountry_gym.orders.reference_costs`) instead
of symlog(return) (SB3 has no target transform; scaling keeps returns near -1 just as well).

Imports torch, stable-baselines3 and sb3-contrib; never imported by ``crosscountry_gym.baselines``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.vec_env import VecEnv
from torch import nn

import crosscountry_gym  # noqa: F401  (registers the CrossCountry/* ids)
from crosscountry_gym.envs.random_graphs import RandomGraphSpec, random_graph
from crosscountry_gym.graph import Graph
from crosscountry_gym.orders import reference_costs
from crosscountry_gym.sparsity import DEFAULT_MODEL
from crosscountry_gym.tasks import Task, resolve_graph

from .training import RunRecorder, TrainResult

Source: TypeAlias = "str | Task | Graph | RandomGraphSpec | Sequence[str | Task | Graph]"
"""What a PPO run trains on: a task (name or :class:`Task`), a :class:`Graph`, a list of them
(each episode draws one) or a :class:`RandomGraphSpec` (a fresh random graph per episode)."""

BACKENDS = ("native", "dummy")

__all__ = [
    "PPOConfig",
    "Source",
    "BACKENDS",
    "reward_scale",
    "load_policy",
    "greedy_order",
    "observation_space_of",
    "rollout_length",
    "source_graphs",
    "rollout_steps_per_second",
    "GraphEncoder",
    "VertexHeads",
    "GraphMaskablePolicy",
    "make_env",
    "make_model",
    "BudgetedPPO",
    "train",
    "torch_vertex_features",
    "env_steps_per_second",
]

NUM_FEATURES = 15


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """Hyper-parameters (module docstring for their provenance)."""

    num_envs: int = 8
    learning_rate: float = 2.5e-4
    num_minibatches: int = 4
    n_epochs: int = 1
    clip_range: float = 0.2
    gae_lambda: float = 0.95
    ent_coef: float = 0.01
    vf_coef: float = 1.0
    max_grad_norm: float = 0.5
    d_model: int = 32
    num_layers: int = 2
    num_heads: int = 4
    ff_dim: int = 64

    def __post_init__(self) -> None:
        for name in ("num_envs", "num_minibatches", "n_epochs", "d_model", "num_layers",
                     "num_heads", "ff_dim"):
            val = getattr(self, name)
            if not isinstance(val, int) or isinstance(val, bool) or val < 1:
                raise ValueError(f"PPOConfig.{name} must be a positive int, got {val!r}")
        if self.d_model % self.num_heads:
            raise ValueError(f"d_model ({self.d_model}) must be a multiple of num_heads "
                             f"({self.num_heads})")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------------------------
# network


def torch_vertex_features(obs: dict[str, th.Tensor]) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
    """Batched per-vertex features: ``(f [B, V, 15], adjacency [B, V, V], alive bool [B, V])``.

    The torch twin of :func:`crosscountry_gym.baselines.rl.alphazero.features.vertex_features`
    (same features, same order); ``adjacency[b, i, j] = 1`` when vertex i feeds vertex j.
    """
    et = obs["edge_types"]
    _, r, v = et.shape
    mi = r - v
    a = (et != 0).float()
    cp = (et == -1).float()
    sp = a * (et != 1).float() * (1.0 - cp)
    alive = obs["vertex_mask"] > 0.5
    legal = alive & ~(obs["output_mask"] > 0.5)
    adj = a[:, mi:, :]
    in_deg, out_deg = a.sum(1), adj.sum(2)
    in_cp, out_cp = cp.sum(1), cp[:, mi:].sum(2)
    lmk = th.log1p((in_deg - in_cp) * (out_deg - out_cp))
    lmin = th.where(legal, lmk, th.full_like(lmk, float("inf"))).amin(1, keepdim=True)
    lmin = th.where(th.isinf(lmin), th.zeros_like(lmin), lmin)
    vsize = obs["vertex_shapes"].clamp(min=1).prod(-1)
    f = th.stack(
        [
            alive.float(), (obs["output_mask"] > 0.5).float(), legal.float(),
            th.log1p(in_deg), th.log1p(out_deg), th.log1p(a[:, :mi].sum(1)),
            th.log1p(in_deg - in_cp), th.log1p(out_deg - out_cp),
            th.log1p(in_cp), th.log1p(out_cp),
            th.log1p(sp.sum(1)), th.log1p(sp[:, mi:].sum(2)),
            lmk, th.where(legal, lmk - lmin, th.zeros_like(lmk)), th.log(vsize),
        ],
        dim=-1,
    )
    return f * alive.unsqueeze(-1).float(), adj, alive


class _Attention(nn.Module):
    """Multi-head self-attention with a key mask, through torch's fused
    ``scaled_dot_product_attention`` (on CPU about 2.4x faster forward + backward than the
    explicit matmul-softmax-matmul at these sizes, and several times faster than
    ``nn.MultiheadAttention`` with a padding mask). A row without any key left attends to all
    keys (never the case for a graph: outputs stay alive)."""

    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)

    def forward(self, x: th.Tensor, keep: th.Tensor) -> th.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        keep = keep | ~keep.any(-1, keepdim=True)
        y = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=keep[:, None, None, :])
        return self.out(y.transpose(1, 2).reshape(b, n, d))


class _Block(nn.Module):
    def __init__(self, d: int, heads: int, ff: int):
        super().__init__()
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.msg_in, self.msg_out = nn.Linear(3 * d, d), nn.Linear(d, d)
        self.attn = _Attention(d, heads)
        self.ff_in, self.ff_out = nn.Linear(d, ff), nn.Linear(ff, d, bias=False)

    def forward(self, h: th.Tensor, adj: th.Tensor, alive: th.Tensor) -> th.Tensor:
        x = self.ln1(h)
        pred = adj.transpose(1, 2) @ x / adj.sum(1).clamp(min=1.0).unsqueeze(-1)
        succ = adj @ x / adj.sum(2).clamp(min=1.0).unsqueeze(-1)
        h = h + self.msg_out(nn.functional.silu(self.msg_in(th.cat([x, pred, succ], -1))))
        x = self.ln2(h)
        h = h + self.attn(x, alive)
        return h + self.ff_out(nn.functional.silu(self.ff_in(self.ln3(h))))


class GraphEncoder(BaseFeaturesExtractor):
    """Vertex-token graph transformer over the env's Dict observation.

    Output: ``[B, V * (d_model + 2)]``, the flattened tokens with two extra channels per vertex
    (alive, legal) that :class:`VertexHeads` uses for pooling and masking.
    """

    def __init__(self, observation_space: spaces.Dict, d_model: int = 32, num_layers: int = 2,
                 num_heads: int = 4, ff_dim: int = 64):
        need = {"edge_types", "vertex_mask", "output_mask", "vertex_shapes"}
        if not isinstance(observation_space, spaces.Dict) or not need <= set(observation_space):
            raise ValueError(f"GraphEncoder needs a Dict observation space with keys {sorted(need)}"
                             " (a CrossCountry environment)")
        v = observation_space["vertex_mask"].shape[0]
        super().__init__(observation_space, features_dim=v * (d_model + 2))
        self.num_vertices, self.d_model = v, d_model
        self.embed = nn.Linear(NUM_FEATURES, d_model)
        self.blocks = nn.ModuleList(_Block(d_model, num_heads, ff_dim) for _ in range(num_layers))
        self.ln_f = nn.LayerNorm(d_model)

    def forward(self, obs: dict[str, th.Tensor]) -> th.Tensor:
        f, adj, alive = torch_vertex_features(obs)
        h = self.embed(f)
        for blk in self.blocks:
            h = blk(h, adj, alive)
        h = self.ln_f(h)
        legal = alive & ~(obs["output_mask"] > 0.5)
        tok = th.cat([h, alive.unsqueeze(-1).float(), legal.unsqueeze(-1).float()], -1)
        return tok.flatten(1)


class VertexHeads(nn.Module):
    """SB3 ``mlp_extractor``: per-vertex policy logits (``latent_dim_pi = V``) and a pooled
    critic latent (``latent_dim_vf = d_model``). ``num_vertices`` only sizes SB3's bookkeeping;
    the weights are shared by all vertices, so the heads run on any ``V``."""

    def __init__(self, num_vertices: int, d_model: int):
        super().__init__()
        self.v, self.d = num_vertices, d_model
        self.latent_dim_pi, self.latent_dim_vf = num_vertices, d_model
        self.pol_hidden, self.pol_out = nn.Linear(d_model, d_model), nn.Linear(d_model, 1)
        self.val_hidden = nn.Linear(2 * d_model + 1, d_model)

    def _split(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        # the vertex count comes from the features, so no weight depends on it (portable)
        x = features.view(features.shape[0], -1, self.d + 2)
        return x[..., : self.d], x[..., self.d] > 0.5, x[..., self.d + 1] > 0.5

    def forward_actor(self, features: th.Tensor) -> th.Tensor:
        h, _, _ = self._split(features)
        return self.pol_out(nn.functional.silu(self.pol_hidden(h))).squeeze(-1)

    def forward_critic(self, features: th.Tensor) -> th.Tensor:
        h, alive, legal = self._split(features)
        w = alive.unsqueeze(-1).float()
        mean = (h * w).sum(1) / w.sum(1).clamp(min=1.0)
        mx = th.where(alive.unsqueeze(-1), h, th.full_like(h, -1e4)).amax(1)
        n = th.log1p(legal.float().sum(1, keepdim=True))
        return nn.functional.silu(self.val_hidden(th.cat([mean, mx, n], -1)))

    def forward(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        return self.forward_actor(features), self.forward_critic(features)


class GraphMaskablePolicy(MaskableActorCriticPolicy):
    """MaskableActorCriticPolicy with :class:`GraphEncoder` and :class:`VertexHeads`; the
    action net is the identity (one logit per vertex comes straight from the tokens)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("features_extractor_class", GraphEncoder)
        super().__init__(*args, **kwargs)

    def _build_mlp_extractor(self) -> None:
        enc = self.features_extractor
        self.mlp_extractor = VertexHeads(enc.num_vertices, enc.d_model)

    def _build(self, lr_schedule) -> None:
        super()._build(lr_schedule)
        self.action_net = nn.Identity()
        nn.init.orthogonal_(self.mlp_extractor.pol_out.weight, gain=0.01)  # near-uniform start
        nn.init.zeros_(self.mlp_extractor.pol_out.bias)
        self.optimizer = self.optimizer_class(
            self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )


# --------------------------------------------------------------------------------------------
# environment and model


def source_graphs(source: Source, *, samples: int = 16) -> tuple[list[Graph], bool]:
    """``(graphs, is_random)``: the graphs of a fixed source (one task or graph, or a list),
    or ``samples`` graphs drawn (seeds 0..samples-1) from a :class:`RandomGraphSpec`."""
    if isinstance(source, RandomGraphSpec):
        return [random_graph(i, source) for i in range(samples)], True
    if isinstance(source, str | Task | Graph):
        return [resolve_graph(source)[1]], False
    items = list(source)
    if not items:
        raise ValueError("a list of tasks must not be empty")
    return [resolve_graph(t)[1] for t in items], False


def reward_scale(source: Source, cost_model: str = DEFAULT_MODEL) -> float:
    """The env's ``reward_scale``: 1 / (Markowitz cost) of the graph, so that returns are near
    -1 (:func:`crosscountry_gym.orders.reference_costs`); for a list of graphs or a random
    family 1 / (median Markowitz cost) over the list or over 16 graphs drawn from the spec."""
    graphs, _ = source_graphs(source)
    marks = [max(1, reference_costs(g, cost_model).markowitz) for g in graphs]
    return 1.0 / float(np.median(marks))


_reward_scale = reward_scale  # the former private name


def make_env(task: Source, *, num_envs: int = 8, seed: int = 0,
             cost_model: str = DEFAULT_MODEL, backend: str = "native",
             max_vertices: int | None = None, max_inputs: int | None = None) -> VecEnv:
    """SB3 vector env of ``num_envs`` games with rewards scaled by :func:`reward_scale`.

    ``backend="native"`` (default): :class:`crosscountry_gym.envs.sb3.SB3VecEnv` over the native
    vector env: ``gym.make_vec("CrossCountry/<task>-v0", num_envs,
    vectorization_mode="vector_entry_point")`` for one task, a
    :class:`~crosscountry_gym.envs.vector_env.CrossCountryVectorEnv` over a :class:`Graph` or a
    list (one drawn per episode, padded to the largest) or over a :class:`RandomGraphSpec`.
    ``backend="dummy"``: SB3's ``make_vec_env`` (a ``DummyVecEnv``) over ``gym.make`` envs of
    one task or graph, the path before the adapter. ``max_vertices`` / ``max_inputs`` pad the
    observation further (``None``: the source's own sizes). Seeded with ``seed``.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; use one of {BACKENDS}")
    kwargs: dict[str, Any] = {"cost_model": cost_model,
                              "reward_scale": reward_scale(task, cost_model)}
    if max_vertices is not None:
        kwargs["max_vertices"] = max_vertices
    if max_inputs is not None:
        kwargs["max_inputs"] = max_inputs
    single = isinstance(task, str | Task | Graph)
    if backend == "dummy":
        if not single:
            raise ValueError("backend='dummy' trains on one task or graph")
        name, graph = resolve_graph(task)
        if name is None:
            from crosscountry_gym.envs.gym_env import CrossCountryEnv

            return make_vec_env(CrossCountryEnv, n_envs=num_envs, seed=seed,
                                env_kwargs={"graph": graph, **kwargs})
        return make_vec_env(f"CrossCountry/{name}-v0", n_envs=num_envs, seed=seed,
                            env_kwargs=kwargs)
    import gymnasium as gym

    from crosscountry_gym.envs.sb3 import SB3VecEnv
    from crosscountry_gym.envs.vector_env import CrossCountryVectorEnv

    if isinstance(task, RandomGraphSpec):
        venv = CrossCountryVectorEnv(num_envs, random_spec=task, **kwargs)
    elif single and resolve_graph(task)[0] is not None:
        venv = gym.make_vec(f"CrossCountry/{resolve_graph(task)[0]}-v0", num_envs=num_envs,
                            vectorization_mode="vector_entry_point", **kwargs)
    else:
        venv = CrossCountryVectorEnv(num_envs, graph=source_graphs(task)[0], **kwargs)
    env = SB3VecEnv(venv)
    env.seed(seed)
    return env


class BudgetedPPO(MaskablePPO):
    """MaskablePPO whose policy update can be declined: ``update_gate()``, when set, is asked
    before every update (``train`` skips it and the run stops when it returns False, e.g.
    because the update would not end within the time budget); ``update_s`` is the duration
    of the last update (``None`` before the first)."""

    update_gate: Callable[[], bool] | None = None
    update_s: float | None = None

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "update_gate", "update_s"]  # run state

    def train(self) -> None:
        if self.update_gate is not None and not self.update_gate():
            return
        t = time.perf_counter()
        super().train()
        self.update_s = time.perf_counter() - t


def rollout_length(source: Source) -> int:
    """PPO's ``n_steps``: the most eliminable vertices of any graph of ``source`` (at least 2),
    so that one rollout holds a complete episode of every graph."""
    if isinstance(source, RandomGraphSpec):
        return max(source.max_vertices - source.num_outputs, 2)
    return max(max(g.num_intermediates for g in source_graphs(source)[0]), 2)


def make_model(env: VecEnv, graph: Source, config: PPOConfig, seed: int = 0) -> BudgetedPPO:
    """A MaskablePPO learner (:class:`BudgetedPPO`) with the graph policy (rollout length =
    eliminable vertices, :func:`rollout_length`, of ``graph``: a graph or any source)."""
    n_steps = rollout_length(graph)
    batch = env.num_envs * n_steps
    return BudgetedPPO(
        GraphMaskablePolicy,
        env,
        learning_rate=config.learning_rate,
        n_steps=n_steps,
        batch_size=max(1, batch // config.num_minibatches),
        n_epochs=config.n_epochs,
        gamma=1.0,
        gae_lambda=config.gae_lambda,
        clip_range=config.clip_range,
        ent_coef=config.ent_coef,
        vf_coef=config.vf_coef,
        max_grad_norm=config.max_grad_norm,
        policy_kwargs={
            "features_extractor_kwargs": {"d_model": config.d_model,
                                          "num_layers": config.num_layers,
                                          "num_heads": config.num_heads,
                                          "ff_dim": config.ff_dim},
            "optimizer_kwargs": {"eps": 1e-7},
        },
        seed=seed,
        device="cpu",
        verbose=0,
    )


class _RecorderCallback(BaseCallback):
    """Feeds finished episodes (``info["order"]``, ``info["cost"]``) to the recorder, logs one
    metrics row per rollout, checkpoints (after the first rollout, then every
    ``checkpoint_every_s``), and stops the run when it must stop (a stop signal, or too little
    time left for what is still to come and the final checkpoint;
    :meth:`RunRecorder.should_stop`): mid-rollout, or before the update of a complete rollout
    when that update would not fit (its expected duration: the last update's, or for the
    first one the rollout's own, a safe upper bound)."""

    def __init__(self, rec: RunRecorder, save: Callable[[Path], None],
                 checkpoint_every_s: float,
                 on_log: Callable[[RunRecorder, dict[str, Any]], None] | None,
                 max_rollouts: int | None):
        super().__init__()
        self.rec, self.save, self.every, self.on_log = rec, save, checkpoint_every_s, on_log
        self.max_rollouts = max_rollouts
        self.rollouts = 0
        self._orders: list[tuple[int, ...]] = []
        self._costs: list[int] = []
        self.invalid = 0
        self.out_of_budget = False  # set when a rollout was cut or an update declined: the end
        self.rollout_s = 0.0  # duration of the last complete rollout
        self._rollout_t0 = time.perf_counter()

    def _init_callback(self) -> None:
        self.model.update_gate = self._update_fits

    @property
    def update_s(self) -> float:
        """Expected duration of the next policy update."""
        last = self.model.update_s
        return self.rollout_s if last is None else last

    def _update_fits(self) -> bool:
        if self.rec.should_stop(self.update_s):
            self.out_of_budget = True
        return not self.out_of_budget

    def _on_rollout_start(self) -> None:
        self._rollout_t0 = time.perf_counter()

    def _on_step(self) -> bool:
        infos, dones = self.locals["infos"], self.locals["dones"]
        self.rec.add_env_steps(len(dones))
        for info, done in zip(infos, dones, strict=True):
            bad = bool(info.get("invalid_action", False))
            self.invalid += bad
            if done and not bad:
                self._orders.append(info["order"])
                self._costs.append(info["cost"])
        if self.rec.should_stop(self.model.update_s or 0.0):
            self.out_of_budget = True  # this rollout's update would not fit: end the run
        return not self.out_of_budget

    def flush(self) -> None:
        """Record the episodes of a rollout that was cut short."""
        self.rec.record_episodes(self._orders, self._costs)
        self._orders, self._costs = [], []

    def _on_rollout_end(self) -> None:
        self.rollout_s = time.perf_counter() - self._rollout_t0
        self.rec.record_episodes(self._orders, self._costs)
        vals = self.model.logger.name_to_value
        row = self.rec.log(
            self._costs,
            policy_loss=vals.get("train/policy_gradient_loss"),
            value_loss=vals.get("train/value_loss"),
            entropy=-vals["train/entropy_loss"] if "train/entropy_loss" in vals else None,
        )
        self._orders, self._costs = [], []
        self.rollouts += 1
        if self.on_log is not None:
            self.on_log(self.rec, row)
        if not self.stop_requested():
            self.rec.maybe_checkpoint(self.save, self.every, upcoming_s=self.update_s)

    def stop_requested(self) -> bool:
        return self.max_rollouts is not None and self.rollouts >= self.max_rollouts


def train(
    task: Source,
    *,
    seed: int = 0,
    budget_s: float,
    out_dir: str | Path,
    resume: bool = False,
    config: PPOConfig | None = None,
    cost_model: str = DEFAULT_MODEL,
    max_rollouts: int | None = None,
    checkpoint_every_s: float = 120.0,
    on_log: Callable[[RunRecorder, dict[str, Any]], None] | None = None,
    clock_start: float | None = None,
) -> TrainResult:
    """Train MaskablePPO on ``task`` (a task name, a :class:`Task`, a :class:`Graph`, a list
    of them or a :class:`RandomGraphSpec`: :data:`Source`) for ``budget_s`` seconds of run time
    (or ``max_rollouts`` rollouts); writes the run directory (:class:`RunRecorder`; a run on
    several graphs keeps no best order, its policy is evaluated per task with
    :func:`greedy_order`). ``resume`` continues the checkpoint in ``out_dir`` (``ppo.zip``:
    weights, optimiser, step counter). The envs are the native vector env behind
    :class:`crosscountry_gym.envs.sb3.SB3VecEnv` (:func:`make_env`).

    Checkpoints after the first rollout and every ``checkpoint_every_s``; stops mid-rollout
    when the budget would be overshot. SIGINT / SIGTERM stop the run with a final checkpoint
    and raise :class:`RunInterrupted` (``docs/rl.md``). ``clock_start``: see
    :class:`RunRecorder`.
    """
    config = config or PPOConfig()
    rec = RunRecorder(
        out_dir, task, method="ppo", seed=seed, cost_model=cost_model, budget_s=budget_s,
        extra_fields=("policy_loss", "value_loss", "entropy"),
        config=config.as_dict(), resume=resume, clock_start=clock_start,
    )
    if resume and rec.config != config.as_dict():
        raise ValueError("--resume: the checkpoint was trained with another PPO configuration")
    with rec.catch_signals():
        th.manual_seed(seed)
        env = make_env(task, num_envs=config.num_envs, seed=seed + rec.iteration,
                       cost_model=cost_model)
        if resume:
            model = BudgetedPPO.load(rec.checkpoint_dir / "ppo.zip", env=env, device="cpu")
        else:
            model = make_model(env, task, config, seed)

        def save(d: Path) -> None:
            model.save(d / "ppo.zip")

        from stable_baselines3.common.logger import configure

        model.set_logger(configure(None, []))  # one logger for all learn() calls: losses survive
        cb = _RecorderCallback(rec, save, checkpoint_every_s, on_log, max_rollouts)
        rollout = env.num_envs * model.n_steps
        while not (rec.should_stop() or cb.out_of_budget or cb.stop_requested()):
            # one rollout (+ its update) per call, so that max_rollouts and the budget are exact
            model.learn(total_timesteps=rollout, callback=cb, reset_num_timesteps=False,
                        progress_bar=False)
        cb.flush()
        if cb.invalid:
            raise RuntimeError(f"{cb.invalid} illegal actions were taken despite masking: a bug")
        env.close()
        return rec.finish(save)


def env_steps_per_second(task: Source, config: PPOConfig | None = None, *,
                         rollouts: int = 2, seed: int = 0, backend: str = "native") -> float:
    """PPO training throughput (env steps per second, rollout collection and updates
    included), measured after one warm-up rollout, through ``backend`` (:func:`make_env`)."""
    config = config or PPOConfig()
    env = make_env(task, num_envs=config.num_envs, seed=seed, backend=backend)
    model = make_model(env, task, config, seed)
    rollout = env.num_envs * model.n_steps
    model.learn(total_timesteps=rollout, reset_num_timesteps=False)
    t = time.perf_counter()
    model.learn(total_timesteps=rollouts * rollout, reset_num_timesteps=False)
    dt = time.perf_counter() - t
    env.close()
    return rollouts * rollout / dt


def rollout_steps_per_second(task: Source, config: PPOConfig | None = None, *,
                             rollouts: int = 2, seed: int = 0, backend: str = "native") -> float:
    """Rollout collection alone (policy inference, masks, env steps, SB3's rollout buffer; no
    update): env steps per second over ``rollouts`` rollouts after a warm-up one."""
    from stable_baselines3.common.callbacks import CallbackList

    config = config or PPOConfig()
    env = make_env(task, num_envs=config.num_envs, seed=seed, backend=backend)
    model = make_model(env, task, config, seed)
    model._setup_learn(total_timesteps=(rollouts + 1) * env.num_envs * model.n_steps)
    cb = CallbackList([])
    cb.init_callback(model)
    model.collect_rollouts(env, cb, model.rollout_buffer, n_rollout_steps=model.n_steps)
    t = time.perf_counter()
    for _ in range(rollouts):
        model.collect_rollouts(env, cb, model.rollout_buffer, n_rollout_steps=model.n_steps)
    dt = time.perf_counter() - t
    env.close()
    return rollouts * env.num_envs * model.n_steps / dt


# --------------------------------------------------------------------------------------------
# portable policies: load on any graph, play the greedy order


def load_policy(path: str | Path, observation_space: spaces.Dict) -> GraphMaskablePolicy:
    """The policy of a PPO checkpoint (``ppo.zip``, or a run directory holding
    ``checkpoint/ppo.zip``), rebuilt for ``observation_space`` (the observation space of the
    env it is to play: any graph, any padding) with the trained weights, on the CPU, in
    evaluation mode. No weight depends on the graph's size (``docs/rl.md``, *Portable
    policies*), so a policy trained on one graph, a list or a random family loads on any
    other; SB3's own ``MaskablePPO.load`` would refuse another observation space."""
    from stable_baselines3.common.save_util import load_from_zip_file

    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint" / "ppo.zip" if (path / "checkpoint").is_dir() else path / "ppo.zip"
    if not path.is_file():
        raise FileNotFoundError(f"no PPO checkpoint at {path}")
    n = observation_space["vertex_mask"].shape[0]
    action_space = spaces.Discrete(n)
    data, params, _ = load_from_zip_file(
        path, device="cpu",
        custom_objects={"observation_space": observation_space, "action_space": action_space,
                        "lr_schedule": lambda _: 0.0, "learning_rate": 0.0},
    )
    if data is None or "policy_kwargs" not in data or "policy" not in params:
        raise ValueError(f"{path} is not a PPO checkpoint of this package")
    policy = GraphMaskablePolicy(observation_space, action_space, lambda _: 0.0,
                                 **data["policy_kwargs"])
    policy.load_state_dict(params["policy"])
    policy.set_training_mode(False)
    return policy


def greedy_order(policy: GraphMaskablePolicy, graph: str | Task | Graph,
                 cost_model: str = DEFAULT_MODEL) -> tuple[list[int], int]:
    """``(order, cost)``: the policy's deterministic (arg-max over legal vertices) elimination
    order on ``graph``, played in :class:`crosscountry_gym.envs.gym_env.CrossCountryEnv`, and
    its cost re-computed with :func:`crosscountry_gym.cost`. ``policy`` must have been built for
    that env's observation space (:func:`load_policy` with :func:`observation_space_of`)."""
    from crosscountry_gym.engine import cost as reference_cost
    from crosscountry_gym.engine import validate_order
    from crosscountry_gym.envs.gym_env import CrossCountryEnv

    _, g = resolve_graph(graph)
    env = CrossCountryEnv(g, cost_model=cost_model, invalid_action="raise")
    obs, info = env.reset(seed=0)
    done = False
    with th.no_grad():
        while not done:
            action, _ = policy.predict(obs, action_masks=env.action_masks(), deterministic=True)
            obs, _, terminated, truncated, info = env.step(int(action))
            done = terminated or truncated
    order = [int(v) for v in info["order"]]
    env.close()
    validate_order(g, order)
    return order, int(reference_cost(g, order, cost_model))


def observation_space_of(graph: str | Task | Graph) -> spaces.Dict:
    """The observation space of ``CrossCountryEnv(graph)`` (its own sizes, dense mode)."""
    from crosscountry_gym.envs.types import observation_space

    _, g = resolve_graph(graph)
    return observation_space(g.num_inputs, g.num_vertices)
