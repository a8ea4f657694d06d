"""Test helpers for the reward tests: samples built from real ReasonMap metro data, and an independent,
deliberately plain re-implementation of the released RewardMap reward (the oracle for the `official` preset and
the baseline of bench/bench_reward.py). The oracle shares no code with rmlite.reward or rmlite.reward.parse."""

from __future__ import annotations

import json
import random
import re
from functools import cache
from pathlib import Path

from rmlite.data.answers import boxed, format_route
from rmlite.maps.network import Network, route_to_json
from rmlite.schema import CHOICE_LETTERS, make_prompt, question_difficulty

ROOT = Path(__file__).resolve().parent.parent
STATIONS = ROOT / "data" / "reasonmap" / "stations"
CITIES = {"oslo": "norway/oslo", "geneva": "switzerland/geneva", "miami": "america/miami"}


# A small synthetic map with two-transfer routes (the bundled real maps have none).
TOY = {"Line 1": ["Alna", "Brekke", "Carl Berner", "Dal"], "Line 2": ["Dal", "Ekeberg", "Frogner", "Grorud"],
       "Line 3": ["Grorud", "Haugen", "Ila", "Jar"], "Line 4": ["Brekke", "Kolsås", "Lysaker"]}


@cache
def network(city: str) -> Network:
    if city == "toy":
        return Network.from_metro_data(TOY, name="toy")
    data = json.loads((STATIONS / f"{CITIES[city]}.json").read_text(encoding="utf-8"))
    return Network.from_metro_data(data, name=city)


@cache
def metro_json(city: str) -> str:
    return json.dumps(network(city).metro_data(), ensure_ascii=False)


def _base(city: str, qtype: str, k: int, difficulty: str) -> dict:
    return {"id": f"{city}-{qtype}-{k}", "map_id": city, "type": qtype, "question": "", "answer": "", "choices": [],
            "station1": "", "station2": "", "line": "", "metro_data": metro_json(city), "routes": "[]",
            "difficulty_city": difficulty, "difficulty_question": difficulty, "question_transfer_count": 0,
            "template": "", "seed": 0, "source": f"reasonmap:{city}", "prompt": make_prompt("")}


def planning_sample(city: str, a: str, b: str, *, difficulty: str = "middle", template: str = "short",
                    k: int = 0) -> dict:
    routes = network(city).routes(a, b)
    q = len(routes[0]) - 1
    s = _base(city, "planning", k, difficulty)
    s.update(question=f"How do I get from {a} to {b}?", answer=format_route(routes[0], "short"), station1=a,
             station2=b, routes=route_to_json(routes), difficulty_question=question_difficulty(q),
             question_transfer_count=q, template=template, prompt=make_prompt(f"How do I get from {a} to {b}?"))
    return s


def pairs(city: str, transfers: int, n: int, seed: int = 0) -> list[tuple[str, str]]:
    """`n` station pairs whose optimal route needs exactly `transfers` transfers (deterministic)."""
    net = network(city)
    rng = random.Random(seed)
    stations = sorted(net.stations)
    out: list[tuple[str, str]] = []
    for _ in range(20000):
        a, b = rng.sample(stations, 2)
        if net.transfers_needed(a, b) == transfers and (a, b) not in out:
            out.append((a, b))
            if len(out) == n:
                break
    return out


def perception_sample(city: str, qtype: str, *, difficulty: str = "middle", k: int = 0, seed: int = 0) -> dict:
    net = network(city)
    rng = random.Random(hash((city, qtype, k, seed)) & 0xFFFF)
    s = _base(city, qtype, k, difficulty)
    if qtype == "counting1":
        line = rng.choice(net.lines)
        i, j = sorted(rng.sample(range(len(line.stations)), 2))
        value = j - i - 1
        options = sorted({value, value + 1, value + 2, max(0, value - 1), value + 3} - {value})[:3] + [value]
        rng.shuffle(options)
        s.update(station1=line.stations[i], station2=line.stations[j], choices=options,
                 answer=CHOICE_LETTERS[options.index(value)])
    elif qtype == "counting2":
        st = rng.choice(sorted(net.stations))
        s.update(station1=st, answer=str(len(net.station_lines[st])))
    elif qtype == "counting3":
        s.update(answer=str(len(net.lines)))
    elif qtype == "torf1":
        a, b = rng.sample(sorted(net.stations), 2)
        s.update(station1=a, station2=b, answer="yes" if net.common_lines(a, b) else "no")
    elif qtype == "torf2":
        st, line = rng.choice(sorted(net.stations)), rng.choice(net.lines).name
        s.update(station1=st, line=line, answer="yes" if line in net.station_lines[st] else "no")
    return s


