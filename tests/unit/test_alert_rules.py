"""The alert rules (deploy/alerts/): valid for Prometheus, each alert's promtool tests pass, and every metric an
expression names is one the platform serves."""
from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.support.promql import ROOT, defined_metric_names, metric_names

ALERTS = ROOT / "deploy" / "alerts"
RULE_FILES = sorted(ALERTS.glob("*.yml"))
TEST_FILES = sorted((ALERTS / "tests").glob("*.yml"))
# the alerts docs/operations.md promises, each with its promtool test
PLATFORM_ALERTS = {"InstanceDown", "GatewayErrorRatioHigh", "ServiceErrorRatioHigh", "ScanLatencyHigh", "OutboxStuck",
                   "ConsumerLagHigh", "ConsumerBacklogHigh", "ScoreLagHigh", "StoreUnavailable"}


def rules(path):
    return [rule for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"] for rule in group["rules"]]


def promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        pytest.skip("promtool is not installed: bin/setup installs it (Debian's prometheus package)")
    return found


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_metric_name_reader_sees_names_and_nothing_else():
    expr = ('sum by (service, le) (rate(event_wait_seconds_bucket{consumer=~"score|points", le!="+Inf"}[5m] '
            'offset 1m)) / on(job) group_left(instance) max without (queue) (up{job="x"}) > bool 1e3 '
            'and absent(store_up) or vector(1) unless $__rate_interval')
    assert metric_names(expr) == {"event_wait_seconds_bucket", "up", "store_up"}


def test_the_defined_names_include_each_kind_of_family_and_nothing_invented():
    defined = defined_metric_names()
    assert {"gateway_requests_total", "gateway_request_seconds_bucket", "outbox_oldest_age_seconds",
            "store_up", "attendance_scans_total", "event_queue_messages_ready", "up"} <= defined
    assert "gateway_requests_total_total" not in defined and "store_up_bucket" not in defined


def test_every_alert_names_only_metrics_the_platform_serves():
    defined = defined_metric_names()
    assert RULE_FILES, "no rule files under deploy/alerts/"
    for path in RULE_FILES:
        for rule in rules(path):
            unknown = metric_names(rule["expr"]) - defined
            assert not unknown, f"{path.name}: {rule.get('alert') or rule.get('record')} names {sorted(unknown)}"


def test_the_platform_alerts_are_all_there_each_with_a_runbook_and_a_test():
    platform = {rule["alert"]: rule for rule in rules(ALERTS / "platform.yml")}
    assert set(platform) == PLATFORM_ALERTS
    tested = {case["alertname"] for path in TEST_FILES for test in yaml.safe_load(path.read_text())["tests"]
              for case in test.get("alert_rule_test", []) if case.get("exp_alerts")}
    every_alert = {rule["alert"] for path in RULE_FILES for rule in rules(path) if "alert" in rule}
    assert PLATFORM_ALERTS <= tested, f"alerts never seen firing in a test: {sorted(PLATFORM_ALERTS - tested)}"
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for name, rule in platform.items():
        assert rule["annotations"]["runbook"] == f"docs/operations.md#{name.lower()}"
        assert f"### {name}" in operations
    assert every_alert, "no alerts"


def test_promtool_accepts_the_rules_and_the_configuration():
    tool = promtool()
    checked = run(tool, "check", "rules", *map(str, RULE_FILES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    config = run(tool, "check", "config", "deploy/prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr
    for path in RULE_FILES:
        loaded = f"Checking deploy/alerts/{path.name}" in config.stdout + config.stderr
        assert loaded, f"deploy/prometheus.yml does not load {path.name}"


def test_promtool_rule_tests_pass():
    tool = promtool()
    assert TEST_FILES
    tested = run(tool, "test", "rules", *map(str, TEST_FILES))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout + tested.stderr
