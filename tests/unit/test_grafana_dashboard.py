"""The themed day's Grafana dashboard (deploy/grafana/themed-day.json): a dashboard Grafana imports, on a
Prometheus chosen when importing, whose queries parse and name only metrics the platform serves."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from tests.support.promql import ROOT, defined_metric_names, metric_names

DASHBOARD = ROOT / "deploy" / "grafana" / "themed-day.json"
# what the themed day is watched by: scans by outcome, their p99, the lags, the queues, the outbox, the store
REQUIRED = {"attendance_scans_total", "gateway_request_seconds_bucket", "score_lag_seconds_bucket",
            "event_wait_seconds_bucket", "event_queue_messages_ready", "outbox_oldest_age_seconds", "store_up"}


@pytest.fixture(scope="module")
def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def panels(dashboard: dict) -> list[dict]:
    """Every panel, those inside a collapsed row too."""
    return [panel for top in dashboard["panels"] for panel in [top, *top.get("panels", [])]]


def queries(dashboard: dict) -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in panels(dashboard) for target in panel.get("targets", [])]


def test_the_dashboard_has_the_basics_grafana_needs(dashboard):
    assert dashboard["uid"] and dashboard["title"] and isinstance(dashboard["schemaVersion"], int)
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    found = panels(dashboard)
    assert len(found) >= 8
    ids = [panel["id"] for panel in found]
    assert len(ids) == len(set(ids)), f"panel ids repeat: {sorted(ids)}"
    for panel in found:
        grid = panel["gridPos"]
        assert panel["title"] and 0 <= grid["x"] and grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert panel["targets"] and len(ref_ids) == len(set(ref_ids)), panel["title"]


def test_panels_do_not_overlap(dashboard):
    cells = {}
    for panel in panels(dashboard):
        grid = panel["gridPos"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_every_query_names_only_metrics_the_platform_serves(dashboard):
    defined = defined_metric_names()
    used = set()
    for title, expr in queries(dashboard):
        names = metric_names(expr)
        assert names, f"{title}: no metric in {expr}"
        assert names <= defined, f"{title}: {sorted(names - defined)} are served by no process"
        used |= names
    assert REQUIRED <= used, f"the dashboard does not show {sorted(REQUIRED - used)}"


def test_every_query_parses(dashboard, tmp_path):
    """promtool has no server-less query check; a recording rule per query makes ``check rules`` parse each."""
    tool = shutil.which("promtool")
    if not tool:
        pytest.skip("promtool is not installed: bin/setup installs it (Debian's prometheus package)")
    rules = [{"record": f"dashboard:query_{index}", "expr": expr.replace("$__rate_interval", "1m")}
             for index, (_, expr) in enumerate(queries(dashboard))]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = subprocess.run([tool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
