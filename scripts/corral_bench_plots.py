"""make bench's plots: five SVGs drawn with matplotlib from the results of
scripts/corral_bench_lib.py (the run with the most CPUs that has each
benchmark).  A plot whose data is missing is skipped with the reason."""
import os
import sys
from typing import List, Optional

from corral_bench_lib import BATCH_MODES, CALL_CASES, CORRAL_CASES, goal_limit, ok_runs

DEBIAN_DIST_PACKAGES = "/usr/lib/python3/dist-packages"
PLOTS = ("corral_vs_cpus.svg", "window_phases.svg", "scan_vs_threads.svg", "batch.svg", "call_overhead.svg")


def load_pyplot():
    """(pyplot with the Agg backend, None), or (None, why not).  Debian's
    python3-matplotlib is in /usr/lib/python3/dist-packages, which a python3
    of its own (pyenv, a venv) does not search: that is tried second."""
    try:
        import matplotlib
    except ImportError as first:
        if not os.path.isdir(DEBIAN_DIST_PACKAGES) or DEBIAN_DIST_PACKAGES in sys.path:
            return None, f"matplotlib is not importable ({first}; apt-get install python3-matplotlib)"
        sys.path.append(DEBIAN_DIST_PACKAGES)
        try:
            import matplotlib
        except Exception as e:        # e.g. Debian's build is for another Python version
            sys.path.remove(DEBIAN_DIST_PACKAGES)
            return None, (f"matplotlib is not importable, not even from {DEBIAN_DIST_PACKAGES} ({e}; "
                          f"apt-get install python3-matplotlib)")
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"     # text stays text: smaller files, searchable, editable
    import matplotlib.pyplot as plt
    return plt, None


def pick_run(runs: List[dict], name: str) -> Optional[dict]:
    """The passed run with the most CPUs that has results of `name` (the first of a tie)."""
    best = None
    for run in ok_runs(runs):
        if any(r["name"] == name for r in run["results"]) and (best is None or run["cpus"] > best["cpus"]):
            best = run
    return best


def _rows(run: dict, name: str) -> List[dict]:
    return [r for r in run["results"] if r["name"] == name]


def _latest(runs: List[dict], name: str):
    """(the run pick_run chooses, its results of `name`), or (None, [])."""
    run = pick_run(runs, name)
    return (run, _rows(run, name)) if run else (None, [])


def _in_order(values, preferred=()):
    """Distinct values: the preferred ones in their order, then the rest as they came."""
    seen = list(dict.fromkeys(values))
    return [v for v in preferred if v in seen] + [v for v in seen if v not in preferred]


def _save(plt, fig, path: str) -> str:
    # bbox "tight" takes in legends outside the axes; no date: the same data gives the same file.
    fig.savefig(path, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return f"wrote {path}"


def _skip(path: str, why: str) -> str:
    return f"skipped {os.path.basename(path)}: {why}"


def _run_title(run: dict) -> str:
    return run.get("name") or f"smp{run['cpus']}-{run['accel']}"


def _log_x_axes(ax, ticks, base, xlabel, ylabel, title):
    """A log x axis ticked at the measured values, y from 0, the legend outside on the right."""
    if all(t > 0 for t in ticks):
        ax.set_xscale("log", base=base)
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t) for t in ticks])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))


def plot_corral_vs_cpus(plt, runs: List[dict], path: str) -> str:
    run, rows = _latest(runs, "corral")
    if not rows:
        return _skip(path, "no corral results")
    cases = _in_order([r["case"] for r in rows], CORRAL_CASES)
    goal = goal_limit(rows)
    unit = rows[0]["unit"]
    fig, axes = plt.subplots(1, len(cases), figsize=(4.6 * len(cases), 4.2), squeeze=False, sharey=True,
                             layout="constrained")
    top = max(max(r["median"], r["ipi_median"]) for r in rows) * 1.1
    top_ratio = max([goal] + [r["ratio"] for r in rows]) * 1.15
    handles = []
    for ax, case in zip(axes[0], cases):
        pts = sorted((r for r in rows if r["case"] == case), key=lambda r: r["ncpus"])
        x = [r["ncpus"] for r in pts]
        h1, = ax.plot(x, [r["median"] for r in pts], "o-", color="tab:blue", label="corral median")
        h2, = ax.plot(x, [r["ipi_median"] for r in pts], "s--", color="tab:gray", label="IPI round trip median")
        ax.set_title(f"other CPUs {case}")
        ax.set_xlabel("CPUs in the corral (with the caller)")
        ax.set_xticks(x)
        ax.set_ylim(0, top)
        ax2 = ax.twinx()
        h3, = ax2.plot(x, [r["ratio"] for r in pts], "^:", color="tab:red", label="corral / IPI")
        h4 = ax2.axhline(goal, color="tab:red", linewidth=0.8, linestyle="--", label=f"goal: ratio <= {goal:g}")
        ax2.set_ylim(0, top_ratio)
        ax2.set_ylabel("corral / IPI", color="tab:red")
        handles = [h1, h2, h3, h4]
    axes[0][0].set_ylabel(f"median ({unit})")
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0), ncol=4, fontsize="small")
    fig.suptitle(f"Corral vs an IPI round trip to the same CPUs ({_run_title(run)})")
    return _save(plt, fig, path)


