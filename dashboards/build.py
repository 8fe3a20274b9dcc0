"""Build (and serve) the role dashboards as Apache Superset instances over the published marts.

Run with the dashboards' own interpreter (``dashboards/.venv``, installed by ``make dashboards``):

    dashboards/.venv/bin/python dashboards/build.py build --config demo/config.yml
    dashboards/.venv/bin/python dashboards/build.py serve --config demo/config.yml --output public

Two outputs, never mixed (DESIGN §9):
- ``<data_dir>/dashboards/public``: the board and public page, connected to ``marts_aggregate.duckdb``
  only; shown without a login; its files are 0644.
- ``<data_dir>/dashboards/restricted``: leadership, one principal page per school, program manager /
  coach, school coordinator and data team, connected to ``marts_restricted.duckdb``; login required;
  its files are 0640 (the folder 0750).

Each output is a Superset metadata database copied from the template that the install step prepared
(``superset db upgrade`` + ``superset init`` once), then filled with one DuckDB connection (read-only),
a virtual dataset per chart, the charts and the dashboards of ``pages.py``. Charts query the published
file live, through ``published/current``, so a new publication shows without a rebuild (a rebuild is
needed only when the set of schools changes).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TEMPLATE = HERE / ".venv" / "superset-template" / "superset.db"
MODES = {"public": (0o644, 0o755), "restricted": (0o640, 0o750)}


def data_dir_of(config: Path) -> Path:
    """The config's data_dir, relative to the config file (DESIGN §5)."""
    import yaml
    doc = yaml.safe_load(config.read_text()) or {}
    d = Path(doc.get("data_dir", "./data"))
    return (config.parent / d).resolve() if not d.is_absolute() else d


def superset_env(out: Path) -> dict:
    return dict(os.environ, SUPERSET_CONFIG_PATH=str(HERE / "superset_config.py"),
                TUTORING_IMPACT_DASHBOARDS=str(out), SCARF_ANALYTICS="false", FLASK_APP="superset.app:create_app()")


# ------------------------------------------------------------------ template (install step)
def make_template() -> None:
    """Create the empty, migrated Superset metadata database every build starts from."""
    tdir = TEMPLATE.parent
    shutil.rmtree(tdir, ignore_errors=True)
    tdir.mkdir(parents=True)
    env = superset_env(tdir)
    exe = Path(sys.executable).parent / "superset"
    for cmd in (["db", "upgrade"], ["init"]):
        r = subprocess.run([str(exe), *cmd], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"superset {' '.join(cmd)} failed:\n{r.stderr[-3000:]}")


