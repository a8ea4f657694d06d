"""The data audit (`python -m rmlite audit DIR`): it meets its targets on fresh data and it catches each known exploit.

Each red-team test rebuilds a known fault (the old counting1 distractors, a duplicated pair, a map in two splits,
a near-identical colour pair, a label sitting on a neighbour's mark) and checks the audit reports it, so no check
here passes by construction.
"""

from __future__ import annotations

import json
import random

import pytest
from fixtures import oracle

from rmlite.cli import main
from rmlite.data.audit import (
    TARGETS,
    AuditReport,
    GroupStats,
    answer_balance,
    audit_dataset,
    choices_only_accuracy,
    duplicate_questions,
    split_overlap,
)
from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.questions import QuestionConfig, generate_questions
from rmlite.maps.generate import GeneratorConfig, generate_network
from rmlite.maps.labels import misplaced_labels

CFG = DatasetConfig(n_maps=9, seed=41, size=512, test_fraction=0.3, real_maps=("oslo",))


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    root = tmp_path_factory.mktemp("audit")
    ds = generate_dataset(root / "ds", CFG, workers=1, progress=False)
    return ds, audit_dataset(ds, picture=root / "worst.png"), root / "worst.png"


def test_audit_on_fresh_data_meets_the_label_colour_and_split_targets(audited):
    ds, report, picture = audited
    assert [(g.difficulty, g.size, g.maps) for g in report.groups] == [("easy", 512, 3), ("middle", 512, 3),
                                                                       ("hard", 512, 3)]
    for g in report.groups:
        assert g.misplaced == 0 and g.naming_unreadable == 0
        assert g.labels > 0 and g.over_mark == 0 and g.order_flips == 0 and g.hairpins == 0 and g.lines > 0
        assert g.min_delta_e >= TARGETS["min_delta_e"]
        assert g.stations > 0 and g.questions > 0
    assert report.duplicates == 0 and report.maps_in_two_splits == 0 and report.networks_in_two_splits == 0
    assert picture.is_file() and picture.stat().st_size > 0
    assert report.worst and all(m > 0 for m, _, _ in report.worst), "closest calls are still on their own mark"


def test_stored_questions_never_name_an_unreadable_station(audited):
    from rmlite.data.store import load_maps, load_questions
    from rmlite.maps.layout import cached_plan
    from rmlite.maps.network import Network

    ds, _, _ = audited
    maps = {r["map_id"]: r for r in load_maps(ds).remove_columns(["image"]).to_list()}
    for split in ("train", "test"):
        for q in load_questions(ds, split).to_list():
            oracle.check_sample(q)
            rec = maps[q["map_id"]]
            if rec["source"] != "synthetic":
                continue
            net = Network.from_dict(json.loads(rec["network"]))
            plan = cached_plan(net, rec["width"], False, None)
            hidden = misplaced_labels(plan.label_boxes, plan.station_xy)
            assert q["station1"] not in hidden and q["station2"] not in hidden


def test_counting1_options_alone_do_not_beat_chance():
    rows = []
    for i in range(150):
        net = generate_network(GeneratorConfig(("easy", "middle", "hard")[i % 3], size=512), 9000 + i)
        rows += generate_questions(net, map_id=f"m{i}", seed=i, config=QuestionConfig(per_map={"counting1": 4}))
    acc = choices_only_accuracy(rows)
    assert len(rows) >= 500
    assert max(acc.values()) <= 0.30, acc
    assert all(abs(v - 0.25) <= 0.02 for k, v in acc.items() if k != "generator_model"), acc


def _old_distractors(rng: random.Random, truth: int, pos: int) -> list[int]:
    """The released-before-issue-11 scheme: `pos` values below within 2·pos, the rest above, unsorted fallback."""
    below_pool = list(range(max(0, truth - 2 * pos), truth))
    if len(below_pool) >= pos:
        below = sorted(rng.sample(below_pool, pos))
        above = sorted(rng.sample(range(truth + 1, truth + 1 + 2 * (3 - pos)), 3 - pos))
        return below + [truth] + above
    near = sorted(v for v in range(max(0, truth - 4), truth + 5) if v != truth)
    near.sort(key=lambda v: (abs(v - truth), rng.random()))
    others = sorted(near[:3])
    return others[:pos] + [truth] + others[pos:]


def test_red_team_the_old_distractors_are_caught():
    rng = random.Random(0)
    rows = []
    for k in range(2000):
        truth, pos = rng.choice([0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 8, 10]), k % 4
        rows.append({"choices": _old_distractors(rng, truth, pos), "answer": "ABCD"[pos]})
    acc = choices_only_accuracy(rows)
    assert max(acc.values()) > 0.40, acc


def test_duplicates_and_split_leaks_are_caught():
    row = {"map_id": "m", "type": "counting1", "question": "q1", "station1": "A", "station2": "B",
           "metro_data": "{}", "answer": "A"}
    flipped = {**row, "question": "q2", "station1": "B", "station2": "A"}
    assert duplicate_questions([row, dict(row)]) == 1
    assert duplicate_questions([row, flipped]) == 1, "the same counting1 pair, asked the other way round"
    assert duplicate_questions([row, {**row, "question": "q3", "station2": "C"}]) == 0
    assert split_overlap({"train": [row], "test": [dict(row)]}) == (1, 1)
    assert split_overlap({"train": [row], "test": [{**row, "map_id": "n"}]}) == (0, 1), "same network, new id"


def test_answer_balance_and_failures():
    rows = [{"type": "counting2", "answer": "1"}] * 6 + [{"type": "counting2", "answer": "2"}] * 4
    bal = answer_balance(rows)
    assert bal["counting2"]["majority"] == "1" and bal["counting2"]["majority_share"] == 0.6
    g = GroupStats("hard", 512, maps=5, stations=100, misplaced=2, questions=50, naming_unreadable=1, min_delta_e=5.3,
                   labels=90, over_mark=3, order_pairs=40, order_flips=2, lines=40, hairpins=1)
    g.line_counts[8] = 5
    report = AuditReport([g], {"smallest": 0.44}, 10, bal, 1, 1, 0)
    fails = "\n".join(report.failures())
    for needle in ("misplaced labels 2.00%", "1 question(s) name", "5.3 CIEDE2000", "every hard map has 8 lines",
                   "choices-only accuracy 44.0%", "counting2 majority answer 60.0%", "1 duplicate",
                   "1 map(s)", "labels over a station mark 3.33%", "neighbour labels in swapped order 5.00%",
                   "hairpin lines 2.50%"):
        assert needle in fails, needle


def test_audit_command(audited, capsys, tmp_path):
    ds, _, _ = audited
    assert main(["audit", str(ds), "--picture", str(tmp_path / "w.png")]) == 0
    out = capsys.readouterr().out
    assert "| easy | 512 | 3 |" in out and "counting1 choices-only accuracy" in out and "duplicate questions: 0" in out
    assert "| over a mark | swapped neighbours | hairpin lines |" in out
    assert (tmp_path / "w.png").is_file()
    assert main(["audit", str(tmp_path / "nowhere")]) == 2
