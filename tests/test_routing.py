"""runtime.contract.routing: the §1 URL contract and every §1 routing-failure row."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.app.model import App, Endpoint, FunctionSource, Webhook
from runtime.app.snapshot import route_entries, route_table
from runtime.errors import EndpointNotFound, MethodNotAllowed, WebhookNotFound
from runtime.contract.routing import RouteTable

HOOKS = "/api/client/v2.0/app/local/service"
ENDPOINTS = "/app/local/endpoint"


def fn(name: str) -> FunctionSource:
    return FunctionSource(name=name, path=Path(f"functions/{name}.js"), language="javascript")


def webhook(service: str, name: str, method: str, *, service_type: str = "http", validation: str = "NO_VALIDATION",
            secret: str = "") -> Webhook:
    return Webhook(service=service, service_type=service_type, name=name, function=fn(f"{service}/{name}"),
                   http_method=method, validation_method=validation, secret=secret)


def endpoint(route: str, method: str, function_name: str, *, validation: str = "NO_VALIDATION",
             disabled: bool = False) -> Endpoint:
    return Endpoint(route=route, http_method=method, function=fn(function_name), function_name=function_name,
                    validation_method=validation, disabled=disabled)


WEBHOOKS = (
    webhook("http", "create", "POST", validation="VERIFY_PAYLOAD", secret="okemo"),
    webhook("http", "anything", "ANY"),
    webhook("http", "list", "GET", validation="SECRET_AS_QUERY_PARAM", secret="s"),
    webhook("http", "ping", "HEAD"),
    webhook("http", "nested/drop/in", "PUT"),
    # the loader gives GitHub and Twilio webhooks the method ANY (contract §2.5; tests/test_app_config.py)
    webhook("gh", "push", "ANY", service_type="github", secret="mongostitchgithub"),
    webhook("sms", "incoming", "ANY", service_type="twilio"),
)
ENDPOINTS_ = (
    endpoint("/greet", "GET", "greet"),
    endpoint("/bob/the/route/builder", "GET", "bob_get"),
    endpoint("/bob/the/route/builder", "POST", "bob_post", validation="VERIFY_PAYLOAD"),
    endpoint("/bob/the/route/builder", "DELETE", "bob_delete"),
    endpoint("/hello/latest", "*", "hello"),
    endpoint("/httpSErv21/webhook0", "PATCH", "httpSErv21_webhook0"),
    endpoint("/mixed", "*", "mixed_any"),
    endpoint("/mixed", "GET", "mixed_get"),
    endpoint("/off", "GET", "off", disabled=True),
    endpoint("/half", "GET", "half_get", disabled=True),
    endpoint("/half", "POST", "half_post"),
    endpoint("/", "POST", "root"),
)


@pytest.fixture(scope="module")
def table() -> RouteTable:
    app = App(root=Path("app"), app_id="local", name="test", functions_dir=None, webhooks=WEBHOOKS, endpoints=ENDPOINTS_)
    return table_of(app)


def table_of(app: App) -> RouteTable:
    entries, problems = route_entries(app)
    assert problems == []
    return route_table(app, entries)


def served_by(table: RouteTable, method: str, path: str) -> str:
    return table.resolve(method, path).name


# --- webhooks (contract §1) --------------------------------------------------------------------


def test_webhook_explicit_method(table: RouteTable) -> None:  # contract §1 webhooks
    assert table.resolve("POST", f"{HOOKS}/http/incoming_webhook/create").name == WEBHOOKS[0].name


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "PROPFIND"])
def test_webhook_any_takes_every_method(table: RouteTable, method: str) -> None:  # contract §1 methods, INF ANY+HEAD
    assert table.resolve(method, f"{HOOKS}/http/incoming_webhook/anything").name == WEBHOOKS[1].name


def test_webhook_get_also_takes_head(table: RouteTable) -> None:  # contract §1 decision (atlas-fn)
    assert table.resolve("HEAD", f"{HOOKS}/http/incoming_webhook/list").name == WEBHOOKS[2].name


def test_webhook_head_only(table: RouteTable) -> None:  # contract §1: httpMethod may be HEAD
    assert table.resolve("HEAD", f"{HOOKS}/http/incoming_webhook/ping").name == WEBHOOKS[3].name
    with pytest.raises(MethodNotAllowed) as raised:
        table.resolve("GET", f"{HOOKS}/http/incoming_webhook/ping")
    assert raised.value.allow == ("HEAD",)


def test_webhook_nested_name(table: RouteTable) -> None:  # contract §1: nested drop-in names hold "/"
    assert table.resolve("PUT", f"{HOOKS}/http/incoming_webhook/nested/drop/in").name == WEBHOOKS[4].name


@pytest.mark.parametrize("method", ["GET", "POST", "HEAD", "OPTIONS"])
def test_github_and_twilio_webhooks_accept_any_method(table: RouteTable, method: str) -> None:  # contract §2.5 INF
    assert table.resolve(method, f"{HOOKS}/gh/incoming_webhook/push").name == WEBHOOKS[5].name
    assert table.resolve(method, f"{HOOKS}/sms/incoming_webhook/incoming").name == WEBHOOKS[6].name


# --- endpoints (contract §1) -------------------------------------------------------------------


def test_endpoint_exact_route(table: RouteTable) -> None:  # contract §1 endpoints
    assert served_by(table, "GET", f"{ENDPOINTS}/greet") == "greet"


def test_endpoint_get_also_takes_head(table: RouteTable) -> None:  # contract §1 decision (atlas-fn)
    assert served_by(table, "HEAD", f"{ENDPOINTS}/greet") == "greet"


def test_several_endpoints_on_one_route(table: RouteTable) -> None:  # contract §1 [OBS realm-cli /bob/the/route/builder]
    path = f"{ENDPOINTS}/bob/the/route/builder"
    assert [served_by(table, m, path) for m in ("GET", "POST", "DELETE", "HEAD")] == [
        "bob_get", "bob_post", "bob_delete", "bob_get"]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
def test_endpoint_star_takes_every_method(table: RouteTable, method: str) -> None:  # contract §1 decision: HEAD reaches "*"
    assert served_by(table, method, f"{ENDPOINTS}/hello/latest") == "hello"


def test_explicit_method_wins_over_star_on_one_route(table: RouteTable) -> None:  # atlas-fn decision
    assert served_by(table, "GET", f"{ENDPOINTS}/mixed") == "mixed_get"
    assert served_by(table, "HEAD", f"{ENDPOINTS}/mixed") == "mixed_get"
    assert served_by(table, "POST", f"{ENDPOINTS}/mixed") == "mixed_any"


def test_route_case_is_kept(table: RouteTable) -> None:  # contract §1 [OBS /httpSErv21/webhook0]
    assert served_by(table, "PATCH", f"{ENDPOINTS}/httpSErv21/webhook0") == "httpSErv21_webhook0"


def test_root_route(table: RouteTable) -> None:  # contract §1: routes start with "/"
    assert served_by(table, "POST", f"{ENDPOINTS}/") == "root"


# --- routing failures (contract §1 table, §5) ----------------------------------------------------


def test_unknown_webhook_is_404_incoming_webhook_not_found(table: RouteTable) -> None:  # contract §1 row 1
    with pytest.raises(WebhookNotFound) as raised:
        table.resolve("POST", f"{HOOKS}/http/incoming_webhook/nope")
    assert raised.value.message == f"no incoming webhook at {HOOKS}/http/incoming_webhook/nope"
    assert (raised.value.status, raised.value.error_code) == (404, "IncomingWebhookNotFound")


def test_unknown_service_is_404_incoming_webhook_not_found(table: RouteTable) -> None:  # contract §1 row 1
    with pytest.raises(WebhookNotFound):
        table.resolve("POST", f"{HOOKS}/nosuch/incoming_webhook/create")


def test_webhook_wrong_app_id(table: RouteTable) -> None:  # contract §1: the client app id is in the URL
    path = "/api/client/v2.0/app/other-abcde/service/http/incoming_webhook/create"
    with pytest.raises(WebhookNotFound) as raised:
        table.resolve("POST", path)
    assert raised.value.message == f"no incoming webhook at {path} (this app's id is 'local')"


def test_webhook_prefix_alone(table: RouteTable) -> None:  # contract §1 row 1
    with pytest.raises(WebhookNotFound) as raised:
        table.resolve("GET", "/api/client/v2.0/app/")
    assert raised.value.message == "no incoming webhook at /api/client/v2.0/app/ (this app's id is 'local')"


def test_unknown_route_is_404_endpoint_not_found(table: RouteTable) -> None:  # contract §1 row 2
    with pytest.raises(EndpointNotFound) as raised:
        table.resolve("GET", f"{ENDPOINTS}/nope")
    assert raised.value.message == f"no endpoint at {ENDPOINTS}/nope"
    assert (raised.value.status, raised.value.error_code) == (404, "EndpointNotFound")


@pytest.mark.parametrize("path", [f"{ENDPOINTS}/Greet", f"{ENDPOINTS}/greet/", f"{ENDPOINTS}//greet", ENDPOINTS])
def test_routes_match_exactly_and_case_sensitively(table: RouteTable, path: str) -> None:  # contract §1 INF
    with pytest.raises(EndpointNotFound) as raised:
        table.resolve("GET", path)
    assert raised.value.message == f"no endpoint at {path}"


def test_endpoint_wrong_app_id(table: RouteTable) -> None:  # contract §1: <App ID> is the client app id
    with pytest.raises(EndpointNotFound) as raised:
        table.resolve("GET", "/app/myapp-abcde/endpoint/greet")
    assert raised.value.message == "no endpoint at /app/myapp-abcde/endpoint/greet (this app's id is 'local')"


def test_disabled_endpoint_counts_as_absent(table: RouteTable) -> None:  # contract §1 row 2, DOC cfg-https
    with pytest.raises(EndpointNotFound) as raised:
        table.resolve("GET", f"{ENDPOINTS}/off")
    assert raised.value.message == f"the endpoint at {ENDPOINTS}/off is disabled"


def test_disabled_method_on_a_live_route_is_405(table: RouteTable) -> None:  # contract §1 rows 2-3
    with pytest.raises(MethodNotAllowed) as raised:
        table.resolve("GET", f"{ENDPOINTS}/half")
    assert raised.value.message == f"GET is not allowed on {ENDPOINTS}/half; allowed: POST"
    assert raised.value.allow == ("POST",)
    assert served_by(table, "POST", f"{ENDPOINTS}/half") == "half_post"


@pytest.mark.parametrize("path", ["/", "/favicon.ico", "/app/local", "/api/client/v2.0/auth/providers", "/data/v1/action/find"])
def test_any_other_path_is_endpoint_not_found(table: RouteTable, path: str) -> None:  # contract §1 row 2
    with pytest.raises(EndpointNotFound) as raised:
        table.resolve("GET", path)
    assert raised.value.message == f"no endpoint at {path}"


def test_endpoint_method_not_allowed_names_method_path_and_allow(table: RouteTable) -> None:  # contract §1 row 3, §5
    with pytest.raises(MethodNotAllowed) as raised:
        table.resolve("POST", f"{ENDPOINTS}/greet")
    assert raised.value.message == "POST is not allowed on /app/local/endpoint/greet; allowed: GET, HEAD"
    assert raised.value.allow == ("GET", "HEAD")
    assert (raised.value.status, raised.value.error_code) == (405, "MethodNotAllowed")


def test_method_not_allowed_lists_every_method_on_the_route(table: RouteTable) -> None:  # contract §1 row 3
    with pytest.raises(MethodNotAllowed) as raised:
        table.resolve("PUT", f"{ENDPOINTS}/bob/the/route/builder")
    assert raised.value.allow == ("DELETE", "GET", "HEAD", "POST")
    assert raised.value.message.endswith("; allowed: DELETE, GET, HEAD, POST")


def test_webhook_method_not_allowed(table: RouteTable) -> None:  # contract §1 row 3
    path = f"{HOOKS}/http/incoming_webhook/create"
    with pytest.raises(MethodNotAllowed) as raised:
        table.resolve("GET", path)
    assert raised.value.message == f"GET is not allowed on {path}; allowed: POST"
    assert raised.value.allow == ("POST",)


def test_head_is_not_served_by_post_only_routes(table: RouteTable) -> None:  # contract §1 decision: HEAD only with GET
    with pytest.raises(MethodNotAllowed) as raised:
        table.resolve("HEAD", f"{HOOKS}/http/incoming_webhook/create")
    assert raised.value.allow == ("POST",)


def test_methods_are_case_sensitive(table: RouteTable) -> None:  # HTTP methods are case-sensitive (RFC 9110 §9.1)
    with pytest.raises(MethodNotAllowed):
        table.resolve("get", f"{ENDPOINTS}/greet")


# --- construction and the startup table -------------------------------------------------------


def test_rows(table: RouteTable) -> None:  # startup route table: webhooks then endpoints, sorted
    assert table.rows() == [
        ("ANY", f"{HOOKS}/gh/incoming_webhook/push", "gh/push", "GITHUB_SIGNATURE"),
        ("ANY", f"{HOOKS}/http/incoming_webhook/anything", "http/anything", "NO_VALIDATION"),
        ("POST", f"{HOOKS}/http/incoming_webhook/create", "http/create", "VERIFY_PAYLOAD"),
        ("GET", f"{HOOKS}/http/incoming_webhook/list", "http/list", "SECRET_AS_QUERY_PARAM"),
        ("PUT", f"{HOOKS}/http/incoming_webhook/nested/drop/in", "http/nested/drop/in", "NO_VALIDATION"),
        ("HEAD", f"{HOOKS}/http/incoming_webhook/ping", "http/ping", "NO_VALIDATION"),
        ("ANY", f"{HOOKS}/sms/incoming_webhook/incoming", "sms/incoming", "NO_VALIDATION"),
        ("POST", f"{ENDPOINTS}/", "root", "NO_VALIDATION"),
        ("DELETE", f"{ENDPOINTS}/bob/the/route/builder", "bob_delete", "NO_VALIDATION"),
        ("GET", f"{ENDPOINTS}/bob/the/route/builder", "bob_get", "NO_VALIDATION"),
        ("POST", f"{ENDPOINTS}/bob/the/route/builder", "bob_post", "VERIFY_PAYLOAD"),
        ("GET", f"{ENDPOINTS}/greet", "greet", "NO_VALIDATION"),
        ("POST", f"{ENDPOINTS}/half", "half_post", "NO_VALIDATION"),
        ("*", f"{ENDPOINTS}/hello/latest", "hello", "NO_VALIDATION"),
        ("PATCH", f"{ENDPOINTS}/httpSErv21/webhook0", "httpSErv21_webhook0", "NO_VALIDATION"),
        ("*", f"{ENDPOINTS}/mixed", "mixed_any", "NO_VALIDATION"),
        ("GET", f"{ENDPOINTS}/mixed", "mixed_get", "NO_VALIDATION"),
    ]


def test_rows_returns_a_copy(table: RouteTable) -> None:
    table.rows().clear()
    assert len(table.rows()) == 17


def test_other_app_id_in_urls() -> None:  # contract §1: <App ID> is the client app id
    app = App(root=Path("app"), app_id="myapp-abcde", name="x", functions_dir=None,
              endpoints=(endpoint("/hello", "GET", "hello"),))
    table = table_of(app)
    assert served_by(table, "GET", "/app/myapp-abcde/endpoint/hello") == "hello"
    with pytest.raises(EndpointNotFound):
        table.resolve("GET", "/app/local/endpoint/hello")


def test_empty_app_routes_nothing() -> None:  # contract §1 row 2
    table = table_of(App(root=Path("app"), app_id="local", name="x", functions_dir=None))
    assert table.rows() == []
    with pytest.raises(EndpointNotFound):
        table.resolve("GET", "/app/local/endpoint/x")


def test_duplicate_route_and_method_is_a_config_error() -> None:  # contract §1: one endpoint per route and method
    app = App(root=Path("app"), app_id="local", name="x", functions_dir=None,
              endpoints=(endpoint("/dup", "GET", "a"), endpoint("/dup", "GET", "b"), endpoint("/dup", "*", "c")))
    with pytest.raises(ValueError, match="^GET /app/local/endpoint/dup is served twice$"):  # the loader refuses it first
        table_of(app)


def test_disabled_duplicate_is_not_a_conflict() -> None:  # contract §1: disabled counts as absent
    app = App(root=Path("app"), app_id="local", name="x", functions_dir=None,
              endpoints=(endpoint("/dup", "GET", "a", disabled=True), endpoint("/dup", "GET", "b")))
    assert served_by(table_of(app), "GET", "/app/local/endpoint/dup") == "b"


# --- encoded slashes (red-team finding: a proxy filtering the raw path is bypassed) -------------

@pytest.mark.parametrize("raw", [f"{ENDPOINTS}/bob%2Fthe/route/builder", f"{ENDPOINTS}/bob/the%2froute%2Fbuilder",
                                 "/app/local%2Fx/endpoint/greet", "/app%2Flocal/endpoint/greet",
                                 f"{ENDPOINTS}%2Fgreet", f"{ENDPOINTS}/greet%2F?x=1"])
def test_an_encoded_slash_in_an_endpoint_url_is_not_routed(table: RouteTable, raw: str) -> None:
    from urllib.parse import unquote
    path = unquote(raw.partition("?")[0])
    raw_path = raw.partition("?")[0]
    with pytest.raises(EndpointNotFound) as raised:
        table.resolve("GET", path, raw)
    assert raised.value.message == (f"no endpoint at {raw_path}: an encoded slash (%2F) in the path is not routed; "
                                    "allowed: the route's own / characters")


@pytest.mark.parametrize("raw", [f"{HOOKS}%2Fhttp/incoming_webhook/anything", f"{HOOKS}/http%2fincoming_webhook/anything",
                                 "/api/client/v2.0/app/local%2Fservice/http/incoming_webhook/anything",
                                 "/api%2Fclient/v2.0/app/local/service/http/incoming_webhook/anything",
                                 f"{HOOKS}/http/incoming_webhook%2Fanything"])
def test_an_encoded_slash_in_the_app_id_or_service_of_a_webhook_url_is_not_routed(table: RouteTable, raw: str) -> None:
    from urllib.parse import unquote
    with pytest.raises(WebhookNotFound) as raised:
        table.resolve("POST", unquote(raw), raw)
    assert raised.value.message == (f"no incoming webhook at {raw}: an encoded slash (%2F) in the app id or service "
                                    "is not routed; allowed: %2F in the webhook name only")


def test_an_encoded_slash_in_a_webhook_name_still_routes(table: RouteTable) -> None:
    """Nested drop-in names hold "/"; only the segments before the name are refused."""
    raw = f"{HOOKS}/http/incoming_webhook/nested%2Fdrop/in"
    assert table.resolve("PUT", f"{HOOKS}/http/incoming_webhook/nested/drop/in", raw).name == "nested/drop/in"


def test_other_escapes_and_plain_slashes_still_route(table: RouteTable) -> None:
    assert served_by_raw(table, "GET", f"{ENDPOINTS}/bob/the/route/builder?a=%2F") == "bob_get"
    assert served_by_raw(table, "GET", f"{ENDPOINTS}/gr%65et") == "greet"
    assert served_by_raw(table, "POST", f"{HOOKS}/http/incoming_webhook/create") == "create"


def served_by_raw(table: RouteTable, method: str, raw: str) -> str:
    from urllib.parse import unquote
    return table.resolve(method, unquote(raw.partition("?")[0]), raw).name


async def test_an_encoded_slash_is_not_routed_by_the_server(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import webhook_config, write_app
    app = write_app(tmp_path / "app", {
        "services/s/config.json": {"name": "s", "type": "http"},
        "services/s/incoming_webhooks/h/config.json": webhook_config("h", "GET"),
        "services/s/incoming_webhooks/h/source.py": "def exports(payload, response):\n    return 'served'\n",
    })
    client = await serve(app, None, pool=False)
    plain = await client.get("/api/client/v2.0/app/local/service/s/incoming_webhook/h")
    assert plain.status == 200
    encoded = await client.get("/api/client/v2.0/app/local%2Fservice/s/incoming_webhook/h")
    assert encoded.status == 404
    assert (await encoded.json())["error"].endswith("an encoded slash (%2F) in the app id or service is not routed; "
                                                    "allowed: %2F in the webhook name only")
