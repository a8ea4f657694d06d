"""The test models' disk cache (tests/fixtures/model_cache.py): a second run reads the build back, and a change to
anything that made it (a loaded module, a data file, an input), a damaged copy, a failed build or an edit made after
the session began never serves an old build. A fake package stands in for rmlite, so nothing real is trained."""

import importlib.util
import json
import os
import time

import pytest
from fixtures import model_cache as mc

PAST = time.time() - 60


@pytest.fixture
def pkg(tmp_path, monkeypatch):
    """A package with one loaded module, one module never imported and a data file, all written a minute ago."""
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "used.py").write_text("WIDTH = 3\n")
    (root / "unused.py").write_text("X = 1\n")
    (root / "font.ttf").write_bytes(b"glyphs")
    spec = importlib.util.spec_from_file_location("fakepkg_used", root / "used.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(__import__("sys").modules, "fakepkg_used", module)
    for p in root.iterdir():
        os.utime(p, (PAST, PAST))
    monkeypatch.setenv(mc.ENV, str(tmp_path / "cache"))
    return root


def _edit(path, data: bytes) -> None:
    path.write_bytes(data)
    os.utime(path, (PAST, PAST))  # as if edited before this session began


class Builder:
    def __init__(self, content: bytes = b"weights"):
        self.calls, self.content = 0, content

    def __call__(self, dest):
        self.calls += 1
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "model.bin").write_bytes(self.content + bytes([self.calls]))
        return {"built": self.calls}


def _get(pkg, tmp_path, build, inputs=None, since=None):
    dest = tmp_path / f"dest{time.perf_counter_ns()}"
    result = mc.cached_build("m", inputs or {"steps": 1}, build, dest, package=pkg, since=since or time.time())
    return result, (dest / "model.bin").read_bytes()


def test_a_second_run_reads_the_build_back(pkg, tmp_path):
    build = Builder()
    first = _get(pkg, tmp_path, build)
    assert _get(pkg, tmp_path, build) == first == ({"built": 1}, b"weights\x01") and build.calls == 1
    record = json.loads(next((tmp_path / "cache").glob("m-*/*/record.json")).read_text())
    assert set(record["code"]) == {"used.py", "font.ttf"}  # the loaded module and the data file, not unused.py


@pytest.mark.parametrize("change", ["loaded module", "data file", "inputs"])
def test_a_change_to_what_made_it_builds_again(pkg, tmp_path, change):
    build = Builder()
    _get(pkg, tmp_path, build)
    inputs = {"steps": 1}
    if change == "loaded module":
        _edit(pkg / "used.py", b"WIDTH = 4\n")
    elif change == "data file":
        _edit(pkg / "font.ttf", b"other glyphs")
    else:
        inputs = {"steps": 2}
    assert _get(pkg, tmp_path, build, inputs) == ({"built": 2}, b"weights\x02")
    assert _get(pkg, tmp_path, build, inputs) == ({"built": 2}, b"weights\x02")  # the new build is reused


def test_a_module_never_loaded_does_not_count(pkg, tmp_path):
    build = Builder()
    _get(pkg, tmp_path, build)
    _edit(pkg / "unused.py", b"X = 2\n")
    assert _get(pkg, tmp_path, build)[0] == {"built": 1}


def test_a_damaged_copy_is_rebuilt(pkg, tmp_path):
    build = Builder()
    _get(pkg, tmp_path, build)
    stored = next((tmp_path / "cache").glob("m-*/*/payload/model.bin"))
    stored.write_bytes(b"weightz\x01")
    assert _get(pkg, tmp_path, build) == ({"built": 2}, b"weights\x02")


def test_a_failed_build_stores_nothing(pkg, tmp_path):
    def broken(dest):
        dest.mkdir(parents=True)
        (dest / "model.bin").write_bytes(b"half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        _get(pkg, tmp_path, broken)
    assert not list((tmp_path / "cache").rglob("*.bin"))
    assert _get(pkg, tmp_path, Builder()) == ({"built": 1}, b"weights\x01")


def test_an_edit_after_the_session_began_bypasses_the_cache(pkg, tmp_path):
    """The module in memory may be older than the file: the cache is neither read nor written."""
    build = Builder()
    _get(pkg, tmp_path, build)
    (pkg / "used.py").write_text("WIDTH = 5\n")  # now: after `since` below
    since = time.time() - 5
    assert _get(pkg, tmp_path, build, since=since)[0] == {"built": 2}
    assert _get(pkg, tmp_path, build, since=since)[0] == {"built": 3}
    assert len(list((tmp_path / "cache").glob("m-*/*/record.json"))) == 1  # nothing stored from those builds


def test_off_turns_the_cache_off(pkg, tmp_path, monkeypatch):
    monkeypatch.setenv(mc.ENV, "off")
    build = Builder()
    _get(pkg, tmp_path, build)
    assert _get(pkg, tmp_path, build)[0] == {"built": 2} and not (tmp_path / "cache").exists()


def test_the_warm_models_record_covers_the_code_that_trained_it(warm_model_dir):
    """After the warm start, the files a record would list include the modules that built and trained the model
    and the fonts (named here by hand)."""
    listed = mc.code_files()
    for rel in ("models/tiny.py", "models/warmstart.py", "models/load.py", "maps/fonts/DejaVuSans.ttf"):
        assert rel in listed, rel
    assert (warm_model_dir / "model.safetensors").is_file()