def plot_window_phases(plt, runs: List[dict], path: str, threads: int = 16) -> str:
    run, rows = _latest(runs, "window")
    rows = [r for r in rows if r["threads"] == threads]
    if not rows:
        return _skip(path, f"no window results at threads={threads}")
    strategies = _in_order([r["case"] for r in rows])
    by_case = {r["case"]: r for r in rows}
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    color = {p: colors[i % len(colors)] for i, p in enumerate(_in_order([p for r in rows for p in r["phases"]]))}
    fig, ax = plt.subplots(figsize=(max(5.0, 1.6 * len(strategies) + 2), 4.5))
    labelled = set()
    for x, strategy in enumerate(strategies):
        bottom = 0.0
        for phase, height in by_case[strategy]["phases"].items():      # each bar in its own phase order
            ax.bar(x, height, bottom=bottom, color=color[phase], label=None if phase in labelled else phase)
            labelled.add(phase)
            bottom += height
        ax.hlines(by_case[strategy]["median"], x - 0.45, x + 0.45, colors="black", linestyles="dashed",
                  label=None if x else "whole window median")
    ax.set_xticks(range(len(strategies)))
    ax.set_xticklabels(strategies)
    ax.set_ylabel(f"median ({rows[0]['unit']})")
    ax.set_title(f"The window's phases, {threads} sleeping threads ({_run_title(run)})")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return _save(plt, fig, path)


def plot_scan_vs_threads(plt, runs: List[dict], path: str) -> str:
    run, rows = _latest(runs, "window")
    if not rows:
        return _skip(path, "no window results")
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for strategy in _in_order([r["case"] for r in rows]):
        pts = sorted((r for r in rows if r["case"] == strategy), key=lambda r: r["threads"])
        ax.plot([r["threads"] for r in pts], [r["median"] for r in pts], "o-", label=strategy)
    _log_x_axes(ax, sorted({r["threads"] for r in rows}), 2, "sleeping threads",
                f"whole window, median ({rows[0]['unit']})", f"Patch window vs threads ({_run_title(run)})")
    return _save(plt, fig, path)


def plot_batch(plt, runs: List[dict], path: str) -> str:
    run, rows = _latest(runs, "batch")
    if not rows:
        return _skip(path, "no batch results")
    fig, ax = plt.subplots(figsize=(7, 5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, strategy in enumerate(_in_order([r["case"] for r in rows])):
        for mode in _in_order([r["mode"] for r in rows if r["case"] == strategy], BATCH_MODES):
            pts = sorted((r for r in rows if r["case"] == strategy and r["mode"] == mode), key=lambda r: r["k"])
            x, y = [r["k"] for r in pts], [r["per_patch"] for r in pts]
            ax.plot(x, y, "o-" if mode == "one" else "s--", color=colors[i % len(colors)],
                    label=f"{strategy}, {'one transaction' if mode == 'one' else 'k transactions'}")
            for r in pts:
                ax.annotate(f"{r['corrals']}c {r['syncs']}s", (r["k"], r["per_patch"]), textcoords="offset points",
                            xytext=(4, 4), fontsize=6, color=colors[i % len(colors)])
    _log_x_axes(ax, sorted({r["k"] for r in rows}), 10, "k patches", f"median per patch ({rows[0]['unit']})",
                f"Batching k patches ({_run_title(run)}); labels: corrals c, syncs s")
    return _save(plt, fig, path)


def plot_call_overhead(plt, runs: List[dict], path: str) -> str:
    run, rows = _latest(runs, "call")
    if not rows:
        return _skip(path, "no call results")
    by_case = {r["case"]: r for r in rows}
    cases = _in_order([r["case"] for r in rows], CALL_CASES)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(cases) + 1.5), 4.5))
    bars = ax.bar(cases, [by_case[c]["median"] for c in cases], color="tab:blue")
    for bar, case in zip(bars, cases):
        ax.annotate(f"{by_case[case]['ratio_to_plain']:.2f}x", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    textcoords="offset points", xytext=(0, 3), ha="center", fontsize="small")
    ax.set_ylabel(f"{rows[0]['unit']} per call (median)")
    ax.set_title(f"Cost of a call by patch-site layout ({_run_title(run)}); labels: x plain")
    ax.tick_params(axis="x", labelrotation=20)
    return _save(plt, fig, path)


PLOTTERS = (plot_corral_vs_cpus, plot_window_phases, plot_scan_vs_threads, plot_batch, plot_call_overhead)


def draw_plots(runs: List[dict], out_dir: str) -> List[str]:
    """Every plot into out_dir; one line each: what was written or why not."""
    plt, why = load_pyplot()
    if plt is None:
        return [_skip(name, why) for name in PLOTS]
    os.makedirs(out_dir, exist_ok=True)
    notes = []
    for plotter, name in zip(PLOTTERS, PLOTS):
        path = os.path.join(out_dir, name)
        try:
            notes.append(plotter(plt, runs, path))
        except Exception as e:      # a plot bug must not lose the other plots: results.json is already written
            plt.close("all")
            notes.append(f"FAILED {name}: {type(e).__name__}: {e}")
    return notes
