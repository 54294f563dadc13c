"""``?name[]=`` on a service's metrics port takes a family's name as well as a sample's."""
from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app
from werkzeug.test import Client

from servicekit.process.metrics import FamilyNames, sample_names


def page(registry, query: str) -> str:
    """What prometheus_client's server (``start_http_server``, the same WSGI app) answers for ``query``."""
    return Client(make_wsgi_app(FamilyNames(registry))).get(f"/metrics?{query}").get_data(as_text=True)


def test_a_family_name_selects_every_sample_of_the_family_and_nothing_else():
    registry = CollectorRegistry()
    Histogram("rpc_seconds", "time", ["op"], registry=registry).labels("a").observe(0.2)
    Counter("events", "count", registry=registry).inc()
    text = page(registry, "name[]=rpc_seconds")
    assert 'rpc_seconds_bucket{le="0.25",op="a"} 1.0' in text
    assert 'rpc_seconds_count{op="a"} 1.0' in text and 'rpc_seconds_sum{op="a"} 0.2' in text
    assert "events" not in text
    assert "events_total 1.0" in page(registry, "name[]=events")
    both = page(registry, "name[]=events_total&name[]=rpc_seconds_count")          # sample names, as before
    assert "events_total 1.0" in both and 'rpc_seconds_count{op="a"} 1.0' in both and "_bucket" not in both
    assert "rpc_seconds" in page(registry, "") and "events_total" in page(registry, "")


def test_sample_names_keep_the_names_given():
    assert {"x_count", "x_count_sum"} <= sample_names(["x_count"]) and "x_count" in sample_names(["x_count"])