def reference(sample: dict) -> str:
    if sample["type"] == "planning":
        from rmlite.maps.network import routes_from_json

        return format_route(routes_from_json(sample["routes"])[0], sample["template"] or "short")
    return boxed(sample["answer"])


# ----- an independent oracle: the released reward, re-implemented plainly (no caching, no shared helpers) ---------
def released_clean(s: str) -> str:
    for old, new in (("Metro", ""), ("metro", ""), (",", ""), ("*", ""), ("\n", ""), ("'", ""),
                     ("Univ.", "University"), ("Univ", "University"), ("Tech.", "Technology"), ("Tech", "Technology"),
                     ("road", "lu"), ("Road", "lu"), ("Station", ""), ("station", ""),
                     ("Asian Games Village", "yayuncun")):
        s = s.replace(old, new)
    if s.endswith("站"):
        s = s[:-1]
    s = re.sub(r"[\(\（][^\)\）]*[\)\）]", "", s)
    return re.sub(r"[\s\-]+", "", s).lower()


def _sections(answer: str, any_case: bool) -> list[dict]:
    out = []
    for sec in answer.split("--"):
        if not sec.strip():
            continue
        hay = sec.lower() if any_case else sec
        keys = ("route name:", "departure stop:", "arrival stop:") if any_case else \
            ("Route Name:", "Departure Stop:", "Arrival Stop:")
        if not all(k in hay for k in keys):
            continue
        rn = re.search(r"Route Name: (.*?)\n", sec)
        dp = re.search(r"Departure Stop: (.*?)\n", sec)
        out.append({"route": rn.group(1).strip() if rn else "Wrong",
                    "dep": released_clean(dp.group(1)) if dp else "Wrong",
                    "arr": released_clean(sec.split("Arrival Stop:")[-1].strip())})
    return out


def released_planning_acc(answer: str, metro: dict, s1: str, s2: str) -> bool:
    data = _sections(answer, False)
    if not data:
        return False
    if released_clean(data[0]["dep"]) != released_clean(s1) or released_clean(data[-1]["arr"]) != released_clean(s2):
        return False
    ok = True
    for i, r in enumerate(data):
        name = r["route"]
        if "八通" in name:
            name = "Line 1"
        if "大兴" in name:
            name = "Line 4"
        if name not in metro:
            ok = False
            continue
        stations = [released_clean(x) for x in metro[name]]
        if released_clean(r["dep"]) in stations and released_clean(r["arr"]) in stations:
            if i < len(data) - 1 and released_clean(r["arr"]) != released_clean(data[i + 1]["dep"]):
                ok = False
        else:
            ok = False
    return ok


def released_planning_detail(answer: str, metro: dict, s1: str, s2: str, q: int) -> float:
    data = _sections(answer, True)
    score = 0.0
    if data and released_clean(data[0]["dep"]) == released_clean(s1) and \
            released_clean(data[-1]["arr"]) == released_clean(s2):
        score += 2
        for i, r in enumerate(data):
            if i + 1 > q:
                score -= 5
            name = r["route"]
            if "八通" in name:
                name = "Line 1"
            if "大兴" in name:
                name = "Line 4"
            if name not in metro:
                continue
            if q == 0:
                for line, stations in metro.items():
                    cleaned = [released_clean(x) for x in stations]
                    if released_clean(s1) in cleaned and released_clean(s2) in cleaned and line == name:
                        score += 4
                        break
            else:
                score += 3
            stations = [released_clean(x) for x in metro[name]]
            if released_clean(r["dep"]) in stations and released_clean(r["arr"]) in stations:
                if i < len(data) - 1 and released_clean(r["arr"]) == released_clean(data[i + 1]["dep"]) and i + 1 <= q:
                    score += 1
    return min(score, 10.0)


