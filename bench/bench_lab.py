"""Reward-lab throughput: simulated rollouts generated, scored and measured per second (one core).

Questions come from `rmlite.data.questions.generate_questions` on synthetic maps (no images), copied under new ids until
there are enough for `--rollouts` rollouts in groups of 8. Each timed pass is the whole lab for one reward and one
error rate: simulate → score every rollout → tidy rows (advantages under the three scalings, Spearman, …).
The issue's target: 100,000 scored rollouts in under 10 s.

    python bench/bench_lab.py [--rollouts 100000] [--maps 40]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rmlite.data.questions import generate_questions  # noqa: E402
from rmlite.lab.rollouts import Policy, simulate  # noqa: E402
from rmlite.lab.stats import measure, score_rollouts
from rmlite.maps.generate import GeneratorConfig, generate_network  # noqa: E402

GROUP = 8


def questions(n_maps: int, n_questions: int) -> list[dict]:
    base = []
    for i in range(n_maps):
        net = generate_network(GeneratorConfig(difficulty=("easy", "middle", "hard")[i % 3], size=512), i)
        base += generate_questions(net, map_id=f"m{i}", seed=i)
    return [{**base[k % len(base)], "id": f"{base[k % len(base)]['id']}-copy{k // len(base)}"}
            for k in range(n_questions)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rollouts", type=int, default=100_000)
    ap.add_argument("--maps", type=int, default=40)
    a = ap.parse_args()
    qs = questions(a.maps, a.rollouts // GROUP)
    print(f"{len(qs)} questions × G={GROUP} = {len(qs) * GROUP} rollouts per pass ({a.maps} distinct maps)")
    for reward in ("sparse", "paper", "official"):
        for e in (0.2, 0.5, 0.8):
            t0 = time.perf_counter()
            r = simulate(qs, Policy(e), GROUP, seed=0)
            t1 = time.perf_counter()
            vals = score_rollouts(r, reward)
            t2 = time.perf_counter()
            rows = measure(r, vals, reward, e)
            t3 = time.perf_counter()
            plan = next(x for x in rows if x["type"] == "planning" and x["difficulty"] == "all")
            print(f"{reward:9s} e={e:.1f}  total {t3 - t0:5.2f} s = {len(r) / (t3 - t0):9,.0f} rollouts/s  "
                  f"(simulate {t1 - t0:4.2f}, score {t2 - t1:4.2f}, measure {t3 - t2:4.2f})  "
                  f"planning zero-spread {plan['frac_reward_zero_std']:.3f}")


if __name__ == "__main__":
    main()
