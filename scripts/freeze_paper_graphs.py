"""Regenerate ``tasks/data/*.json`` (the frozen benchmark graphs) from the paper's reference
data, kept in the repository as ``tests/data/paper_reference.json`` (``docs/tasks.md`` section 7).
Run once; the output is committed package data.

    python scripts/freeze_paper_graphs.py [tests/data/paper_reference.json]
"""

import json
import sys
from pathlib import Path

from crosscountry_gym.graph import Graph

NAMES = {  # package task name -> name in paper_reference.json
    "RoeFlux_1d": "RoeFlux_1d",
    "RoeFlux_3d": "RoeFlux_3d",
    "RobotArm_6DOF": "RobotArm_6DOF",
    "HumanHeartDipole": "HumanHeartDipole",
    "PropaneCombustion": "PropaneCombustion",
    "BlackScholes_Jacobian": "BlackScholes_Jacobian",
    "MLP": "Perceptron",
    "Transformer": "Encoder",
    "RandomFunction_f": "f",
    "RandomFunction_g": "g",
}
PAPER_KEYS = [
    "name_in_code", "eval_folder", "input_shapes", "fwd", "rev", "markowitz", "markowitz_order",
    "best_known_cost", "best_known_order", "best_known_source", "min_of_fwd_rev_markowitz",
    "improvement_vs_min_baseline_percent", "seed_document_value",
]


def main(src: str) -> None:
    ref = json.loads(Path(src).read_text())
    out_dir = Path(__file__).resolve().parents[1] / "tasks" / "data"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, key in NAMES.items():
        t = ref["tasks"][key]
        g = Graph.from_records(
            t["num_inputs"], t["num_vertices_total"], t["graph_edges"], t["output_vertex_ids"], name=name
        )
        assert len(g.edges) == t["num_edges"] and g.num_intermediates == t["num_intermediates"]
        d = {"graph": g.to_dict(), "paper": {k: t[k] for k in PAPER_KEYS if k in t}}
        d["paper"]["paper_name"] = key
        d["paper"]["fingerprint"] = g.fingerprint
        text = json.dumps(d, indent=1)
        (out_dir / f"{name}.json").write_text(text + "\n")
        print(f"{name}: {g.summary()} -> {out_dir / (name + '.json')}")


if __name__ == "__main__":
    default = Path(__file__).resolve().parents[1] / "tests" / "data" / "paper_reference.json"
    main(sys.argv[1] if len(sys.argv) > 1 else str(default))
