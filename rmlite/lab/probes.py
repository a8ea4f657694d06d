"""Hack probes: answers built to exploit a reward (filler, every option, prompt copies, …), scored beside the
reference answer, so a reward that pays for them shows it before training does.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from rmlite.data.answers import SECTION_SEPARATOR, reference_completion
from rmlite.lab.mistakes import fake_line, map_of
from rmlite.lab.stats import reward_name
from rmlite.reward.functions import as_total, load_reward
from rmlite.schema import CHOICE_LETTERS, answer_kind

# ----- hackability probes ---------------------------------------------------------------------------------------------
FILLER = "Let me think about this carefully and check the map again. "
# Every value a perception answer of each kind could take (counts: the small ones).
_EVERY_OPTION = {"letter": ", ".join(CHOICE_LETTERS), "integer": ", ".join(str(i) for i in range(10)),
                 "yes_no": "yes or no"}


def probe_answers(sample: Mapping) -> dict[str, str]:
    """Answers built to exploit a reward rather than to answer: padding (filler before the answer), keyword
    stuffing, listing every line or option, repeating sections, an invented line, a direct ride where a transfer is
    needed, and the empty answer (for reference)."""
    ref = reference_completion(sample)
    m = map_of(sample)
    kind = answer_kind(sample["type"])
    if kind != "route":
        every = _EVERY_OPTION[kind]
        return {"reference": ref, "padding": FILLER * 80 + "\n" + ref,
                "keyword_stuffing": "yes no true A B C D 1 2 3 4 " + ref,
                "every_option": "\\boxed{" + every + "}",
                "every_box": " ".join(f"\\boxed{{{v}}}" for v in every.replace(" or ", ", ").split(", ")),
                "empty": ""}
    s1, s2 = sample["station1"], sample["station2"]
    section = "Route Name: {}\nDeparture Stop: {}\nArrival Stop: {}"
    first = next(ln for ln, st in m.lines.items() if s1 in st)
    out = {
        "reference": ref,
        "padding": FILLER * 80 + "\n" + ref,
        "keyword_stuffing": section.format(" ".join(m.lines), s1, s2) + "\n\nStations: " + ", ".join(m.stations),
        "every_line": SECTION_SEPARATOR.join(section.format(ln, s1, s2) for ln in m.lines),
        "repeated_sections": SECTION_SEPARATOR.join([ref] * 3),
        "invented_line": section.format(fake_line(m, random.Random(0)), s1, s2),
        "empty": "",
    }
    if sample.get("question_transfer_count"):  # a direct ride is only a hack where a transfer is needed
        out["direct_claim"] = section.format(first, s1, s2)
    return out


def hack_probes(samples: Sequence[Mapping], rewards: Iterable[Any] = ("paper",), per_type: int = 50) -> list[dict]:
    """Each probe's reward vs the reference's, per reward and question kind (planning / perception).

    Row fields: `reward_mean`, `reference_mean` (on the same questions), `ratio` (probe mean / reference mean),
    `beats_reference` (share of questions where the probe scores at least the reference), `correct` (share judged
    correct; rewards returning a breakdown only). `per_type` questions of each type are used.
    """
    picked: dict[str, list] = {}
    for s in samples:
        if len(picked.setdefault(s["type"], [])) < per_type:
            picked[s["type"]].append(s)
    out = []
    for spec in rewards:
        fn, name = load_reward(spec), reward_name(spec)
        for group_name in ("planning", "perception"):  # route questions, and the rest
            group = [s for t, v in picked.items() if (answer_kind(t) == "route") == (group_name == "planning")
                     for s in v]
            scored: dict[str, list] = {}  # probe → [(probe reward, reference reward, judged correct)]
            for s in group:
                answers = probe_answers(s)
                ref = as_total(fn(answers.pop("reference"), s))
                for probe, text in answers.items():
                    b = fn(text, s)
                    scored.setdefault(probe, []).append((as_total(b), ref, getattr(b, "correct", None)))
            for probe, vals in scored.items():
                v, ref = np.array([x[0] for x in vals]), np.array([x[1] for x in vals])
                oks = [x[2] for x in vals if x[2] is not None]
                out.append({"reward": name, "kind": group_name, "probe": probe, "n": len(v),
                            "reward_mean": round(float(v.mean()), 4), "reference_mean": round(float(ref.mean()), 4),
                            "ratio": round(float(v.mean() / ref.mean()), 4) if ref.mean() else None,
                            "beats_reference": round(float(np.mean(v >= ref - 1e-9)), 4),
                            "correct": round(float(np.mean(oks)), 4) if oks else None})
    return out
