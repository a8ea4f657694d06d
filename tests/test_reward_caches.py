"""The reward's caches (issue 21): bounded, keyed by value, never a stale hit, one entry dropped at a time; and the
two reward helpers whose flags are keyword-only now (issue 21.3). Each cached result is compared with the same
computation on a fresh, empty cache; each check is shown to fail on the pattern it replaces."""

from __future__ import annotations

import dataclasses
import pickle
import random

import pytest
from fixtures.reward import pairs, planning_sample, reference

from rmlite.curriculum.adaptive import StageSampler, pass_order
from rmlite.curriculum.stages import stage_rng
from rmlite.lab.mistakes import OPERATORS, apply_errors
from rmlite.reward import index as rm_index
from rmlite.reward.checks import Route, detail_points
from rmlite.reward.config import PAPER, ROBUST, RewardBreakdown, get_config, make_breakdown
from rmlite.reward.index import MEMO_SIZE, LRUCache, SampleIndex, index_sample, ride
from rmlite.reward.score import score_indexed


# ----- the cache object -----------------------------------------------------------------------------------------
class SelfEmptying(LRUCache):
    """The pattern replaced, as a negative control: a dict that empties itself when full."""

    def put(self, key, value):
        if len(self.data) >= self.maxsize:
            self.data.clear()
        self.data[key] = value
        return value


def keeps_hot(cache: LRUCache, bound: int) -> bool:
    """Whether an entry read between cold ones survives a flood of them, with the cache within `bound`."""
    cache.put("hot", 1)
    for i in range(10 * bound):
        cache.put(("cold", i), i)
        if cache.get("hot") != 1 or len(cache) > bound:
            return False
    return True


def test_lru_cache_drops_the_least_recently_used_entry_one_at_a_time():
    assert keeps_hot(LRUCache(8), 8)
    assert not keeps_hot(SelfEmptying(8), 8)  # the check tells the old pattern apart
    c = LRUCache(3)
    for k in "abcd":
        c.put(k, k.upper())
    assert list(c.data) == ["b", "c", "d"]
    assert c.get("b") == "B" and c.get("a") is None
    c.put("e", "E")
    assert list(c.data) == ["d", "b", "e"]  # b was read, so c (least recently used) went
    for bad in (0, -1, 2.5, None):
        with pytest.raises(ValueError, match="maxsize"):
            LRUCache(bad)


# ----- the sample indexes ---------------------------------------------------------------------------------------
def test_sample_indexes_are_cached_by_value_bounded_and_keep_the_hot_ones(monkeypatch):
    monkeypatch.setattr(rm_index, "_INDEXES", LRUCache(3))
    s = [planning_sample("oslo", a, b) for a, b in pairs("oslo", 1, 5)]
    hot = index_sample(s[0])
    assert index_sample(dict(s[0])) is hot  # an equal sample (another dict) is the same index: keyed by value
    first_cold = index_sample(s[1])
    for cold in s[2:]:
        assert index_sample(s[0]) is hot  # read between the cold ones: never dropped
        index_sample(cold)
    assert len(rm_index._INDEXES) == 3
    assert index_sample(s[1]) is not first_cold  # the least recently used one went
    changed = dict(s[0], question_transfer_count=s[0]["question_transfer_count"] + 1)
    assert index_sample(changed) is not hot  # a scored field differs: another key


def test_rides_are_a_bounded_functools_cache():
    info = ride.cache_info()
    assert info.maxsize == 1 << 16
    idx = index_sample(planning_sample("oslo", *pairs("oslo", 0, 1)[0]))
    line = next(iter(idx.map.lines))
    stops = idx.map.order[line]
    right = ride(idx.map, line, stops[0], stops[3])
    for i in range(info.maxsize + 100):  # junk keys from model output
        ride(idx.map, line, stops[0], f"junk {i}")
    assert ride.cache_info().currsize <= info.maxsize
    assert ride(idx.map, line, stops[0], stops[3]) == right == stops[1:3]


