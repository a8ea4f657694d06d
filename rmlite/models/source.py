"""Can a model load from here? A local folder, the Hugging Face cache, or a hub that answers; else one sentence.

Checked before torch / transformers are imported (`huggingface_hub` only), so a typo in a path, a hub name that is
not cached while HF_HUB_OFFLINE=1, or an unreachable hub is reported in well under a second (offline) or within
`HUB_TIMEOUT_S` (online), never after a minute of "Retrying in Ns" lines and a traceback.
"""

from __future__ import annotations

from pathlib import Path

from rmlite.schema import ADAPTER_DIR

HUB_TIMEOUT_S = 10.0  # how long an online check of a hub name may wait before saying the hub is unreachable
EXAMPLE_LOCAL_MODEL = "runs/demo/model (written by `make demo`)"


class ModelUnavailable(FileNotFoundError):
    """The model cannot be loaded from here (no such folder, not cached while offline, hub unreachable)."""


def _looks_local(name: str) -> bool:
    """A path rather than a hub id ("owner/name"): starts like a path, has several parts, or its first part is a
    folder here (a typo such as "runs/mdoel" is then reported as a missing folder, not as a hub download)."""
    parts = Path(name).parts
    return (name.startswith((".", "/", "~")) or "\\" in name or len(parts) > 2
            or (len(parts) == 2 and Path(parts[0]).is_dir()))


def model_source(name: str) -> str:
    """Where `name` loads from: "local" (a model folder), "cache" (the Hugging Face cache) or "hub" (a download).

    Raises `ModelUnavailable` with one sentence and the fix when it cannot load: a missing or non-model folder, a
    hub name not cached while HF_HUB_OFFLINE=1, an unknown hub name, or a hub not answering in `HUB_TIMEOUT_S`.
    """
    path = Path(name).expanduser()
    if path.exists():
        adapter = next((p for p in (path, path / ADAPTER_DIR) if (p / "adapter_config.json").is_file()), None)
        if adapter is not None:
            raise ModelUnavailable(f"{name} holds a LoRA adapter (a training run's output), not a model: pass it as "
                                   f"--adapter {adapter} and the base model as --model")
        if not (path / "config.json").is_file():
            raise ModelUnavailable(f"{name} is not a model folder (no config.json); pass a folder written by "
                                   f"save_pretrained, e.g. {EXAMPLE_LOCAL_MODEL}")
        return "local"
    if _looks_local(name):
        where = f" (looked in {Path.cwd()})" if not path.is_absolute() else ""
        raise ModelUnavailable(f"no such folder: {name}{where}; pass a model folder, e.g. {EXAMPLE_LOCAL_MODEL}")
    from huggingface_hub import constants, try_to_load_from_cache

    try:
        if isinstance(try_to_load_from_cache(name, "config.json"), str):
            return "cache"
    except ValueError as e:  # HFValidationError: not a valid repo id
        raise ModelUnavailable(f"{name} is neither a folder nor a hub model name ({e})") from None
    fix = (f"download it once on a machine with network (huggingface-cli download {name}) or pass a local folder, "
           f"e.g. {EXAMPLE_LOCAL_MODEL}")
    if constants.HF_HUB_OFFLINE:
        raise ModelUnavailable(f"model {name} is not in the local Hugging Face cache and the hub is offline "
                               f"(HF_HUB_OFFLINE=1): {fix}")
    _ask_hub(name, fix)
    return "hub"


def _ask_hub(name: str, fix: str) -> None:
    """One quick metadata request (no retries) so an unknown name or an unreachable hub fails in seconds."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:
        HfApi().model_info(name, timeout=HUB_TIMEOUT_S)
    except GatedRepoError:
        return  # exists; from_pretrained says how to get access
    except RepositoryNotFoundError:
        raise ModelUnavailable(f"no model {name} on the Hugging Face hub (private? huggingface-cli login); check "
                               f"the name or pass a local folder, e.g. {EXAMPLE_LOCAL_MODEL}") from None
    except Exception as e:  # httpx / OS errors: no network, DNS, proxy, timeout
        reason = " ".join(str(e).split())[:120]
        raise ModelUnavailable(f"model {name} is not cached and the Hugging Face hub could not be reached (waited "
                               f"at most {HUB_TIMEOUT_S:g} s; {type(e).__name__}: {reason}): {fix}") from None