def released_find_math_answer(s: str) -> str:
    s = s.lower()
    if "{}" in s:
        s = s.replace("{}", "")
    found = re.compile("oxed{(.*)}", flags=re.S).findall(s)
    ans = found[-1] if found else s
    if ans.find("}") != -1 and (ans.find("{") == -1 or ans.find("}") < ans.find("{")):
        ans = ans.split("}")[0]
    ans = ans.split("=")[-1].split("\\approx")[-1]
    ans = ans.replace(" ", "").replace("\\,", "").replace("∞", "\\infty").replace("+\\infty", "\\infty")
    ans = ans.replace("\\\\", "\\").replace("\n", "").replace("\\text", "").replace("\\mbox", "")
    ans = ans.replace("bmatrix", "pmatrix").replace("\\left", "").replace("\\right", "").replace("^{\\circ}", "")
    ans = ans.replace("^\\circ", "").replace("{m}^3", "").replace("m^3", "").replace("{units}", "")
    ans = ans.replace("units", "").replace("{km}", "").replace("km", "")
    # _strip_string
    for old, new in (("\n", ""), ("\\!", ""), ("\\\\", "\\"), ("tfrac", "frac"), ("dfrac", "frac"), ("\\left", ""),
                     ("\\right", ""), ("^{\\circ}", ""), ("^\\circ", ""), ("\\$", ""), ("$", "")):
        ans = ans.replace(old, new)
    ans = ans.split("\\text{ ")[0].replace("\\%", "").replace(" .", " 0.").replace("{.", "{0.")
    if not ans:
        return ans
    if ans[0] == ".":
        ans = "0" + ans
    if len(ans.split("=")) == 2:
        ans = ans.split("=")[-1]
    ans = ans.replace(" ", "")
    if ans == "0.5":
        ans = "\\frac{1}{2}"
    return ans


def released_extract(response: str) -> str:
    a = response
    if "oxed{" not in a:
        for flag in ["the final answer is", "the answer is", "the correct answer is", "the answer should be"]:
            for f in (flag, flag.replace("the", "The")):
                raw = a
                a = a.split(f)[-1].strip()
                if f in raw:
                    a = a.split("\n")[0].split(". ")[0]
    elif a.count("oxed{") > 1:
        a = "\\boxed{" + a.split("oxed{")[-1]
    return released_find_math_answer(a).rstrip(".").lstrip(":").strip()


_CITY_W = {"easy": 1.0, "middle": 1.2, "hard": 1.5}


def released_score(response: str, sample: dict) -> float:
    """The released `reason_map_compute_score` (mode "difficulty_aware") on an rmlite sample."""
    metro = json.loads(sample["metro_data"])
    qtype, q = sample["type"], sample["question_transfer_count"]
    score = 0.0
    if qtype == "planning":
        acc = released_planning_acc(response, metro, sample["station1"], sample["station2"])
        score = (10 if acc else 0) + 0.5 * released_planning_detail(response, metro, sample["station1"],
                                                                    sample["station2"], q)
        w = _CITY_W[sample["difficulty_city"]] + (0.5 if q > 0 else 0.0)
    else:
        a = released_extract(response)
        if qtype.startswith("torf"):
            acc = a.lower() == sample["answer"]
        elif qtype == "counting1":
            acc = a.lower() in "abcd" and len(a) == 1 and "abcd".index(a.lower()) == "ABCD".index(sample["answer"])
        else:
            try:
                acc = int(a) == int(sample["answer"])
            except ValueError:
                acc = False
        score = 10 if acc else 0
        w = _CITY_W[sample["difficulty_city"]]
    return score * w
