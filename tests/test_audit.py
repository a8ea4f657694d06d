"""The data audit (`python -m rmlite audit DIR`): it meets its targets on fresh data and it catches each known exploit.

Each red-team test rebuilds a known fault (the old counting1 distractors, a duplicated pair, a map in two splits,
a near-identical colour pair, a label sitting on a neighbour's mark) and checks the audit reports it, so no check
here passes by construction. The gate tests corrupt a fresh set in each way issue 23 names (flipped keys, invalid
planning routes, torf2 naming stations not on the map, torf2 all "yes", a counting1 letter readable from the text,
a train/test leak, duplicates, the torf1 interchange shortcut) and check that the audit fails, naming the cause,
while the clean set does not name it.
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
    audit_rows,
    choices_only_accuracy,
    duplicate_questions,
    split_overlap,
)
from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.questions import QuestionConfig, generate_questions
from rmlite.data.store import load_questions
from rmlite.maps.generate import GeneratorConfig, generate_network
from rmlite.maps.labels import min_label_margin, misplaced_labels
from rmlite.schema import DATA_SCHEMA

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
    assert report.failures() == [], "a fresh set passes the gate"
    assert report.recheck.checked.total() == sum(len(load_questions(ds, s)) for s in ("train", "test"))


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
            hidden = misplaced_labels(plan.label_boxes, plan.station_xy, min_label_margin(rec["width"]))
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
    rows = ([{"type": "counting2", "answer": "1"}] * 6 + [{"type": "counting2", "answer": "2"}] * 4) * 100
    bal = answer_balance(rows)
    assert bal["counting2"]["majority"] == "1" and bal["counting2"]["majority_share"] == 0.6
    g = GroupStats("hard", 512, maps=5, stations=100, misplaced=2, questions=50, naming_unreadable=1, min_delta_e=5.3,
                   labels=90, over_mark=3, order_pairs=40, order_flips=2, lines=40, hairpins=1)
    g.line_counts[8] = 5
    report = AuditReport([g], {"smallest": 0.44}, 1000, bal, 1, 1, 0)
    fails = "\n".join(report.failures())
    for needle in ("misplaced labels 2.00%", "1 question(s) name", "5.3 CIEDE2000", "every hard map has 8 lines",
                   "choices-only accuracy 44.0%", "counting2 majority answer 60.0%", "1 duplicate",
                   "1 map(s)", "labels over a station mark 3.33%", "neighbour labels in swapped order 5.00%",
                   "hairpin lines 2.50%"):
        assert needle in fails, needle
    few = AuditReport([g], {"smallest": 0.44}, 9, answer_balance(rows[:10]), 0, 0, 0).failures()
    assert not any("choices-only" in f or "counting2 majority" in f for f in few), "9 or 10 questions: noise"


def test_audit_command(audited, capsys, tmp_path):
    ds, report, _ = audited
    code = main(["audit", str(ds), "--picture", str(tmp_path / "w.png"), "--report"])
    out = capsys.readouterr().out
    assert code == 0, "--report never fails"
    assert "| easy | 512 | 3 |" in out and "counting1 choices-only accuracy" in out and "duplicate questions: 0" in out
    assert "| over a mark | swapped neighbours | hairpin lines |" in out
    assert "recomputed by networkx" in out and "| torf1 | map cue: interchanges among the stops |" in out
    assert (tmp_path / "w.png").is_file()
    assert main(["audit", str(ds), "--picture", str(tmp_path / "w.png")]) == (1 if report.failures() else 0)
    assert main(["audit", str(tmp_path / "nowhere")]) == 2


def test_audit_command_fails_on_a_corrupted_set(corpus, capsys, tmp_path):
    """The gate is the default: flipped keys make `rmlite audit DIR` exit 1 and say why; --report exits 0."""
    from rmlite.data.store import save_dataset

    maps, rows = corpus
    bad = {s: [_flip(r) if i % 3 == 0 and r["type"] == "torf1" else r for i, r in enumerate(rs)]
           for s, rs in rows.items()}
    save_dataset(tmp_path / "bad", [{**m, "image": {"bytes": _png(), "path": None}} for m in maps], bad,
                 {"counts": {s: {} for s in bad}, "complete": True, "data_schema": DATA_SCHEMA})
    assert main(["audit", str(tmp_path / "bad"), "--picture", str(tmp_path / "w.png")]) == 1
    out = capsys.readouterr().out
    assert "torf1: wrong key" in out and "audit failed" in out
    assert main(["audit", str(tmp_path / "bad"), "--picture", str(tmp_path / "w.png"), "--report"]) == 0


# ----- the gate: a fresh set corrupted in each way issue 23 names ---------------------------------------------------
@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A fresh set of 18 maps in memory: (maps table rows without pictures, questions by split)."""
    from rmlite.data.store import load_maps, load_questions

    root = tmp_path_factory.mktemp("gate")
    ds = generate_dataset(root / "ds", DatasetConfig(n_maps=18, seed=44, size=512, test_fraction=0.3), workers=1,
                          progress=False)
    return load_maps(ds).remove_columns(["image"]).to_list(), {s: load_questions(ds, s).to_list()
                                                               for s in ("train", "test")}


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (512, 512), "white").save(buf, format="PNG")
    return buf.getvalue()


