"""Assemble BENCHMARKS.md from the hand-written summary and each part's results file.

    python scripts/build_benchmarks_md.py

Each benchmark script writes its own ``benchmarks/results/<part>.md`` (with the command that
produced it); this script only concatenates them, demoting their headings one level.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PARTS = [
    "engine", "core_env", "trace", "executor", "executor_tasks", "executor_everyday",
    "sif2jax_survey", "sif2jax_survey_constrained", "search", "rl", "leaderboard", "tasks",
]


def main() -> None:
    out = [(RESULTS / "summary.md").read_text().rstrip() + "\n"]
    for part in PARTS:
        path = RESULTS / f"{part}.md"
        if not path.exists():
            continue
        text = path.read_text()
        text = re.sub(r"^(#+) ", lambda m: "#" + m.group(1) + " ", text, flags=re.M)
        # links inside a results file are relative to benchmarks/results/
        text = re.sub(r"\]\((?!https?:|#|/)([^)]+)\)", r"](benchmarks/results/\1)", text)
        out.append(f"\n<!-- from benchmarks/results/{part}.md -->\n" + text.rstrip() + "\n")
    gpu = RESULTS / "gpu" / "README.md"
    if gpu.exists():
        text = re.sub(r"^(#+) ", lambda m: "#" + m.group(1) + " ", gpu.read_text(), flags=re.M)
        out.append("\n<!-- from benchmarks/results/gpu/README.md -->\n" + text.rstrip() + "\n")
    (ROOT / "BENCHMARKS.md").write_text("\n".join(out))
    print(f"wrote {ROOT / 'BENCHMARKS.md'}")


if __name__ == "__main__":
    main()