# ----- robust's memo: keyed by the config's value ---------------------------------------------------------------
def wrong_answers(sample: dict, n: int = 24) -> list[str]:
    ops = [name for name, op in OPERATORS.items() if op.applies_to(sample) and not op.surface]
    rng = random.Random(sample["id"])
    out = [reference(sample)]
    for j in range(n):
        t = apply_errors(sample, rng.sample(ops, 1 + j % 3), seed=j)
        if t is not None:
            out.append(t)
    return out


def fresh(text: str, sample: dict, cfg) -> RewardBreakdown:
    return score_indexed(text, SampleIndex(sample), cfg)  # a new index: an empty memo


CONFIGS = [ROBUST, get_config("robust", edit_decay=0.5), get_config("robust", partial_credit=0.0),
           get_config("robust", detail_min=-5.0), get_config("robust", max_extra_stops=0)]


def memo_is_pure(samples: list[dict], configs: list) -> bool:
    """Whether every score through a shared, warm memo equals the score on an empty one, configs interleaved."""
    for s in samples:
        idx, texts = SampleIndex(s), wrong_answers(s)
        for text in texts * 2:
            for cfg in configs:
                if score_indexed(text, idx, cfg) != fresh(text, s, cfg):
                    return False
    return True


@pytest.mark.parametrize("template", ["short", "long1"])
def test_robust_memo_never_serves_another_configs_result(template):
    samples = [planning_sample("oslo", a, b, template=template) for a, b in pairs("oslo", 1, 2)]
    configs = CONFIGS + [dataclasses.replace(c) for c in CONFIGS]  # equal values, other objects
    assert memo_is_pure(samples, configs)
    idx = SampleIndex(samples[0])
    for text in wrong_answers(samples[0]):
        score_indexed(text, idx, CONFIGS[0])
    n = len(idx.memo)
    for text in wrong_answers(samples[0]):
        score_indexed(text, idx, dataclasses.replace(CONFIGS[0]))
    assert len(idx.memo) == n  # an equal config (another object) finds the same entries: keyed by value


def test_a_memo_blind_to_the_config_is_caught(monkeypatch):
    """The negative control: with every config one key (as a memo keyed by a reused id would treat a new config
    at an old one's address), the check above fails."""
    samples = [planning_sample("oslo", a, b) for a, b in pairs("oslo", 1, 2)]
    monkeypatch.setattr(type(ROBUST), "__hash__", lambda self: 0)
    monkeypatch.setattr(type(ROBUST), "__eq__", lambda self, other: True)
    assert not memo_is_pure(samples, CONFIGS[:2])


def test_config_hash_is_by_value_once_and_not_pickled():
    again = dataclasses.replace(ROBUST)
    assert again is not ROBUST and again == ROBUST and hash(again) == hash(ROBUST)
    assert get_config("robust", edit_decay=0.5) != ROBUST
    assert hash(PAPER) == hash(tuple(getattr(PAPER, f.name) for f in dataclasses.fields(PAPER)))
    back = pickle.loads(pickle.dumps(ROBUST))
    assert back == ROBUST and "_hash" not in back.__dict__ and hash(back) == hash(ROBUST)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ROBUST.alpha = 1.0  # still frozen


def test_robust_memo_is_bounded():
    s = planning_sample("oslo", *pairs("oslo", 1, 1)[0])
    idx = SampleIndex(s)
    line = next(iter(idx.map.lines))
    for i in range(MEMO_SIZE + 50):  # distinct junk routes from model output
        junk = f"Route Name: {line}\nDeparture Stop: {s['station1']}\nArrival Stop: nowhere {i}"
        score_indexed(junk, idx, ROBUST)
    assert len(idx.memo) == MEMO_SIZE


