"""The growth curve: bench/results/<n>.json for several district sizes → docs/performance.svg and the
fitted scaling exponent (least squares of log seconds on log students: seconds ∝ students^b).

    python bench/curve.py bench/results/35000.json bench/results/120000.json bench/results/district.json
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("land", "gate1", "dbt_build", "gate2", "publish", "report")


def exponent(xs: list[float], ys: list[float]) -> float:
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def load(paths: list[str]) -> list[dict]:
    docs = [json.loads(Path(p).read_text()) for p in paths]
    return sorted(docs, key=lambda d: d["students"])


def fit(docs: list[dict]) -> dict:
    xs = [d["students"] for d in docs]
    out = {"total_seconds": exponent(xs, [d["pipeline_seconds"] for d in docs]),
           "peak_rss": exponent(xs, [d["peak_rss_mib"] for d in docs]),
           "floor_seconds": exponent(xs, [d["floor_seconds"] for d in docs])}
    for s in STAGES:
        ys = [next((r["seconds"] for r in d["stages"] if r["stage"] == s), 0) for d in docs]
        if all(y > 0 for y in ys):
            out[s] = exponent(xs, ys)
    return {k: round(v, 2) for k, v in out.items()}


def chart(docs: list[dict]) -> str:
    import vl_convert as vlc
    values = []
    for d in docs:
        for r in d["stages"]:
            if r["stage"] in STAGES:
                values.append({"students": d["students"], "stage": r["stage"], "seconds": r["seconds"],
                               "k": STAGES.index(r["stage"])})
        values.append({"students": d["students"], "stage": "floor (DuckDB scan)", "seconds": d["floor_seconds"]})
    mem = [{"students": d["students"], "peak GiB": round(d["peak_rss_mib"] / 1024, 2)} for d in docs]
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "hconcat": [
            {"title": "Seconds per stage (stacked) against the floor", "width": 380, "height": 260,
             "layer": [
                 {"data": {"values": [v for v in values if v["stage"] in STAGES]}, "mark": "area",
                  "encoding": {"x": {"field": "students", "type": "quantitative", "title": "students"},
                               "y": {"field": "seconds", "type": "quantitative", "stack": "zero",
                                     "title": "wall seconds"},
                               "color": {"field": "stage", "type": "nominal", "sort": list(STAGES),
                                         "scale": {"scheme": "tableau10"}},
                               "order": {"field": "k", "type": "quantitative"}}},
                 {"data": {"values": [{"y": 600}]}, "mark": {"type": "rule", "color": "#c2412d"},
                  "encoding": {"y": {"field": "y", "type": "quantitative"}}},
                 {"data": {"values": [v for v in values if v["stage"].startswith("floor")]},
                  "mark": {"type": "line", "point": True, "color": "black", "strokeDash": [4, 3]},
                  "encoding": {"x": {"field": "students", "type": "quantitative"},
                               "y": {"field": "seconds", "type": "quantitative"}}}]},
            {"title": "Peak RSS of the process tree (budget 8 GiB)", "width": 260, "height": 260,
             "data": {"values": mem}, "mark": {"type": "line", "point": True},
             "encoding": {"x": {"field": "students", "type": "quantitative",
                                "axis": {"values": [0, 100000, 200000, 300000, 400000]}},
                          "y": {"field": "peak GiB", "type": "quantitative", "scale": {"domain": [0, 8]}}}}]}
    return vlc.vegalite_to_svg(spec)


def main(paths: list[str]) -> None:
    docs = load(paths)
    svg = chart(docs)
    out = ROOT / "docs" / "performance.svg"
    out.write_text(svg)
    print(json.dumps({"points": [(d["students"], d["pipeline_seconds"], d["peak_rss_mib"]) for d in docs],
                      "exponents": fit(docs)}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
