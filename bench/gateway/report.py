#!/usr/bin/env python3
"""bench/gateway's report: the rows run.sh measured, as one markdown table
(contenders side by side, latency added over the upstream called directly)
and the issue's targets with their status; plot.tsv for gnuplot.

Usage: report.py OUT SECONDS_EACH "RATES"
"""
import sys

out, seconds, rates = sys.argv[1], sys.argv[2], [int(r) for r in sys.argv[3].split()]
NAMES = {"direct": "upstream direct", "one": "sluice, 1 process",
         "one-untraced": "sluice, 1 process, no spans kept",
         "split": "sluice, split", "portkey": "Portkey 1.15.2"}

rows = {}
for line in open(f"{out}/rows.tsv"):
    c, stream, rate, rps, f50, f99, l50, l99, errors, cpu = line.rstrip("\n").split("\t")
    rows[(c, int(stream), int(rate))] = dict(
        rps=float(rps or 0), f50=float(f50 or 0), f99=float(f99 or 0),
        l50=float(l50 or 0), l99=float(l99 or 0), errors=int(errors or 0),
        cpu=int(cpu or 0))
rss = {}
for line in open(f"{out}/rss.tsv"):
    c, mb = line.split()
    rss[c] = int(mb)
contenders = [c for c in NAMES if any(k[0] == c for k in rows)]


def row(c, stream, rate):
    return rows.get((c, stream, rate))


def failed(r):
    """Nearly every answer an error (rps counts errors too)."""
    return r["errors"] > 0 and r["errors"] >= 0.9 * r["rps"] * float(seconds)


def cell(c, stream, rate, keys, added):
    r, d = row(c, stream, rate), row("direct", stream, rate)
    if r is None:
        return "—"
    if r["rps"] == 0 or failed(r):
        return f"failed ({r['errors']} errors)"
    values = []
    for key in keys:
        v = r[key] - (d[key] if added and d else 0)
        values.append(f"{v:+.2f}" if added else f"{v:.2f}")
    note = ""
    if rate and r["rps"] < 0.95 * rate:
        note = f" (only {r['rps']:.0f}/s)"
    if r["errors"]:
        note += f" ({r['errors']} errors)"
    return " / ".join(values) + note


def saturation(c, stream):
    r = row(c, stream, 0)
    if r is None:
        return "—"
    return "failed" if r["rps"] == 0 or failed(r) else f"{r['rps']:.0f}"


lines = []
header = "| | " + " | ".join(NAMES[c] for c in contenders) + " |"
lines.append(header)
lines.append("|" + "---|" * (len(contenders) + 1))


def add(label, fn):
    lines.append(f"| {label} | " + " | ".join(fn(c) for c in contenders) + " |")


for rate in rates:
    add(f"unary, {rate}/s: latency p50 / p99 ms (direct), added ms (others)",
        lambda c, rate=rate: cell(c, 0, rate, ["l50", "l99"], c != "direct"))
add("unary, saturation (32 connections): requests/s", lambda c: saturation(c, 0))
for rate in rates:
    add(f"stream, {rate}/s: first byte p50 / p99, added",
        lambda c, rate=rate: cell(c, 1, rate, ["f50", "f99"], c != "direct"))
    add(f"stream, {rate}/s: last byte p50 / p99, added",
        lambda c, rate=rate: cell(c, 1, rate, ["l50", "l99"], c != "direct"))
add("stream, saturation: requests/s", lambda c: saturation(c, 1))
top = max(rates)
add(f"CPU µs per unary request (at {top}/s)",
    lambda c: str(row(c, 0, top)["cpu"]) if row(c, 0, top) else "—")
add(f"CPU µs per streamed request (at {top}/s)",
    lambda c: "—" if not row(c, 1, top) or failed(row(c, 1, top)) else str(row(c, 1, top)["cpu"]))
add("peak RSS, MB", lambda c: str(rss.get(c, "—")))
print("\n".join(lines))

# The targets of the components issue.
def get(c, stream, rate, key):
    r = row(c, stream, rate)
    return None if r is None else r[key]


def added(c, stream, rate, key):
    r, d = row(c, stream, rate), row("direct", stream, rate)
    return None if r is None or d is None else r[key] - d[key]


targets = []
cpu_one = get("one", 0, top, "cpu")
targets.append(("CPU per non-streamed request, 1 process, metering on", "≤ 100 µs",
                cpu_one, lambda v: v <= 100, "{} µs"))
cpu_stream = get("one", 1, top, "cpu")
targets.append(("CPU per streamed request, 1 process", "≤ 250 µs", cpu_stream,
                lambda v: v <= 250, "{} µs"))
sat_one, sat_portkey = get("one", 0, 0, "rps"), get("portkey", 0, 0, "rps")
ratio = sat_one / sat_portkey if sat_one and sat_portkey else None
targets.append(("saturation vs Portkey (same run)", "≥ 10×", ratio,
                lambda v: v >= 10, "{:.1f}×"))
sat_stream = get("one", 1, 0, "rps")
share = sat_stream / sat_one if sat_one and sat_stream else None
targets.append(("streamed saturation vs non-streamed", "≥ 50 %",
                None if share is None else 100 * share, lambda v: v >= 50, "{:.0f} %"))
p99_one = added("one", 0, 5000, "l99")
targets.append(("added p99 at 5k/s, 1 process", "≤ 1 ms", p99_one,
                lambda v: v <= 1, "{:.2f} ms"))
p99_split = added("split", 0, 5000, "l99")
targets.append(("added p99 at 5k/s, split", "≤ 3 ms", p99_split,
                lambda v: v <= 3, "{:.2f} ms"))
rss_one = rss.get("one")
targets.append(("RSS at 5k/s, 1 process", "≤ 100 MB", rss_one,
                lambda v: v <= 100, "{} MB"))
print()
print("| target | goal | measured | status |")
print("|---|---|---|---|")
for name, goal, value, ok, fmt in targets:
    if value is None:
        print(f"| {name} | {goal} | not measured | — |")
    else:
        print(f"| {name} | {goal} | {fmt.format(value)} | {'met' if ok(value) else 'NOT met'} |")

# The upstream called directly is measured at RATES only; its latency hardly
# moves with load, so the plot's other rates subtract its nearest.
def added_nearest(c, rate, key):
    r = row(c, 0, rate)
    direct_rates = [k[2] for k in rows if k[0] == "direct" and k[1] == 0 and k[2]]
    if r is None or not direct_rates:
        return None
    nearest = min(direct_rates, key=lambda d: abs(d - rate))
    return r[key] - rows[("direct", 0, nearest)][key]


with open(f"{out}/plot.tsv", "w") as plot:
    plot.write("rate\tone_p50\tone_p99\tsplit_p50\tsplit_p99\n")
    for rate in sorted({k[2] for k in rows if k[0] in ("one", "split") and k[1] == 0 and k[2]}):
        values = [added_nearest(c, rate, k) for c in ("one", "split") for k in ("l50", "l99")]
        plot.write(f"{rate}\t" + "\t".join("" if v is None else f"{v:.3f}" for v in values) + "\n")