# ----- the curriculum sampler's pass orders ----------------------------------------------------------------------
def plain_draws(stages: list[list[int]], batch: int, seed: int, plan: list[int]) -> list[list[int]]:
    """The sampler's batches written plainly: each pass over a stage is the stage list shuffled by its RNG."""
    counts, out = [0] * len(stages), []
    for st in plan:
        pool, n = stages[st], counts[st]
        batch_out = []
        for p in range(n * batch, (n + 1) * batch):
            order = list(pool)
            stage_rng(seed, st, p // len(pool)).shuffle(order)
            batch_out.append(order[p % len(pool)])
        out.append(batch_out)
        counts[st] += 1
    return out


def test_stage_sampler_draws_match_a_plain_shuffle_across_many_passes():
    stages = [list(range(0, 7)), list(range(100, 113)), [900, 901]]
    plan = [random.Random(1).randrange(3) for _ in range(400)]  # >64 passes of the small stages: evictions
    sampler = StageSampler(stages, batch_size=3, seed=5)
    got = [sampler.draw(st) for st in plan]
    assert got == plain_draws(stages, 3, 5, plan)
    assert got != plain_draws(stages, 3, 6, plan)  # the comparison tells another seed apart
    assert pass_order.cache_info().maxsize == 64 and pass_order.cache_info().currsize <= 64


# ----- keyword-only flags (issue 21.3) ----------------------------------------------------------------------------
def test_make_breakdown_builds_what_the_dataclass_builds_and_takes_its_flags_by_name():
    got = make_breakdown(PAPER, 1.5, reason="correct route", fmt=True, correct=True, detail=3.0, parsed="1: A → B")
    want = RewardBreakdown(18.75, 1.0, 10.0, 3.0, 1.5, 0.5, True, "1: A → B", "correct route", None)
    assert got == want and repr(got) == repr(want) and hash(got) == hash(want)
    assert make_breakdown(PAPER, 2.0, reason="no", error="no") == RewardBreakdown(0.0, 0.0, 0.0, 0.0, 2.0, 0.5,
                                                                                   False, None, "no", "no")
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.total = 0.0
    with pytest.raises(TypeError):
        make_breakdown(PAPER, 1.5, False, False, 0.0, None, "why")  # the old boolean trap


def test_detail_points_takes_a_route_and_q_by_name():
    s = planning_sample("oslo", *pairs("oslo", 1, 1)[0])
    idx = index_sample(s)
    secs = [(idx.refs[0][1][0], idx.s1, idx.refs[0][2][0])]
    route = Route(secs, None, idx.map.lines, idx.s1, idx.s2, idx.direct)
    assert detail_points(PAPER, PAPER.rules, route, q=idx.q) == 2.0  # the departure is right; no transfer
    with pytest.raises(TypeError):
        detail_points(PAPER, PAPER.rules, route, idx.q)


def test_sized_cache_keeps_its_newest_entries_when_full():
    """A byte-bounded cache drops its oldest entries to make room; it never empties itself (issue 21). The old
    SizedCache cleared everything when full: after 1,000 puts into room for 100 it kept 100 only by luck of the
    count (1,000 = 10 x 100), and after 1,050 it kept 50."""
    from rmlite.reward.index import SizedCache

    for n in (1_000, 1_050, 1_099):
        c = SizedCache(max_bytes=100)
        for k in range(n):
            c.put(k, str(k), size=1)
        assert sorted(c.data) == list(range(n - 100, n)), n
        assert c.nbytes == sum(c.sizes.values()) == 100
    c = SizedCache(max_bytes=10)
    c.put("a", 1, size=4)
    c.put("a", 2, size=6)  # replacing an entry counts its new size once
    assert (c.get("a"), c.nbytes) == (2, 6)
    c.put("b", 3, size=11)  # larger than the whole cache: not kept, nothing dropped
    assert (c.get("b"), c.get("a"), c.nbytes) == (None, 2, 6)
