#!/usr/bin/env bash
# GPU check of the AlphaZero agent (< 5 minutes). Writes everything to $OUT.
#   OUT=/tmp/gpu_out bash benchmarks/gpu_check.sh
# Needs a Python with jax (CUDA build), mctx, equinox, optax and this package importable
# (PYTHONPATH is set to the checkout). Reports, instead of failing, when any is missing.
set -u
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
cd "$(dirname "$0")/.."
PY=${PY:-}
for cand in .venv/bin/python python3 python; do
  [ -n "$PY" ] && break
  command -v "$cand" >/dev/null 2>&1 && "$cand" -c "import jax, mctx, equinox, optax" 2>/dev/null && PY=$cand
done
{
  echo "date: $(date -u)"; nvidia-smi --query-gpu=name,memory.total --format=csv 2>&1 | head -3
  echo "python: ${PY:-none with jax+mctx+equinox+optax}"
} | tee "$OUT/env.txt"
[ -z "$PY" ] && { echo "no suitable python; nothing run" | tee -a "$OUT/env.txt"; exit 0; }
# the install maps crosscountry_gym.tasks -> tasks/ and .baselines -> baselines/; without an
# install, build that layout from symlinks so the checkout imports as is
if ! "$PY" -c "import crosscountry_gym.baselines.rl" 2>/dev/null; then
  PKG=$(mktemp -d)/pkg; mkdir -p "$PKG/crosscountry_gym"
  ln -s "$PWD"/crosscountry_gym/* "$PKG/crosscountry_gym/"
  ln -s "$PWD/tasks" "$PKG/crosscountry_gym/tasks"; ln -s "$PWD/baselines" "$PKG/crosscountry_gym/baselines"
  export PYTHONPATH="$PKG:${PYTHONPATH:-}"
fi
cat > "$OUT/run_gpu.py" <<'PYEOF'
import json, sys, time
import jax
from crosscountry_gym import tasks
from crosscountry_gym.baselines.rl import alphazero as az
out = {"devices": [str(d) for d in jax.devices()], "backend": jax.default_backend()}
print(out, flush=True)
g = tasks.load("RoeFlux_1d").graph
for envs in (16, 128):
    cfg = az.AZConfig(num_envs=envs, num_simulations=50, batch_size=1024)
    t = time.perf_counter()
    out[f"roeflux_1d_moves_per_s_envs{envs}"] = az.moves_per_second(g, cfg, repeats=1)
    out[f"roeflux_1d_envs{envs}_total_s"] = time.perf_counter() - t
    print(out, flush=True)
r = az.train("PropaneCombustion", seed=0, budget_s=90, out_dir=sys.argv[1] + "/az_propane",
             config=az.AZConfig(num_envs=128, batch_size=1024))
out["propane_90s"] = {k: v for k, v in r.as_dict().items() if k != "best_order"}
json.dump(out, open(sys.argv[1] + "/gpu_results.json", "w"), indent=1)
print(json.dumps(out, indent=1))
PYEOF
timeout 280 "$PY" "$OUT/run_gpu.py" "$OUT" 2>&1 | tail -40 | tee "$OUT/log.txt"
echo "exit: ${PIPESTATUS[0]}" | tee -a "$OUT/log.txt"
