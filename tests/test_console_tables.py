"""Every table a command or a notebook helper prints fits 120 columns and 40 lines (issue 25 part 6).

Each row of `CASES` runs a command (through `rmlite.cli.main`, as a user types it) or a notebook helper on small
real data and captures what it prints. The check here shares no code with `rmlite.tables`: a line is too wide past
120 characters, and a table is a run of non-blank lines, too long past 40. Where a table was cut, the file it names
holds every row. The audit table was 202 columns wide and the lab's 84 lines before `rmlite.tables`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rmlite.cli import main
from rmlite.data import load_split
from rmlite.evaluate import EvalReport, chance_report, change_table, majority_answers, score_answers

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "data" / "mini"
WIDTH, LINES = 120, 40


def faults(text: str) -> list[str]:
    out = [f"{len(line)} columns: {line[:60]}..." for line in text.splitlines() if len(line) > WIDTH]
    blocks = re.split(r"\n\s*\n", text)
    out += [f"a table of {len(b.splitlines())} lines: {b.splitlines()[0][:60]}..." for b in blocks
            if len(b.splitlines()) > LINES]
    return out


def cut_tables_are_whole_in_their_file(text: str) -> None:
    """A table shown cut names its file last; that file has more lines than were shown."""
    for b in re.split(r"\n\s*\n", text):
        lines = b.splitlines()
        if len(lines) >= 2 and "more rows" in lines[-2] or "more lines" in (lines[-2] if len(lines) >= 2 else ""):
            path = Path(lines[-1].strip())
            assert path.is_file() and len(path.read_text().splitlines()) > len(lines) - 2, (path, lines[-2])


def _samples():
    return [{k: v for k, v in r.items() if k != "image"} for r in load_split(MINI, "test").to_list()]


def _reports(samples) -> dict[str, EvalReport]:
    """Several runs of the same answers under long names, the way `rmlite eval --compat release` names them."""
    keys = [f"\\boxed{{{s['answer']}}}" if s["type"].startswith("torf") else "" for s in samples]
    out = {name: score_answers(samples, keys, name=name)
           for name in ("stage2-curriculum", "stage2-curriculum (image masked)", "stage2-curriculum (release)")}
    out["chance"] = chance_report(samples)
    out["majority"] = score_answers(samples, majority_answers(samples), name="majority")
    return out


def run_generate(tmp: Path, capsys) -> str:
    main(["generate", "--maps", "3", "--size", "512", "--out", str(tmp / "my-maps")])
    return capsys.readouterr().out


def run_audit(tmp: Path, capsys) -> str:
    main(["audit", str(MINI), "--report", "--picture", str(tmp / "labels.png")])
    return capsys.readouterr().out


def run_lab(tmp: Path, capsys) -> str:
    main(["lab", "--data", str(MINI), "--limit", "60", "--group-size", "4", "--no-plots", "--out", str(tmp / "lab")])
    return capsys.readouterr().out


def run_eval(tmp: Path, capsys, monkeypatch) -> str:
    """`rmlite eval` with the model's answers given (no model runs): what it prints of the reports."""
    from rmlite.cli import checks, model_commands
    from rmlite.evaluate import write_reports

    def answered(model, processor, ds, *, out, **kw):
        reports = _reports(_samples())
        write_reports(list(reports.values()), out)
        return reports

    monkeypatch.setattr(checks, "model", lambda *a, **k: None)
    monkeypatch.setattr(checks, "adapter", lambda *a, **k: None)
    monkeypatch.setattr(model_commands, "load_model", lambda *a, **k: (None, None))
    monkeypatch.setattr(model_commands, "evaluate", answered)
    main(["eval", "--data", str(MINI), "--model", "tiny", "--out", str(tmp / "eval")])
    return capsys.readouterr().out


def demo_table(tmp: Path, capsys) -> str:
    """The table the demo prints at its end (its call, on real reports)."""
    r = _reports(_samples())
    return change_table(r["stage2-curriculum"], r["stage2-curriculum (image masked)"], [r["chance"], r["majority"]])


def notebook_lab(tmp: Path, capsys, monkeypatch) -> str:
    """06's lab cells: the summary, the advantage table and the probe summary (as the notebook prints it)."""
    import rmlite.notebook as nb
    from rmlite.lab.measure import run_lab as lab

    monkeypatch.setenv("RMLITE_NB_OUT", str(tmp))
    res = lab(_samples()[:60], ("sparse", "paper", "official", "robust"), group_size=4, probes=True)
    return "\n\n".join([nb.console_summary(res, "planning"), nb.advantage_table(res),
                        nb.fit_text(nb.probe_summary(res), tmp / "probes.txt")])


CASES = {"generate": run_generate, "audit": run_audit, "lab": run_lab, "eval": run_eval, "demo": demo_table,
         "notebook lab": notebook_lab}


@pytest.mark.parametrize("name", list(CASES))
def test_printed_tables_fit(name, tmp_path, capsys, monkeypatch):
    fn = CASES[name]
    text = fn(tmp_path, capsys, monkeypatch) if "monkeypatch" in fn.__code__.co_varnames else fn(tmp_path, capsys)
    assert text.strip()
    assert not faults(text), faults(text)
    cut_tables_are_whole_in_their_file(text)


def test_the_check_sees_a_wide_and_a_long_table():
    """The check fails the tables the issue found: a 202-column audit row, a 72-line table."""
    assert faults("| " + "x | " * 50) and faults("\n".join(["row"] * 72))
    assert not faults("\n".join(["x" * 120] * 40) + "\n\n" + "\n".join(["y"] * 40))
