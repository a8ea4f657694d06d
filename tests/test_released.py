"""Real ReasonMap maps and the released-data loaders, on local fixtures (tests/fixtures/released.py); no download."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fixtures import oracle
from fixtures.released import (
    figure_as_bytes,
    figure_b64,
    figure_image,
    json_as_path,
    json_as_struct,
    plus_relative_figure_no_json,
    plus_rows,
    reasonmap_rows,
    save_released,
    write_reasonmap_tree,
)
from PIL import Image

from rmlite.data.answers import reference_completion
from rmlite.data.build import build_real_map
from rmlite.data.questions import QuestionConfig
from rmlite.data.released import decode_figure, from_released, load_released, released_answer, template_of
from rmlite.maps.real import TEST_CITIES, find_city, load_city
from rmlite.names import strip_tags
from rmlite.schema import validate_sample

ROOT = Path(__file__).resolve().parent.parent

CITIES = {"oslo": "norway/oslo", "geneva": "switzerland/geneva", "miami": "america/miami"}


# ----- real maps ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("city", sorted(CITIES))
def test_load_city(reasonmap_dir, city):
    raw = json.loads((reasonmap_dir / "stations" / f"{CITIES[city]}.json").read_text(encoding="utf-8"))
    net = load_city(city)
    assert net.name == city
    assert net.metro_data() == {ln: [strip_tags(s) for s in st] for ln, st in raw.items()}
    assert not any("(" in s or "Transfer" in s for s in net.stations)
    assert net.difficulty in ("easy", "middle", "hard")
    js, png = find_city(city)
    assert js.name == f"{city}.json" and png is not None and png.is_file()
    assert load_city(str(js)).metro_data() == net.metro_data(), "a JSON path works like a city name"


def test_oslo_specifics():
    net = load_city("oslo")
    assert net.difficulty == "middle"
    assert len(net.lines) == 5
    assert "Voksnia Station" in net.stations, "answer keys come from the JSON, slips included"
    assert load_city("oslo", difficulty="hard").difficulty == "hard"
    assert load_city("OSLO").metro_data() == net.metro_data()


@pytest.mark.parametrize("city", sorted(CITIES))
def test_build_real_map(city):
    cfg = QuestionConfig(per_map={"counting1": 4, "counting2": 4, "counting3": 1, "torf1": 4, "torf2": 4,
                                  "planning": 6})
    rec, qs = build_real_map(city, seed=2, config=cfg)
    assert rec["map_id"] == f"real-{city}" and rec["source"] == f"reasonmap:{city}"
    assert rec["split"] == ("test" if city in TEST_CITIES else "train")
    assert json.loads(rec["metro_data"]) == load_city(city).metro_data()
    with Image.open(find_city(city)[1]) as im:
        expect = np.asarray(im.convert("RGB"))
    import io

    got = np.asarray(Image.open(io.BytesIO(rec["image"]["bytes"])).convert("RGB"))
    assert got.shape == expect.shape and (rec["width"], rec["height"]) == (expect.shape[1], expect.shape[0])
    assert np.array_equal(got, expect)
    assert len(qs) == 23
    for q in qs:
        validate_sample(q)
        oracle.check_sample(q)
        assert q["map_id"] == rec["map_id"]


def test_split_override():
    rec, _ = build_real_map("miami", config=QuestionConfig(per_map={"counting3": 1}), split="train")
    assert rec["split"] == "train"
    assert {"miami", "geneva"} <= TEST_CITIES and "oslo" not in TEST_CITIES


def test_unknown_city_lists_the_available_ones():
    with pytest.raises(FileNotFoundError, match=r"unknown city 'atlantis'.*oslo"):
        load_city("atlantis")
    with pytest.raises(FileNotFoundError, match="no metro-data file"):
        load_city("/nonexistent/atlantis.json")


@pytest.mark.parametrize(("text", "match"), [
    ("{not json", "not valid JSON"),
    ('["A", "B"]', "non-empty JSON object"),
    ("{}", "non-empty JSON object"),
    ('{"Line 1": "AB"}', "list of station names"),
    (b"\xff\xfe\x00garbage", "not valid JSON"),
])
def test_invalid_metro_json(tmp_path, text, match):
    p = tmp_path / "stations" / "nowhere" / "bad.json"
    p.parent.mkdir(parents=True)
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ValueError, match=match):
        load_city(str(p))


def test_real_map_from_a_user_folder(tmp_path, reasonmap_dir):
    # The ReasonMap layout (stations/<country>/<city>.json beside maps/<country>/<city>.png) works outside data/.
    (tmp_path / "stations" / "norway").mkdir(parents=True)
    (tmp_path / "maps" / "norway").mkdir(parents=True)
    shutil.copy(reasonmap_dir / "stations" / "norway" / "oslo.json", tmp_path / "stations" / "norway" / "mine.json")
    with pytest.raises(FileNotFoundError, match="no map image"):
        build_real_map(str(tmp_path / "stations" / "norway" / "mine.json"))
    figure_image().save(tmp_path / "maps" / "norway" / "mine.png")
    rec, qs = build_real_map(str(tmp_path / "stations" / "norway" / "mine.json"),
                             config=QuestionConfig(per_map={"torf1": 2}))
    assert rec["map_id"] == "real-mine" and rec["split"] == "train" and len(qs) == 2


# ----- released rows -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", range(len(plus_rows())))
def test_plus_row_mapping(k):
    row, expect = plus_rows()[k]
    s = from_released(row)
    validate_sample(s)
    for key, value in expect.items():
        assert s[key] == value, key
    assert s["question"] == row["question"]
    assert s["difficulty_city"] == "middle" and s["routes"] == "[]"
    assert json.loads(s["metro_data"]) == load_city("oslo").metro_data()
    assert s["prompt"][0]["content"][1]["text"] == row["question"]
    assert np.array_equal(np.asarray(s["image"]), np.asarray(figure_image()))
    oracle.check_sample(s)  # the released key agrees with an independent recount on the JSON


@pytest.mark.parametrize("k", [0, 1])
def test_planning_row_mapping(k):
    row = reasonmap_rows()[k]
    s = from_released(row)
    validate_sample(s)
    oracle.check_sample(s)  # routes valid and optimal on the metro data, transfer count, answer = first route
    routes = json.loads(s["routes"])
    assert s["station1"] == row["station_1"] + " Station" and s["station2"] == row["station_2"] + " Station"
    md = oracle.metro(s)
    for plan in routes:
        for sec in plan:
            assert sec["route_name"] in md, "route names mapped onto the metro data's line names"
            assert {sec["departure_stop"], sec["arrival_stop"], *sec["via_stops"]} <= set(md[sec["route_name"]])
            assert all(v.endswith(" Station") for v in sec["via_stops"])
    n_plans = sum(p is not None for p in row["routes"].values())
    assert len(routes) == n_plans
    assert s["question"] == row["question_short"] and s["template"] == "short"
    assert s["question_transfer_count"] == row["question_transfer_count"]
    assert s["difficulty_question"] == row["difficulty_question"]
    if k == 1:
        assert [r[0]["route_name"] for r in routes] == ["Line 4", "Line 5"]


def test_planning_row_variants():
    row = reasonmap_rows()[0]
    # routes as a JSON string, no transfer count: computed from the routes.
    s = from_released({**{k: v for k, v in row.items() if k not in ("question_transfer_count",
                                                                    "difficulty_question")},
                       "routes": json.dumps(row["routes"])})
    oracle.check_sample(s)
    assert s["question_transfer_count"] == 1 and s["difficulty_question"] == "middle"
    # No usable routes: computed with the network.
    s = from_released({**row, "routes": None})
    oracle.check_sample(s)
    # Long template: the long question is used.
    s = from_released(row, template="long1")
    assert s["question"] == row["question_long"] and s["template"] in ("long1", "long2")


def test_released_long_template_answer_matches_the_template():
    # As for generated samples, the key is what a perfect model answers in the template the question asks for.
    s = from_released(reasonmap_rows()[0], template="long1")
    assert s["template"] == "long1"
    assert s["answer"] == oracle.format_short(json.loads(s["routes"])[0], "long1")
    assert s["answer"] == reference_completion(s)


def test_released_type_defaults_and_errors():
    row = {k: v for k, v in reasonmap_rows()[1].items()}
    assert from_released(row)["type"] == "planning"  # ReasonMap rows have no type
    with pytest.raises(ValueError, match="unknown released question type"):
        from_released({**row, "type": "Counting9"})
    with pytest.raises(ValueError, match="no 'json' field and no stations/norway/atlantis.json"):
        from_released({**row, "json": None, "city": "atlantis"})


def test_decode_figure_forms(tmp_path):
    b64 = figure_b64()
    expect = np.asarray(figure_image())
    png = tmp_path / "fig.png"
    figure_image().save(png)
    raw = png.read_bytes()
    for fig in (b64, "data:image/png;base64," + b64, str(png), raw, {"bytes": raw, "path": None}, figure_image()):
        assert np.array_equal(np.asarray(decode_figure(fig)), expect)
    with pytest.raises(ValueError, match="neither a file path nor base64"):
        decode_figure("definitely not an image")
    with pytest.raises(ValueError, match="cannot read a figure"):
        decode_figure(12)


def test_load_released_local_folders(tmp_path):
    rm, plus = save_released(tmp_path)
    rows = load_released(str(rm))  # default split: validation
    assert len(rows) == 2
    for s, row in zip(rows, reasonmap_rows(), strict=True):
        validate_sample(s)
        oracle.check_sample(s)
        assert s["station1"] == row["station_1"] + " Station"
    test = load_released(str(plus), "test")
    assert [s["answer"] for s in test] == [e["answer"] for _, e in plus_rows()]
    assert [s["type"] for s in test] == [e["type"] for _, e in plus_rows()]
    assert all(np.array_equal(np.asarray(s["image"]), np.asarray(figure_image())) for s in test)
    assert len(load_released(str(plus), "train")) == 2
    assert len(load_released(str(plus), "test", limit=3)) == 3
    with pytest.raises(ValueError, match="no split 'nope'"):
        load_released(str(plus), "nope")


# ----- every layout the official readers use ---------------------------------------------------------------------
LAYOUTS = {"relative figure, no json": lambda rows: [plus_relative_figure_no_json(r) for r in rows],
           "json as a path": lambda rows: [json_as_path(r) for r in rows],
           "json as a struct": json_as_struct,
           "figure as bytes": lambda rows: [figure_as_bytes(r) for r in rows]}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_load_released_in_every_official_layout(tmp_path, layout):
    from datasets import Dataset, DatasetDict

    tree = write_reasonmap_tree(tmp_path / "ReasonMap")
    rows = LAYOUTS[layout]([r for r, _ in plus_rows()])
    folder = tmp_path / "plus"
    DatasetDict({"test": Dataset.from_list(rows)}).save_to_disk(str(folder))
    got = load_released(str(folder), "test", maps_root=tree, strict=True)
    assert not got.skipped
    assert [s["answer"] for s in got] == [e["answer"] for _, e in plus_rows()]
    for s, (_, e) in zip(got, plus_rows(), strict=True):
        validate_sample(s)
        oracle.check_sample(s)
        assert all(s[k] == v for k, v in e.items())
        assert np.array_equal(np.asarray(s["image"]), np.asarray(figure_image()))
    assert json.loads(got[0]["metro_data"]) == load_city("oslo").metro_data(), "None-valued lines are dropped"


def test_relative_paths_resolve_against_the_data_set_folder_and_the_environment(tmp_path, monkeypatch):
    from datasets import Dataset, DatasetDict

    rows = [json_as_path(r) for r, _ in plus_rows()[:2]]
    folder = tmp_path / "plus"
    DatasetDict({"test": Dataset.from_list(rows)}).save_to_disk(str(folder))
    write_reasonmap_tree(folder)                       # maps/ and stations/ inside the saved folder
    assert len(load_released(str(folder), "test", strict=True)) == 2
    shutil.rmtree(folder / "maps")
    shutil.rmtree(folder / "stations")
    monkeypatch.setenv("RMLITE_REASONMAP", str(write_reasonmap_tree(tmp_path / "env")))
    assert len(load_released(str(folder), "test", strict=True)) == 2


def test_a_bad_row_is_skipped_with_a_counted_reason_or_raises_when_strict(tmp_path):
    from datasets import Dataset, DatasetDict

    tree = write_reasonmap_tree(tmp_path / "ReasonMap")
    good = [plus_relative_figure_no_json(r) for r, _ in plus_rows()[:3]]
    bad = [{**good[0], "figure": "./maps/norway/missing.png"}, {**good[1], "figure": "./maps/norway/missing.png"},
           {**good[2], "type": "Counting9"}]
    folder = tmp_path / "plus"
    DatasetDict({"test": Dataset.from_list(good + bad)}).save_to_disk(str(folder))
    with pytest.warns(UserWarning, match="skipped 2 released row"):
        got = load_released(str(folder), "test", maps_root=tree, allow_partial=True)
    assert len(got) == 3 and sum(got.skipped.values()) == 3 and len(got.skipped) == 2
    assert any("missing.png" in r for r in got.skipped) and any("Counting9" in r for r in got.skipped)
    assert all("\n" not in r for r in got.skipped)
    with pytest.raises(ValueError, match="released row 3: .*missing.png"):
        load_released(str(folder), "test", maps_root=tree, strict=True)


def test_the_planning_template_is_read_from_the_question_text():
    row = reasonmap_rows()[0]
    # A row whose only question is the long one (no question_short) loads as long1 even with template="short".
    only_long = {k: v for k, v in row.items() if k != "question_short"}
    only_long["question"] = only_long.pop("question_long")
    s = from_released(only_long, template="short")
    assert s["template"] == "long1" and s["answer"] == reference_completion(s)
    assert from_released(row)["template"] == "short"
    assert template_of("Provide only one optimal route, including all the via stops.") == "long2"


# ----- issue 23: released sets say what they hold --------------------------------------------------------------------
@pytest.mark.parametrize(("value", "kind", "expected"), [
    (0, "letter", "A"), (3, "letter", "D"), ("B", "letter", "B"), (" c ", "letter", "C"),
    (1, "yes_no", "yes"), (0, "yes_no", "no"), ("yes", "yes_no", "yes"), (True, "yes_no", "yes"),
    (0, "integer", "0"), ("7", "integer", "7")])
def test_released_answers_in_every_valid_form(value, kind, expected):
    assert released_answer(value, kind) == expected


@pytest.mark.parametrize(("value", "kind"), [(-1, "letter"), (4, "letter"), ("E", "letter"), (2, "yes_no"),
                                             (-1, "yes_no"), ("maybe", "yes_no"), (-1, "integer"), (2.5, "integer"),
                                             ("٣", "integer"), (None, "integer")])
def test_released_answers_out_of_range_are_refused_not_coerced(value, kind):
    with pytest.raises(ValueError, match=r"^answer .* is not (a |yes/no)"):
        released_answer(value, kind)


def _plus_folder(tmp_path, rows):
    from datasets import Dataset, DatasetDict

    folder = tmp_path / "plus"
    DatasetDict({"test": Dataset.from_list(rows)}).save_to_disk(str(folder))
    return folder


def test_bad_answers_and_unknown_stations_are_rejected_one_line_each(tmp_path):
    tree = write_reasonmap_tree(tmp_path / "ReasonMap")
    good = [plus_relative_figure_no_json(r) for r, _ in plus_rows()[:2]]
    bad = [{**good[0], "answer": -1}, {**good[0], "station_1": "Atlantis"}]
    folder = _plus_folder(tmp_path, good + bad)
    with pytest.warns(UserWarning, match="skipped 1 released row"):
        got = load_released(str(folder), "test", maps_root=tree, allow_partial=True)
    assert len(got) == 2 and got.coverage == {"oslo": (2, 4)}
    assert any("answer -1 is not yes/no" in r for r in got.skipped)
    assert any("station 'Atlantis' is not on the map of oslo" in r for r in got.skipped)
    with pytest.raises(ValueError, match="released row 2: .*answer -1"):
        load_released(str(folder), "test", maps_root=tree, strict=True)


def test_a_partial_set_is_refused_with_its_coverage_unless_allowed(tmp_path):
    """The shipped real cities (data/reasonmap: three maps and their station lists) beside a city whose map
    image is absent, as in ReasonMap's repository (station files, no images)."""
    cities = (("oslo", "norway"), ("geneva", "switzerland"), ("miami", "america"))
    lines = {c: len(json.loads((ROOT / "data" / "reasonmap" / "stations" / k / f"{c}.json").read_text()))
             for c, k in cities}
    rows = [{"type": "Counting3", "city": c, "country": k, "answer": lines[c], "question": "How many lines?",
             "figure": f"./maps/{k}/{c}.png", "station_1": "", "station_2": "", "json": None} for c, k in cities]
    rows.append({**rows[0], "city": "rome", "country": "italy", "figure": "./maps/italy/rome.png",
                 "json": json.dumps({"Line A": ["X", "Y"]})})
    folder = _plus_folder(tmp_path, rows)
    with pytest.raises(ValueError, match=r"read 3 of 4 rows; 3 of 4 cities complete; incomplete: rome 0/1.*"
                                         r"allow_partial=True"):
        load_released(str(folder), "test", maps_root=ROOT / "data" / "reasonmap")
    with pytest.warns(UserWarning, match="rome.png"):
        got = load_released(str(folder), "test", maps_root=ROOT / "data" / "reasonmap", allow_partial=True)
    assert got.coverage == {"oslo": (1, 1), "geneva": (1, 1), "miami": (1, 1), "rome": (0, 1)}
    assert [s["answer"] for s in got] == [str(lines[c]) for c, _ in cities]
    assert all(s["image"].size[0] > 500 for s in got)  # the shipped real map images, read