# ------------------------------------------------------------------ build
def build(config: Path, outputs: list[str]) -> dict[str, Path]:
    data_dir = data_dir_of(config)
    current = data_dir / "published" / "current"
    if not (current / "marts_aggregate.duckdb").is_file():
        sys.exit(f"no publication at {current}: run the pipeline first "
                 f"(tutoring-impact run --config {config} --all)")
    if not TEMPLATE.is_file():
        sys.exit(f"{TEMPLATE} is missing: run `make dashboards` (it prepares the Superset template)")
    # the outputs are filled side by side (each is its own Superset process), then swapped into place
    jobs = {}
    for output in outputs:
        final = data_dir / "dashboards" / output
        tmp = final.with_name(f".{output}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        shutil.copyfile(TEMPLATE, tmp / "superset.db")
        (tmp / "secret_key").write_text(secrets.token_urlsafe(42))
        os.chmod(tmp / "secret_key", 0o600)
        serving = current / ("marts_aggregate.duckdb" if output == "public" else "marts_restricted.duckdb")
        version = os.readlink(current) if current.is_symlink() else ""
        (tmp / "instance.json").write_text(json.dumps(
            {"access": output, "serving_file": str(serving), "published_version": version,
             "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=1))
        log = open(tmp / "build.log", "w")
        proc = subprocess.Popen([sys.executable, str(Path(__file__)), "_fill", "--out", str(tmp)],
                                env=superset_env(tmp), stdout=log, stderr=subprocess.STDOUT)
        jobs[output] = (proc, tmp, final, log)
    failed = []
    for output, (proc, tmp, final, log) in jobs.items():
        proc.wait()
        log.close()
        if proc.returncode != 0:
            failed.append(f"building the {output} dashboards failed:\n" + (tmp / "build.log").read_text()[-4000:])
    if failed:
        for _, tmp, _, _ in jobs.values():
            shutil.rmtree(tmp, ignore_errors=True)
        sys.exit("\n".join(failed))
    built = {}
    for output, (_, tmp, final, _) in jobs.items():
        (tmp / "build.log").unlink()
        _apply_modes(tmp, output)
        old = final.with_name(f".{output}.old-{os.getpid()}")
        if final.exists():
            os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
        built[output] = final
    return built


def _apply_modes(out: Path, output: str) -> None:
    fmode, dmode = MODES[output]
    for p in out.rglob("*"):
        if p.name in ("secret_key", "admin_password"):
            continue
        os.chmod(p, dmode if p.is_dir() else fmode)
    os.chmod(out, dmode)


def _fill(out: Path) -> None:
    """Inside the Superset app: connection, datasets, charts, dashboards and access for one output."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(HERE))
    import duckdb
    import pages
    from orchestration.marts import AGGREGATE
    instance = json.loads((out / "instance.json").read_text())
    output, serving = instance["access"], Path(instance["serving_file"])

    con = duckdb.connect(str(serving), read_only=True)
    tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    names = ("(select school_id, max(school_name) as school_name from schools group by school_id)"
             if "schools" in tables else "(select null as school_id, null as school_name)")
    schools = con.execute(
        "select distinct t.school_id, coalesce(n.school_name, t.school_id) from tier_distribution t "
        f"left join {names} n on n.school_id = t.school_id where t.school_id <> 'ALL' order by 1").fetchall()
    page_list = pages.public_pages() if output == "public" else pages.restricted_pages(schools)
    for page in page_list:
        absent = [c for c in page.charts if c.optional and any(m not in tables for m in c.marts)]
        if absent:
            page.charts = [c for c in page.charts if c not in absent]
            page.intro += " (Not in this publication: " + ", ".join(
                f"{c.title} — needs {', '.join(m for m in c.marts if m not in tables)}" for c in absent) + ".)"
        for chart in page.charts:
            missing = [m for m in chart.marts if m not in tables]
            if missing:
                raise SystemExit(f"page {page.slug}: chart {chart.title!r} reads {missing}, not in {serving.name}")
            if output == "public" and any(m not in AGGREGATE for m in chart.marts):
                raise SystemExit(f"public page {page.slug} reads a restricted mart: {chart.marts}")
    colours = {p.slug: _label_colours(con, p) for p in page_list}
    con.close()

    from superset.app import create_app
    app = create_app()
    with app.app_context():
        from superset.connectors.sqla.models import SqlaTable
        from superset.extensions import db, security_manager
        from superset.models.core import Database
        from superset.models.dashboard import Dashboard
        from superset.models.slice import Slice

        # the restricted output has one administrator (password in admin_password, 0600) who adds staff
        # accounts; the public output has no accounts at all: visitors are anonymous and read only
        owners = []
        if output == "restricted":
            password = secrets.token_urlsafe(12)
            owners = [security_manager.add_user("admin", "Dashboards", "Admin", "admin@localhost",
                                                security_manager.find_role("Admin"), password=password)]
            (out / "admin_password").write_text(password + "\n")
            os.chmod(out / "admin_password", 0o600)

        database = Database(database_name=f"marts_{'aggregate' if output == 'public' else 'restricted'}",
                            sqlalchemy_uri=f"duckdb:///{serving}",
                            extra=json.dumps({"engine_params": {"connect_args": {"read_only": True}}}),
                            expose_in_sqllab=False, allow_dml=False)
        db.session.add(database)
        db.session.flush()
        datasets = []
        for page in page_list:
            slices = []
            for i, chart in enumerate(page.charts):
                ds = SqlaTable(table_name=f"{page.slug}__{i + 1}", database=database, schema="main",
                               sql=chart.sql, owners=owners, description=chart.title)
                db.session.add(ds)
                db.session.flush()
                ds.fetch_metadata()
                for col in ds.columns:
                    col.verbose_name = pages.LABELS.get(col.column_name)
                if chart.kind == "table" and not chart.columns:
                    chart.columns = tuple(c.column_name for c in ds.columns)
                datasets.append(ds)
                slc = Slice(slice_name=chart.title, viz_type=_viz_type(chart), datasource_type="table",
                            datasource_id=ds.id, datasource_name=ds.table_name,
                            params=json.dumps(_form_data(chart, ds.id)), description=chart.description or None,
                            owners=owners)
                db.session.add(slc)
                slices.append(slc)
            db.session.flush()
            dash = Dashboard(dashboard_title=page.title, slug=page.slug, published=True, owners=owners,
                             position_json=json.dumps(_layout(page, slices)),
                             json_metadata=json.dumps({**DASHBOARD_METADATA, "label_colors": colours[page.slug],
                                                       "map_label_colors": colours[page.slug]}),
                             slices=slices, description=page.intro)
            db.session.add(dash)
        db.session.commit()
        if output == "public":
            _open_to_public(security_manager, db, database, datasets)
        db.session.commit()
    (out / "pages.json").write_text(json.dumps(
        [{"slug": p.slug, "title": p.title, "role": p.role, "charts": [c.title for c in p.charts]} for p in page_list],
        indent=1))


# The colour settings are complete as saved (default scheme, empty label maps), so opening a page never
# makes the browser write them back — which an anonymous visitor may not do (a 403 in the console).
DASHBOARD_METADATA = {"color_scheme": "", "color_scheme_domain": [], "label_colors": {}, "map_label_colors": {},
                      "shared_label_colors": [], "refresh_frequency": 0, "native_filter_configuration": [],
                      "cross_filters_enabled": False, "expanded_slices": {}, "timed_refresh_immune_slices": []}


TIER_COLOURS = {"Tier 1 %": "#5AC189", "Tier 2 %": "#FCC700", "Tier 3 %": "#E04355"}
PALETTE = ("#1FA8C9", "#454E7C", "#FF7F44", "#666666", "#E04355", "#FCC700", "#A868B7", "#3CCCCB", "#A38F79",
           "#8FD3E4", "#A1A6BD", "#ACE1C4", "#FEC0A1", "#B2B2B2", "#EFA1AA", "#FDE380", "#D3B3DA", "#9EE5E5")


def _label_colours(con, page) -> dict:
    """A fixed colour for every series a page draws (a metric's label, or each value of the column a
    chart groups by), saved with the dashboard: the same label has the same colour on every chart of
    the page, tiers are green / amber / red, and the browser finds nothing to save back."""
    labels: list[str] = []
    for chart in page.charts:
        if chart.kind not in ("bar", "line"):
            continue
        if chart.group:
            labels += [str(v) for (v,) in con.execute(
                f"select distinct {chart.group} from ({chart.sql}) where {chart.group} is not null order by 1").fetchall()]
        else:
            labels += [label for label, _ in chart.metrics]
    out, others = {}, [lb for lb in dict.fromkeys(labels) if lb not in TIER_COLOURS]
    for lb in dict.fromkeys(labels):
        out[lb] = TIER_COLOURS.get(lb) or PALETTE[others.index(lb) % len(PALETTE)]
    return out


def _open_to_public(sm, db, database, datasets) -> None:
    """The Public role (anonymous visitors of the public output) reads what Gamma may, and these
    datasets — all over marts_aggregate."""
    public, gamma = sm.find_role("Public"), sm.find_role("Gamma")
    public.permissions = list(gamma.permissions)
    for perm, view in [("database_access", database.perm)] + [("datasource_access", d.perm) for d in datasets]:
        pv = sm.add_permission_view_menu(perm, view)
        sm.add_permission_role(public, pv)


def _viz_type(chart) -> str:
    return {"table": "table", "bar": "echarts_timeseries_bar", "line": "echarts_timeseries_line",
            "number": "big_number_total"}[chart.kind]


def _metric(label: str, sql: str) -> dict:
    return {"expressionType": "SQL", "sqlExpression": sql, "label": label, "hasCustomLabel": True,
            "optionName": "metric_" + "".join(c if c.isalnum() else "_" for c in label)}


def _form_data(chart, ds_id: int) -> dict:
    base = {"datasource": f"{ds_id}__table", "viz_type": _viz_type(chart), "adhoc_filters": [], "row_limit": 10000,
            "extra_form_data": {}, "dashboards": []}
    if chart.kind == "table":
        return {**base, "query_mode": "raw", "all_columns": list(chart.columns), "order_by_cols": [],
                "server_pagination": False, "page_length": 0, "include_search": len(chart.columns) > 4,
                "show_cell_bars": False, "color_pn": False, "allow_render_html": False,
                "table_timestamp_format": "%Y-%m-%d", "percent_metrics": [], "temporal_columns_lookup": {}}
    if chart.kind == "number":
        label, sql = chart.metrics[0]
        return {**base, "metric": _metric(label, sql), "y_axis_format": chart.number_format, "header_font_size": 0.4,
                "subheader_font_size": 0.15, "subheader": chart.description}
    return {**base, "x_axis": chart.x, "metrics": [_metric(label, sql) for label, sql in chart.metrics],
            "groupby": [chart.group] if chart.group else [], "time_grain_sqla": None, "x_axis_sort_asc": True,
            "sort_series_type": "name", "sort_series_ascending": True, "order_desc": True,
            "stack": "Stack" if chart.stack else None, "show_legend": True, "legendType": "scroll",
            "legendOrientation": "top", "rich_tooltip": True, "show_value": False, "truncateXAxis": True,
            "y_axis_format": "SMART_NUMBER", "x_axis_time_format": "%Y-%m-%d", "xAxisLabelRotation": 0,
            "truncate_metric": True, "comparison_type": "values", "annotation_layers": [], "markerEnabled":
            chart.kind == "line", "markerSize": 6, "zoomable": False, "only_total": True, "orientation": "vertical",
            "seriesType": "line" if chart.kind == "line" else "bar"}


def _layout(page, slices) -> dict:
    """Superset's dashboard layout tree: a header, an intro row, then charts packed into rows of 12 columns."""
    pos = {"DASHBOARD_VERSION_KEY": "v2",
           "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
           "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
           "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": page.title}}}
    rows: list[list[tuple[str, int]]] = [[("MARKDOWN-intro", 12)]]
    pos["MARKDOWN-intro"] = {"type": "MARKDOWN", "id": "MARKDOWN-intro", "children": [],
                             "meta": {"width": 12, "height": 8,
                                      "code": f"**{page.role.capitalize()}.** {page.intro}"}}
    for i, (chart, slc) in enumerate(zip(page.charts, slices)):
        cid = f"CHART-{i + 1}"
        pos[cid] = {"type": "CHART", "id": cid, "children": [],
                    "meta": {"width": chart.width, "height": chart.height, "chartId": slc.id,
                             "sliceName": chart.title, "uuid": str(slc.uuid)}}
        if sum(w for _, w in rows[-1]) + chart.width > 12:
            rows.append([])
        rows[-1].append((cid, chart.width))
    for n, row in enumerate(rows):
        rid = f"ROW-{n + 1}"
        pos[rid] = {"type": "ROW", "id": rid, "children": [c for c, _ in row], "parents": ["ROOT_ID", "GRID_ID"],
                    "meta": {"background": "BACKGROUND_TRANSPARENT"}}
        pos["GRID_ID"]["children"].append(rid)
        for c, _ in row:
            pos[c]["parents"] = ["ROOT_ID", "GRID_ID", rid]
    return pos


# ------------------------------------------------------------------ serve
def serve(config: Path, output: str, port: int, host: str = "127.0.0.1") -> None:
    out = data_dir_of(config) / "dashboards" / output
    if not (out / "superset.db").is_file():
        sys.exit(f"{out} is not built: run `make dashboards CONFIG={config}` first")
    pages_built = json.loads((out / "pages.json").read_text())
    print(f"serving the {output} dashboards on http://{host}:{port}/ — open:", flush=True)
    for p in pages_built:
        print(f"  {p['role']:<26} http://{host}:{port}/superset/dashboard/{p['slug']}/?standalone=1", flush=True)
    exe = Path(sys.executable).parent / "superset"
    os.execve(str(exe), [str(exe), "run", "-h", host, "-p", str(port), "--with-threads"], superset_env(out))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="dashboards/build.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("template")
    b = sub.add_parser("build")
    b.add_argument("--config", type=Path, required=True)
    b.add_argument("--output", choices=["public", "restricted", "all"], default="all")
    s = sub.add_parser("serve")
    s.add_argument("--config", type=Path, required=True)
    s.add_argument("--output", choices=["public", "restricted"], required=True)
    s.add_argument("--port", type=int, default=8088)
    f = sub.add_parser("_fill")
    f.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    if a.cmd == "template":
        make_template()
    elif a.cmd == "build":
        t0 = time.monotonic()
        outs = ["public", "restricted"] if a.output == "all" else [a.output]
        built = build(a.config.resolve(), outs)
        cfg = a.config
        print(f"dashboards built in {time.monotonic() - t0:.0f} s from {data_dir_of(a.config.resolve()) / 'published' / 'current'}")
        for name, path in built.items():
            port = 8088 if name == "public" else 8089
            pages_built = json.loads((path / "pages.json").read_text())
            print(f"\n{name}: {path}")
            print(f"  serve:  dashboards/.venv/bin/python dashboards/build.py serve --config {cfg} --output {name}"
                  f"{'' if port == 8088 else ' --port 8089'}")
            print(f"  then open http://127.0.0.1:{port}/superset/dashboard/{pages_built[0]['slug']}/?standalone=1")
            if name == "restricted":
                print(f"  log in as admin, password in {path / 'admin_password'}")
            for p in pages_built:
                print(f"    {p['role']:<26} /superset/dashboard/{p['slug']}/?standalone=1")
    elif a.cmd == "serve":
        serve(a.config.resolve(), a.output, a.port)
    elif a.cmd == "_fill":
        _fill(a.out)


if __name__ == "__main__":
    main()
