"""The audit's planning-mix check: does each map difficulty's planning questions hold the mix of 0, 1 and 2+
transfers the data set asked for (`QuestionConfig.planning_mix`, read from the manifest), within 3 points?

Counted from the stored questions (`question_transfer_count`, which `rmlite.data.recheck` verifies against the
routes), per (map difficulty, image size) over synthetic maps, and over all of them per size. A share misses when it
is more than `TOLERANCE` off its target by more than two standard errors, in a group of at least `MIN_MAPS` maps,
so that a small set is not failed by chance. The standard error is the larger of the binomial one at the asked share
and the one measured over maps (one map's questions share its lines: a two-line map has no 2-transfer route at all,
so maps, not questions, are the draws).

>>> rows = [{"type": "planning", "map_id": f"m{i // 4}", "difficulty_city": "easy", "source": "synthetic",
...          "question_transfer_count": t} for i, t in enumerate([0, 0, 1, 2] * 50)]  # 50 maps alike
>>> check = check_planning_mix(rows, {f"m{i}": 512 for i in range(50)}, (0.5, 0.35, 0.15))
>>> [f.split(" for ")[0] for f in check.failures()]
['easy/512: planning mix 50.0% / 25.0% / 25.0%', 'all/512: planning mix 50.0% / 25.0% / 25.0%']
>>> check.failures()[0].endswith("(off by more than 3 points beyond noise: 1 transfer, 2+ transfers)")
True
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from rmlite.stats import binomial_se, cluster_share_se

TOLERANCE = 0.03  # issue 23: the planning mix per difficulty within 3 points
# Groups of fewer maps are reported, not judged: a map asks all-or-nothing of some kinds (a two-line map no
# 2-transfer route, a small hard map whose hubs are unreadable only direct ones), so two or three maps can agree by
# chance and no standard error measured on them says so.
MIN_MAPS = 30
KINDS = ("0 transfers", "1 transfer", "2+ transfers")


@dataclass
class MixGroup:
    """One (difficulty, size) group: per map, its planning questions' counts by transfers (0, 1, 2+)."""

    counts: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))

    def shares(self) -> tuple[list[float], list[float]]:
        """(share of each kind, its standard error over maps: the ratio estimator's, clustered by map)."""
        per_kind = [cluster_share_se([(c[k], sum(c)) for c in self.counts.values()]) for k in range(3)]
        return [share for share, _ in per_kind], [se for _, se in per_kind]


@dataclass
class MixCheck:
    """What `check_planning_mix` found: shares per group (rows "difficulty/size" and "all/size") and misses."""

    mix: tuple[float, ...]
    table: dict = field(default_factory=dict)  # "easy/512" → (shares, standard errors, questions)
    missed: list[str] = field(default_factory=list)

    def failures(self) -> list[str]:
        return self.missed

    def lines(self) -> list[str]:
        asked = " / ".join(f"{w:.0%}" for w in self.mix)
        return [f"planning mix, 0 / 1 / 2+ transfers (asked {asked}): " + "; ".join(
            f"{k} " + " / ".join(f"{s:.1%}" for s in v[0]) + f" (n {v[2]})" for k, v in self.table.items())]


def check_planning_mix(rows, widths: dict, mix) -> MixCheck:
    """The planning mix of the synthetic maps' questions in `rows` (maps' image sizes in `widths`, map_id → px)."""
    total = sum(mix)
    want = [w / total for w in mix]
    groups: dict[str, MixGroup] = defaultdict(MixGroup)
    for r in rows:
        if r["type"] != "planning" or r["source"] != "synthetic" or r["map_id"] not in widths:
            continue
        k = min(int(r["question_transfer_count"]), 2)
        size = widths[r["map_id"]]
        for key in (f"{r['difficulty_city']}/{size}", f"all/{size}"):
            groups[key].counts[r["map_id"]][k] += 1
    order = {"easy": 0, "middle": 1, "hard": 2, "all": 3}
    out = MixCheck(tuple(want))
    for key in sorted(groups, key=lambda g: (int(g.split("/")[1]), order.get(g.split("/")[0], 4))):
        shares, ses = groups[key].shares()
        n = sum(sum(c) for c in groups[key].counts.values())
        out.table[key] = (shares, ses, n)
        ses = [max(se, binomial_se(w, n)) for se, w in zip(ses, want, strict=True)]
        off = [abs(s - w) - TOLERANCE > 2 * se for s, w, se in zip(shares, want, ses, strict=True)]
        if any(off) and len(groups[key].counts) >= MIN_MAPS:
            got = " / ".join(f"{v:.1%}" for v in shares)
            out.missed.append(f"{key}: planning mix {got} for 0 / 1 / 2+ transfers, asked "
                              + " / ".join(f"{w:.0%}" for w in want) + " (off by more than 3 points beyond noise: "
                              + ", ".join(KINDS[k] for k in range(3) if off[k]) + ")")
    return out
