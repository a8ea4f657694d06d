"""ReasonMap metrics: strict accuracy, Algorithm 2 map scores, weights and summaries."""

import pytest
from fixtures.reward import perception_sample, planning_sample, reference

from rmlite.reward import metrics

ONE = planning_sample("oslo", "Lillevann Station", "Åsjordet Station")  # 2 sections, middle map, 1 transfer
DIRECT = planning_sample("oslo", "Majorstuen Station", "Besserud Station", difficulty="easy")


def test_reasonmap_clean_is_reasonmaps():
    assert metrics.reasonmap_clean("Tøyen Station (Transfer Station)") == "tøyenstation"  # keeps "Station"
    assert metrics.reasonmap_clean("Carl Berners plass, Metro*") == "carlbernersplass"
    assert metrics.reasonmap_clean("(" * 10_000) == "(" * 10_000  # linear on junk
    # a bracketed part of any length goes, as released (rmlite once kept parts over 200 characters)
    assert metrics.reasonmap_clean("Rive (" + "a note " * 50 + ") Station") == "rivestation"


def test_reasonmap_clean_drops_brackets_as_the_released_pattern_does():
    """The linear bracket removal equals ReasonMap's pattern on every short string of brackets and letters, and takes
    linear time where that pattern is quadratic (a long run of "(" with no ")" after it)."""
    import itertools
    import re
    import time

    released = re.compile(r"[\(\（][^\)\）]*[\)\）]")
    for n in range(7):
        for t in map("".join, itertools.product("a(（)）", repeat=n)):
            assert metrics.reasonmap_clean(t) == released.sub("", t).lower(), t
    junk = "(x" * 100_000 + ")" + "(" * 200_000
    start = time.process_time()
    assert metrics.reasonmap_clean(junk) == "(" * 200_000
    assert time.process_time() - start < 1.0  # the pattern alone takes minutes on this


@pytest.mark.parametrize("text, correct, score", [
    (reference(ONE), 1, 19.0),  # 1 (endpoints) + 2·(2 + 1 + 1), then +10 for a correct answer
    (reference(ONE).replace("Line 3", "Line 2"), 0, 7.0),  # wrong line in section 2 (Åsjordet is not on Line 2)
    (reference(ONE).replace("Route Name", "route name"), 0, 0.0),  # strict keys
    (reference(ONE) + "\nEnjoy!", 0, 0.0),  # arrival = rest of the section: the endpoint gate fails
    (reference(ONE).replace(" Station", ""), 0, 0.0),  # ReasonMap's clean_string keeps "Station"
    ("", 0, 0.0),
])
def test_short_accuracy_and_map_score(text, correct, score):
    rec = metrics.judge(text, ONE)
    assert (rec["correct"], rec["map_score"]) == (correct, score)


def test_long_templates():
    s1 = planning_sample("oslo", "Lillevann Station", "Åsjordet Station", template="long1")
    assert metrics.judge(reference(s1), s1)["map_score"] == 1 + 8 + 8 + 20  # exact via counts: +4 per section
    off = reference(s1).replace("Number of Via Stops: 15", "Number of Via Stops: 12")
    assert metrics.map_score(off, s1) == pytest.approx(1 + 8 + 4 + (4 - 3 / 15 * 4) + 20)
    s2 = planning_sample("oslo", "Lillevann Station", "Åsjordet Station", template="long2")
    assert metrics.map_score(reference(s2), s2) == 9 + 20  # released: via lists only parsed when they hold "站"
    assert metrics.map_score(reference(s2), s2, via_stops_chinese_only=False) == 19 + 20  # IoU 1, 19 matches → 10


def test_best_over_reference_routes():
    s = planning_sample("toy", "Brekke", "Dal", difficulty="easy")
    assert metrics.map_score(reference(s), s) == 5 + 10


def test_perception_accuracy():
    s = perception_sample("miami", "counting1")
    assert metrics.judge(f"\\boxed{{{s['answer']}}}", s)["correct"] == 1
    assert metrics.judge(f"\\boxed{{({s['answer']})}}", s)["correct"] == 0  # strict, as released
    t = perception_sample("miami", "counting3")
    assert metrics.judge(f"The answer is {t['answer']}.", t)["correct"] == 1


@pytest.mark.parametrize("q, m, w", [("easy", "easy", 1.0), ("middle", "easy", 1.5), ("hard", "hard", 3.0),
                                     ("easy", "hard", 2.0)])
def test_weights(q, m, w):
    assert metrics.reasonmap_weight({"difficulty_question": q, "difficulty_city": m}) == w
    assert metrics.plus_weight({"difficulty_city": m}) == {"easy": 1.0, "middle": 1.5, "hard": 2.0}[m]


def test_summarize():
    recs = [metrics.judge(t, s) for t, s in zip([reference(ONE), "wrong", reference(DIRECT), r"\boxed{yes}"],
            [ONE, ONE, DIRECT, perception_sample("oslo", "torf1", difficulty="hard")], strict=True)]
    out = metrics.summarize(recs)
    w = [2.0, 2.0, 1.0, 2.0]  # ONE: q middle + map middle; DIRECT: easy/easy; torf1 on a hard map
    acc = [1, 0, 1, recs[3]["correct"]]
    assert out["n"] == 4 and out["accuracy"] == pytest.approx(sum(acc) / 4)
    assert out["weighted_accuracy"] == pytest.approx(sum(a * b for a, b in zip(w, acc, strict=True)) / sum(w))
    assert out["map_score"] == pytest.approx((19 + 0 + 15) / 3)
    assert out["weighted_map_score"] == pytest.approx((2 * 19 + 2 * 0 + 1 * 15) / 5)
    assert set(out["by_type"]) == {"planning", "torf1"} and out["by_type"]["planning"]["n"] == 3
    assert set(out["by_map_difficulty"]) == {"easy", "middle", "hard"}
    assert out["by_question_difficulty"]["middle"]["n"] == 2
    assert metrics.summarize([]) == {"n": 0}
