#!/usr/bin/env python3
"""Turns the samples of scripts/bench.sh into figures per server.

Reads RESULTS/samples.tsv (CPU ticks and RSS around each run),
RESULTS/runs/*.json (what mixer-bench counted) and RESULTS/machine.env.
Writes RESULTS/results.json and RESULTS/bench.png, and prints a Markdown
table of the medians over rounds with the ratios to nginx.

Usage: bench-summary.py RESULTS_DIR
"""

import json
import statistics
import sys
from pathlib import Path

BASELINE = "nginx"

# Headline figures: key, label, unit, target for the proxy. A target of
# None means "at most the baseline's median".
HEADLINE = [
    ("handshake_cpu_us", "server CPU per full mTLS handshake", "µs", 800.0),
    ("echo_cpu_s_per_gb", "server CPU per GB moved, echo", "s", 0.85),
    ("idle_rss_kib_per_conn", "RSS added per idle mTLS connection", "KiB", 20.0),
    ("latency_p99_us", "64 B ping-pong at 2,000 msg/s, p99", "µs", None),
]

# Context figures, reported without a target.
CONTEXT = [
    ("upload_cpu_s_per_gb", "server CPU per GB, upload only", "s"),
    ("download_cpu_s_per_gb", "server CPU per GB, download only", "s"),
    ("latency_p50_us", "ping-pong p50", "µs"),
    ("latency_p999_us", "ping-pong p99.9", "µs"),
    ("handshakes_per_s", "handshakes per second (client-bound)", "1/s"),
    ("echo_mb_per_s", "echo MB/s moved (client-bound)", "MB/s"),
]


def read_env(path):
    env = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        env[key] = value
    return env


def figures_of_run(mode, cpu_s, rss_before, rss_during, report):
    """Returns the figures one run yields, keyed like HEADLINE and CONTEXT."""
    if mode == "handshakes":
        completed = report["completed"]
        return {
            "handshake_cpu_us": cpu_s * 1e6 / completed,
            "handshakes_per_s": report["per_second"],
        }
    if mode in ("echo", "upload", "download"):
        gigabytes = report["bytes_moved"] / 1e9
        figures = {f"{mode}_cpu_s_per_gb": cpu_s / gigabytes}
        if mode == "echo":
            figures["echo_mb_per_s"] = report["megabytes_per_second"]
        return figures
    if mode == "latency":
        return {
            "latency_p50_us": report["p50_us"],
            "latency_p99_us": report["p99_us"],
            "latency_p999_us": report["p999_us"],
        }
    if mode == "idle":
        added = rss_during - rss_before
        return {"idle_rss_kib_per_conn": added / report["established"]}
    raise ValueError(f"unknown mode {mode!r} in samples.tsv")


def collect(results, clk_tck):
    """Returns {server: {figure: [value per round]}}."""
    per_server = {}
    for line in (results / "samples.tsv").read_text().splitlines():
        fields = line.split()
        round_, server, mode = fields[0], fields[1], fields[2]
        ticks_before, ticks_after, rss_before, rss_during, _ = map(int, fields[3:])
        report_path = results / "runs" / f"{round_}-{server}-{mode}.json"
        report = json.loads(report_path.read_text())
        cpu_s = (ticks_after - ticks_before) / clk_tck
        figures = figures_of_run(mode, cpu_s, rss_before, rss_during, report)
        for key, value in figures.items():
            per_server.setdefault(server, {}).setdefault(key, []).append(value)
    return per_server


def summarize(per_server):
    """Returns {server: {figure: {"median", "rounds"}}}."""
    return {
        server: {
            key: {"median": statistics.median(values), "rounds": values}
            for key, values in figures.items()
        }
        for server, figures in per_server.items()
    }


def median_of(summary, server, key):
    entry = summary.get(server, {}).get(key)
    return None if entry is None else entry["median"]


def verdicts(summary):
    """Returns {server: {figure: {"target", "met"}}} for the headline figures."""
    out = {}
    for server in summary:
        if server == BASELINE:
            continue
        out[server] = {}
        for key, _, _, target in HEADLINE:
            if target is None:
                target = median_of(summary, BASELINE, key)
            value = median_of(summary, server, key)
            met = None if value is None or target is None else value <= target
            out[server][key] = {"target": target, "met": met}
    return out


def fmt(value):
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def markdown_table(summary, checks):
    servers = [BASELINE] + sorted(s for s in summary if s != BASELINE)
    ours = [s for s in servers if s != BASELINE]
    header = ["figure"] + servers + [f"{s} / {BASELINE}" for s in ours]
    header += [f"{s} target" for s in ours]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    rows = [(k, label, unit, True) for k, label, unit, _ in HEADLINE]
    rows += [(k, label, unit, False) for k, label, unit in CONTEXT]
    for key, label, unit, headline in rows:
        cells = [f"{label} ({unit})"]
        cells += [fmt(median_of(summary, s, key)) for s in servers]
        base = median_of(summary, BASELINE, key)
        for server in ours:
            value = median_of(summary, server, key)
            ratio = None if value is None or not base else value / base
            cells.append("-" if ratio is None else f"{ratio:.2f}")
        for server in ours:
            if not headline:
                cells.append("")
                continue
            check = checks[server][key]
            mark = {True: "met", False: "not met", None: "-"}[check["met"]]
            cells.append(f"≤ {fmt(check['target'])}: {mark}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(summary, checks, path, title):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed; no plot written", file=sys.stderr)
        return
    servers = [BASELINE] + sorted(s for s in summary if s != BASELINE)
    colors = ["#999999", "#1f77b4", "#2ca02c", "#d62728"]
    fig, axes = plt.subplots(2, 2, figsize=(9, 6), dpi=80)
    for axis, (key, label, unit, _) in zip(axes.flat, HEADLINE):
        for index, server in enumerate(servers):
            entry = summary.get(server, {}).get(key)
            if entry is None:
                continue
            axis.bar(index, entry["median"], color=colors[index % len(colors)])
            axis.plot([index] * len(entry["rounds"]), entry["rounds"], "k.", markersize=4)
        targets = {c[key]["target"] for c in checks.values() if c[key]["target"]}
        for target in targets:
            axis.axhline(target, color="k", linestyle="--", linewidth=1)
        axis.set_xticks(range(len(servers)), servers)
        axis.set_title(label, fontsize=10)
        axis.set_ylabel(unit)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    print(f"plot written to {path}")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bench-summary.py RESULTS_DIR")
    results = Path(sys.argv[1])
    env = read_env(results / "machine.env")
    clk_tck = int(env.get("clk_tck", "100"))

    summary = summarize(collect(results, clk_tck))
    if BASELINE not in summary:
        sys.exit(f"no runs of {BASELINE} in {results}/samples.tsv")
    checks = verdicts(summary)

    out = {"machine": env, "servers": summary, "targets": checks}
    (results / "results.json").write_text(json.dumps(out, indent=2) + "\n")

    print(f"machine: {env.get('nproc')} x {env.get('cpu')}, kernel {env.get('kernel')}")
    print(f"{env.get('nginx')}, {env.get('openssl')}, {env.get('rustc')}")
    print(f"load average before {env.get('load_before')}, after {env.get('load_after')}")
    print(f"medians over {env.get('rounds')} rounds; lower is better everywhere")
    print("except the two client-bound rates, which are context only")
    print()
    print(markdown_table(summary, checks))
    title = f"medians and rounds, {env.get('nproc')} cores, load {env.get('load_before')}"
    plot(summary, checks, results / "bench.png", title)


if __name__ == "__main__":
    main()
