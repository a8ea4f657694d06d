"""Reward rules as objects (issue 22): every preset honours the reward contract on every question type, through
`score` and the TRL functions, and a rule set written in one file (docs/reward.md's example) joins the lab.

The contract: a reference answer is correct and scores more than a wrong one (an error only answers of its kind
can have, `rmlite.lab.mistakes`), and the three TRL components add up to `score`'s total.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from fixtures import question_types as qt

from rmlite import schema
from rmlite.data.answers import reference_completion
from rmlite.data.store import load_questions
from rmlite.lab.measure import run_lab
from rmlite.lab.mistakes import apply_errors
from rmlite.reward import PRESETS, RewardConfig, get_config, score, trl_reward_funcs
from rmlite.reward.rules import PaperRules, RobustRules, Route

ROOT = Path(__file__).resolve().parents[1]
WRONG = {"integer": "off_by_one", "yes_no": "flipped_yes_no", "letter": "wrong_letter", "route": "reversed_direction"}


def mini_samples() -> list[dict]:
    """data/mini's test questions: two of each type and template."""
    seen: dict = {}
    for s in load_questions(ROOT / "data" / "mini", "test"):
        key = (s["type"], s.get("template"))
        if len(seen.setdefault(key, [])) < 2:
            seen[key].append(dict(s))
    return [s for group in seen.values() for s in group]


def wrong_answer(s: dict) -> str:
    kind = schema.answer_kind(s["type"])
    for seed in range(20):
        t = apply_errors(s, [WRONG[kind]], seed=seed)
        if t is not None:
            return t
    return qt.wrong_answer(s)


def trl_total(cfg: RewardConfig, text: str, s: dict) -> float:
    cols = {k: [v] for k, v in s.items()}
    return sum(f(prompts=[""], completions=[text], **cols)[0] for f in trl_reward_funcs(cfg))


def contract_failures(cfg: RewardConfig, samples: list[dict]) -> list[str]:
    """Every way `cfg` breaks the contract on `samples` (empty: none)."""
    bad = []
    for s in samples:
        right_text, wrong_text = reference_completion(s), wrong_answer(s)
        right, wrong = score(right_text, s, cfg), score(wrong_text, s, cfg)
        if not right.correct or wrong.correct or not right.total > wrong.total:
            bad.append(f"{cfg.name} {s['id']}: right {right.total} ({right.reason}), wrong {wrong.total} "
                       f"({wrong.reason})")
        for text, b in ((right_text, right), (wrong_text, wrong)):
            if trl_total(cfg, text, s) != pytest.approx(b.total, abs=1e-9):
                bad.append(f"{cfg.name} {s['id']}: TRL total {trl_total(cfg, text, s)} != score {b.total}")
    return bad


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_honours_the_contract_on_every_question_type(name, monkeypatch):
    samples = mini_samples()
    assert {s["type"] for s in samples} == set(schema.QUESTION_TYPES)
    for t, kind in qt.NEW_TYPES.items():  # and on types registered later (tests/test_question_types.py)
        monkeypatch.setitem(schema.ANSWER_KIND, t, kind)
    for t, fields in qt.NEW_NAMED_FIELDS.items():
        monkeypatch.setitem(schema.NAMED_FIELDS, t, fields)
    assert contract_failures(PRESETS[name], samples + qt.samples()) == []


def test_the_contract_check_fails_a_broken_rule_set():
    """The checker is no formality: a rule set that calls every route wrong, or pays a wrong one more, fails."""
    samples = [s for s in mini_samples() if s["type"] == "planning"][:4]

    class Never(PaperRules):
        def correct(self, cfg, idx, route):
            return False, "never"

    class Upside(PaperRules):
        def detail(self, cfg, idx, route):
            return -super().detail(cfg, idx, route) * 100

    assert len(contract_failures(RewardConfig(name="never", rules=Never()), samples)) == len(samples)
    assert contract_failures(RewardConfig(name="upside", rules=Upside(), detail_min=None), samples)


def docs_rule_set(tmp_path: Path, monkeypatch) -> ModuleType:
    """The rule set of docs/reward.md's 'Writing your own reward', written to its own file and imported."""
    text = (ROOT / "docs" / "reward.md").read_text(encoding="utf-8")
    section = text.split("### Writing your own reward", 1)[1]
    path = tmp_path / "my_rules.py"
    path.write_text(re.search(r"```python\n(.*?)```", section, re.S).group(1), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("my_rules", path)
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "my_rules", mod)
    spec.loader.exec_module(mod)
    return mod


def test_the_docs_rule_set_is_one_file_the_lab_compares_with_the_presets(tmp_path, monkeypatch):
    rides = docs_rule_set(tmp_path, monkeypatch).RIDES
    samples = mini_samples()
    assert contract_failures(rides, samples) == []
    route = next(s for s in samples if s["type"] == "planning")
    assert score(reference_completion(route), route, rides).detail == min(10.0, 2.0 * (route["question_transfer_count"]
                                                                                       + 1))
    res = run_lab(samples, rewards=("paper", "robust", rides), error_rates=(0.5,), group_size=4)
    names = {r["reward"] for r in res.rows}
    assert names == {"paper", "robust", "rides"}
    assert res.rewards[("rides", 0.5)] is not None


def test_a_knob_the_rules_do_not_read_is_refused_not_ignored():
    """Issue 22's example: under `robust` these released knobs changed nothing (7.032 either way); now refused."""
    for kw in ({"endpoint_rule": "both"}, {"line_points": 3}, {"penalty_off_by_one": True},
               {"transfer_penalty": 50}, {"direct_line_points": 40}):
        with pytest.raises(TypeError, match="RobustRules has no knob"):
            get_config("robust", **kw)
    assert get_config("paper", transfer_penalty=8.0).rules == PaperRules(transfer_penalty=8.0)
    assert get_config("robust", edit_decay=0.5).rules == RobustRules(edit_decay=0.5)
    assert Route._fields == ("secs", "parsed", "lines", "s1", "s2", "direct")
