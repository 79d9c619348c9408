"""AlphaZero hyper-parameters (baselines/rl/alphazero/config.py): validation, dict, hashing."""

from __future__ import annotations

import pytest

pytest.importorskip("mctx")
pytest.importorskip("equinox")

from crosscountry_gym.baselines.rl.alphazero import AZConfig  # noqa: E402
from crosscountry_gym.baselines.rl.alphazero.config import VALUE_TRANSFORMS  # noqa: E402


def test_config_errors():
    with pytest.raises(ValueError, match="num_envs"):
        AZConfig(num_envs=0)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        AZConfig(batch_size=True)
    with pytest.raises(ValueError, match="multiple of num_heads"):
        AZConfig(d_model=30, num_heads=4)
    with pytest.raises(ValueError, match="value_transform"):
        AZConfig(value_transform="log")
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        AZConfig(learning_rate=0.0)


def test_config_is_a_hashable_record():
    cfg = AZConfig(num_envs=4)
    assert cfg.as_dict()["num_envs"] == 4 and AZConfig(**cfg.as_dict()) == cfg
    assert hash(cfg) == hash(AZConfig(num_envs=4))  # the compiled-iteration cache key
    assert AZConfig().value_transform in VALUE_TRANSFORMS
