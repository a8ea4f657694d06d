"""What the notebooks call: `import rmlite.notebook as nb`, then `nb.knobs()`, `nb.ensure_data()`, `nb.map_browser()`.

Rooms: `env` (smoke mode, knobs, output folder, install, backend and preset reports, data modes), `knobs` (the
knob schema: a misspelt knob is one line), `text` (printed tables within 120 columns and 40 lines), `playground`
(01's gallery, reward tables and the lab for notebooks 02 and 06), `runs` (models, training and evaluation helpers
for 03-05), `widgets` (ipywidgets browsers, each with a static view where no widget can be drawn), `sync` (the
badges, time lines and install cell every notebook shares). ipywidgets, IPython and matplotlib are imported inside
the functions that draw, so this package imports without them.
"""

from rmlite.lab.report import console_summary, probe_summary
from rmlite.notebook.env import (
    BRANCH,
    CORE_DISTS,
    CPU_TRACK,
    CPU_TRACK_NUMBERS,
    DATA_MODES,
    DEFAULTS,
    DRIVE_DIR,
    GPU_DISTS,
    NOTEBOOKS,
    OUT_ENV,
    REPO,
    SMOKE_ENV,
    SMOKE_SUFFIX,
    WATCHED,
    WIDGETS_ENV,
    badge,
    colab_url,
    ensure_data,
    install_report,
    is_smoke,
    knobs,
    missing_distributions,
    on_colab,
    output_dir,
    preset_report,
    progress_bars,
    quiet_bars,
    setting,
    stale_modules,
)
from rmlite.notebook.knobs import KNOBS, KnobError
from rmlite.notebook.playground import (
    advantage_table,
    answer_choices,
    card,
    gallery,
    lab_rewards,
    logged_lab,
    logged_tables,
    real_map_detail,
    reward_comparison,
    reward_rows,
    reward_table,
    signal_density_plot,
)
from rmlite.notebook.runs import (
    STAGE2_MODES,
    adapters,
    amplifiable,
    base_model,
    comparison,
    comparison_plot,
    completion_length,
    curves,
    data_summary,
    eval_sets,
    failures,
    free_memory,
    has_checkpoint,
    heldout_change,
    heldout_eval,
    heldout_set,
    live_curves,
    load,
    require_gpu_for,
    run_preset,
    settings,
    stage2_curriculum,
    stage_data,
    stage_switches,
)
from rmlite.notebook.text import fit_text, wrap
from rmlite.notebook.widgets import StaticView, ask_widget, live_frontend, map_browser, reward_widget, rollout_browser

__all__ = [
    "BRANCH", "CORE_DISTS", "CPU_TRACK", "CPU_TRACK_NUMBERS", "DATA_MODES", "DEFAULTS", "DRIVE_DIR", "GPU_DISTS",
    "NOTEBOOKS", "OUT_ENV", "REPO", "SMOKE_ENV", "SMOKE_SUFFIX", "WATCHED", "WIDGETS_ENV",
    "badge", "colab_url", "ensure_data", "install_report", "is_smoke", "knobs", "missing_distributions",
    "on_colab", "output_dir", "setting", "stale_modules", "answer_choices", "card", "lab_rewards", "logged_lab",
    "reward_rows", "reward_table", "signal_density_plot", "STAGE2_MODES", "adapters", "amplifiable", "base_model",
    "comparison", "comparison_plot", "curves", "data_summary", "eval_sets", "failures", "free_memory",
    "has_checkpoint", "heldout_change", "heldout_eval", "heldout_set", "live_curves", "load", "require_gpu_for",
    "stage2_curriculum", "stage_data", "stage_switches", "StaticView", "ask_widget", "live_frontend",
    "map_browser", "reward_widget", "rollout_browser", "probe_summary", "console_summary",
    "completion_length", "run_preset", "settings", "preset_report", "KNOBS", "KnobError", "advantage_table",
    "gallery", "logged_tables", "real_map_detail", "reward_comparison", "fit_text", "wrap", "progress_bars",
    "quiet_bars",
]
