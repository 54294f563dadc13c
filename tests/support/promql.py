"""The metric names PromQL expressions use, and the names the platform's code defines: the alert rules
(deploy/alerts/) and the dashboard (deploy/grafana/) may only name series a process really serves."""
from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import ProcessCollector

ROOT = Path(__file__).resolve().parents[2]
CODE_FOLDERS = ("gateway", "services", "servicekit")

# prometheus_client's constructors and the families a custom collector yields, with the name as a string literal
DEFINITION = re.compile(r"\b(Counter|Gauge|Histogram|Summary|Info|CounterMetricFamily|GaugeMetricFamily|"
                        r"HistogramMetricFamily|SummaryMetricFamily)\(\s*\"([A-Za-z_:][A-Za-z0-9_:]*)\"")
# the samples each kind of family exposes (prometheus_client's exposition)
SAMPLES = {
    "Counter": ("_total", "_created"),
    "CounterMetricFamily": ("_total", "_created"),
    "Gauge": ("",),
    "GaugeMetricFamily": ("",),
    "Histogram": ("_bucket", "_sum", "_count", "_created"),
    "HistogramMetricFamily": ("_bucket", "_sum", "_count", "_created"),
    "Summary": ("", "_sum", "_count", "_created"),
    "SummaryMetricFamily": ("", "_sum", "_count", "_created"),
    "Info": ("_info",),
}

STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
MATCHERS = re.compile(r"\{[^{}]*\}")
RANGE = re.compile(r"\[[^\[\]]*\]")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
VARIABLE = re.compile(r"\$\{[^}]*\}|\$\w+")                  # Grafana's $__rate_interval, ${datasource}
TOKEN = re.compile(r"\d[\w.]*|[A-Za-z_:][A-Za-z0-9_:]*")
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right",
            "inf", "nan", "Inf", "NaN", "atan2"}


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects: identifiers that are neither a function (followed by "("),
    a keyword, a label (inside {}, by (...) and the like) nor a number or duration."""
    text = STRING.sub('""', expr)
    text = MATCHERS.sub(" ", text)
    text = RANGE.sub(" ", text)
    text = VARIABLE.sub("1", text)
    text = GROUPING.sub(" ", text)
    names = set()
    for match in TOKEN.finditer(text):
        token = match.group()
        if token[0].isdigit() or token in KEYWORDS:
            continue
        if text[match.end():].lstrip().startswith("("):
            continue
        names.add(token)
    return names


def defined_metric_names(root: Path = ROOT) -> set[str]:
    """Every sample name the platform's processes can serve: its own families (found in the source) and
    prometheus_client's process collector, which every process's default registry carries; ``up`` is
    Prometheus's own, one per target."""
    names = {"up"}
    for folder in CODE_FOLDERS:
        for path in (root / folder).rglob("*.py"):
            for kind, name in DEFINITION.findall(path.read_text(encoding="utf-8")):
                base = name[:-len("_total")] if kind.startswith("Counter") and name.endswith("_total") else name
                names.update(base + suffix for suffix in SAMPLES[kind])
    names.update(sample.name for family in ProcessCollector(registry=None).collect() for sample in family.samples)
    return names