def _flip(r: dict) -> dict:
    """The row with a wrong key of its kind (a route question gets another question's key text)."""
    other = {"yes": "no", "no": "yes", "A": "B", "B": "C", "C": "D", "D": "A"}
    if r["type"] == "planning":
        return {**r, "answer": r["answer"].replace("Departure Stop: ", "Departure Stop: x", 1)}
    return {**r, "answer": other.get(r["answer"], str(int(r["answer"]) + 1) if r["answer"].isdigit() else "0")}


def _drop_a_via(r: dict) -> dict:
    """A planning row whose first reference route skips a stop (or, with no via stop, rides to a wrong stop)."""
    routes = json.loads(r["routes"])
    sec = routes[0][0]
    if sec["via_stops"]:
        sec["via_stops"], sec["num_via_stops"] = sec["via_stops"][1:], sec["num_via_stops"] - 1
    else:
        sec["arrival_stop"] = sec["departure_stop"]
    return {**r, "routes": json.dumps(routes)}


def _leaky_text(r: dict, i: int) -> dict:
    """counting1 text whose wording says the key's letter (on 4 rows of 5): one synonym per letter."""
    words = ("intermediate stops", "stations in between", "stops in between", "intermediate stations")
    if r["type"] != "counting1" or i % 5 == 4:
        return r
    return {**r, "question": r["question"].replace("intermediate stops", words["ABCD".index(r["answer"])], 1)}


def _interchange_rule(rows: list[dict], maps: list[dict]) -> list[dict]:
    """Keep only the torf1 rows on which "yes if a named stop is an interchange" is right (keys stay correct)."""
    lines_at = {}
    for m in maps:
        md = json.loads(m["metro_data"])
        lines_at[m["map_id"]] = {s: sum(s in st for st in md.values()) for st in md.values() for s in st}
    def rule(r):
        return any(lines_at[r["map_id"]][s] > 1 for s in (r["station1"], r["station2"]))
    return [r for r in rows if r["type"] != "torf1" or rule(r) == (r["answer"] == "yes")]


def _not_on_map(r: dict) -> dict:
    if r["type"] != "torf2":
        return r
    return {**r, "station1": "Nowhere Park", "question": r["question"].replace(r["station1"], "Nowhere Park")}


def _yes(r: dict) -> dict:
    """torf2 always "yes" (the stations swapped for ones that are on the named line, so every key stays right)."""
    if r["type"] != "torf2" or r["answer"] == "yes":
        return r
    on = json.loads(r["metro_data"])[r["line"]][0]
    return {**r, "station1": on, "answer": "yes", "question": r["question"].replace(r["station1"], on)}


def _corrupt(rows: dict, maps: list, how: str) -> dict:
    train, test = list(rows["train"]), list(rows["test"])
    if how == "leak":
        moved = train[0]["map_id"]
        test += [{**r, "id": r["id"] + "-again"} for r in train if r["map_id"] == moved]
    elif how == "duplicates":
        train += [{**r, "id": r["id"] + "-again"} for r in train[:5]]
    elif how == "interchange":
        train, test = _interchange_rule(train, maps), _interchange_rule(test, maps)
    else:
        edit = {"flipped": lambda r, i: _flip(r) if i % 10 < 3 else r,
                "routes": lambda r, i: _drop_a_via(r) if r["type"] == "planning" and i % 2 else r,
                "not_on_map": lambda r, i: _not_on_map(r), "all_yes": lambda r, i: _yes(r),
                "text_leak": _leaky_text}[how]
        train, test = [edit(r, i) for i, r in enumerate(train)], [edit(r, i) for i, r in enumerate(test)]
    return {"train": train, "test": test}


@pytest.mark.parametrize(("how", "cause"), [
    ("flipped", "wrong key"),
    ("routes", "planning: a reference route is not a ride"),
    ("not_on_map", "torf2: names a station or line not on the map"),
    ("all_yes", "torf2: balance: majority answer 100.0%"),
    ("text_leak", "counting1: question text only"),
    ("leak", "map(s), 1 network(s) in two splits"),
    ("duplicates", "5 duplicate question(s)"),
    ("interchange", "torf1: map cue: interchanges among the stops"),
])
def test_the_gate_fails_on_each_corruption_and_names_it(corpus, how, cause):
    maps, rows = corpus
    clean = "\n".join(audit_rows(maps, rows).failures())
    assert cause not in clean, f"the clean set already has {cause!r}: the corruption would prove nothing"
    bad = "\n".join(audit_rows(maps, _corrupt(rows, maps, how)).failures())
    assert cause in bad, bad
    if how == "flipped":
        for typ in ("counting1", "counting2", "counting3", "torf1", "torf2", "planning"):
            assert f"{typ}: wrong key" in bad, typ


def test_the_second_path_shares_no_code_with_the_generator():
    """recheck reads the stored metro data with networkx; it never imports the generator's key or routing code."""
    import ast
    from pathlib import Path

    import rmlite.data.recheck as recheck

    tree = ast.parse(Path(recheck.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | \
        {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and m.startswith("rmlite")}, imported
