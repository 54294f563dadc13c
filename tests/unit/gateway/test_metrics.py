from prometheus_client import REGISTRY

from gateway.client import ApiError


def count(protocol: str, operation: str, outcome: str) -> float:
    labels = {"protocol": protocol, "operation": operation, "outcome": outcome}
    return REGISTRY.get_sample_value("gateway_requests_total", labels) or 0.0


def observations(protocol: str, operation: str, outcome: str) -> float:
    labels = {"protocol": protocol, "operation": operation, "outcome": outcome}
    return REGISTRY.get_sample_value("gateway_request_seconds_count", labels) or 0.0


def test_an_http_request_is_counted_and_timed(http, backend, token):
    before, timed = count("http", "GetMe", "ok"), observations("http", "GetMe", "ok")
    http.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert count("http", "GetMe", "ok") == before + 1
    assert observations("http", "GetMe", "ok") == timed + 1


def test_a_refused_request_is_counted_under_its_error_kind(http, backend):
    before = count("http", "GetMe", "UNAUTHENTICATED")
    http.get("/v1/me")
    assert count("http", "GetMe", "UNAUTHENTICATED") == before + 1


def test_a_grpc_request_is_counted(grpc_client, backend, token):
    ok, refused = count("grpc", "GetMe", "ok"), count("grpc", "GetMe", "UNAUTHENTICATED")
    grpc_client.call("GetMe", {}, token)
    try:
        grpc_client.call("GetMe", {})
    except ApiError:
        pass
    assert count("grpc", "GetMe", "ok") == ok + 1
    assert count("grpc", "GetMe", "UNAUTHENTICATED") == refused + 1


def test_metrics_are_served_as_prometheus_text(http, admin_http, backend, token):
    http.get("/v1/orgs/org-1", headers={"Authorization": f"Bearer {token}"})
    response = admin_http.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert 'gateway_requests_total{operation="GetOrg",outcome="ok",protocol="http"}' in text
    assert "gateway_request_seconds_bucket" in text
    assert "gateway_requests_in_flight" in text


def test_nothing_is_left_in_flight_after_requests(http, backend, token):
    http.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert REGISTRY.get_sample_value("gateway_requests_in_flight", {"protocol": "http"}) == 0


def test_metrics_can_be_asked_for_by_name(http, admin_http, backend, token):
    """``?name[]=`` as prometheus_client's own server: a poller that wants two series does not pay for the page."""
    http.get("/v1/orgs/org-1", headers={"Authorization": f"Bearer {token}"})
    text = admin_http.get("/metrics?name[]=gateway_requests_total&name[]=gateway_requests_in_flight").get_data(as_text=True)
    assert 'gateway_requests_total{operation="GetOrg",outcome="ok",protocol="http"}' in text
    assert "gateway_requests_in_flight" in text
    assert "gateway_request_seconds" not in text


def test_a_family_name_selects_all_its_samples_and_sample_names_still_work(http, admin_http, backend, token):
    """prometheus_client filters by sample name only: ``name[]=gateway_request_seconds`` answered an empty page."""
    http.get("/v1/orgs/org-1", headers={"Authorization": f"Bearer {token}"})
    text = admin_http.get("/metrics?name[]=gateway_request_seconds").get_data(as_text=True)
    for sample in ("gateway_request_seconds_bucket{", "gateway_request_seconds_count{", "gateway_request_seconds_sum{"):
        assert sample in text
    assert "gateway_requests_total" not in text and "gateway_requests_in_flight" not in text
    counters = admin_http.get("/metrics?name[]=gateway_requests").get_data(as_text=True)
    assert 'gateway_requests_total{operation="GetOrg",outcome="ok",protocol="http"}' in counters
    count_only = admin_http.get("/metrics?name[]=gateway_request_seconds_count").get_data(as_text=True)
    assert "gateway_request_seconds_count{" in count_only and "_bucket" not in count_only
