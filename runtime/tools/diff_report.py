"""What ``atlas-fn diff`` found, and its two renderings: the text it prints and ``--json OUT``.

Owns: ``Exchange`` (one request sent to both sides and the differences), ``PairResult`` (a
webhook, its endpoint and what happened), ``Report`` and its exit code, ``render_text`` and
``render_json``. Must not send requests or show a secret (queries arrive already shown).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from runtime.app.model import Endpoint, Webhook
from runtime.tools.comparison import IGNORED_HEADERS, Difference, Observed


@dataclass
class Exchange:
    index: int  # the request's position (1-based) among this webhook's requests
    method: str
    query: str  # as shown: no secret value
    body_length: int | None
    webhook: Observed
    endpoint: Observed
    differences: list[Difference]


@dataclass
class PairResult:
    webhook: Webhook
    state: str  # "compared", "not_converted", "disabled", "manual_port"
    note: str = ""
    endpoints: tuple[Endpoint, ...] = ()
    webhook_path: str = ""
    endpoint_path: str = ""
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.webhook.service}/{self.webhook.name}"

    @property
    def counts(self) -> bool:
        """Whether this webhook makes the exit code 1."""
        return self.state in ("not_converted", "disabled") or any(e.differences for e in self.exchanges)


@dataclass
class Report:
    app_id: str
    results: list[PairResult]

    def differences(self) -> list[Difference]:
        return [d for result in self.results for exchange in result.exchanges for d in exchange.differences]

    @property
    def exit_code(self) -> int:
        return 1 if any(result.counts for result in self.results) else 0


def render_text(report: Report) -> str:
    compared = [result for result in report.results if result.state == "compared"]
    lines = [f"atlas-fn diff: app {report.app_id!r}: {len(compared)} of {len(report.results)} webhooks compared"]
    for result in report.results:
        if result.state != "compared":
            lines.append(f"{result.label}: {result.note}")
            continue
        methods = "/".join(endpoint.http_method for endpoint in result.endpoints)
        lines.append(f"{result.label}: {result.webhook_path}  vs  {result.endpoint_path} ({methods})")
        for exchange in result.exchanges:
            sent = f"{exchange.method}" + (f" ?{exchange.query}" if exchange.query else "")
            sent += f", {exchange.body_length}-byte body" if exchange.body_length is not None else ", no body"
            if not exchange.differences:
                same = (f"both failed with the same answer (status {exchange.webhook.status}): the functions were "
                        "not compared" if both_failed(exchange) else f"no difference (status {exchange.webhook.status})")
                lines.append(f"  request {exchange.index} ({sent}): {same}")
                continue
            known = sum(1 for d in exchange.differences if d.known)
            failed = (f"; both failed (status {exchange.webhook.status} and {exchange.endpoint.status})"
                      if both_failed(exchange) else "")
            lines.append(f"  request {exchange.index} ({sent}): {_plural(len(exchange.differences), 'difference')}"
                         f" ({known} known){failed}")
            for difference in exchange.differences:
                what = f"header {difference.name}" if difference.part == "header" else difference.part
                lines.append(f"    {what}: webhook {difference.webhook} | endpoint {difference.endpoint}")
                if difference.note:
                    lines.append(f"      {difference.note}")
                if difference.known_text:
                    lines.append(f"      {difference.known_text}")
    all_differences = report.differences()
    known = sum(1 for d in all_differences if d.known)
    missing = sum(1 for result in report.results if result.state in ("not_converted", "disabled"))
    lines.append(f"not compared: the headers {', '.join(IGNORED_HEADERS)} (they change with every answer or belong "
                 "to the connection), an error envelope's link and the URL path its message names")
    failures = sum(1 for result in report.results for exchange in result.exchanges if both_failed(exchange))
    lines.append(f"result: {_plural(len(all_differences), 'difference')} ({known} known, "
                 f"{len(all_differences) - known} unexpected), {missing} not converted"
                 + (f", {_plural(failures, 'request')} failed on both sides" if failures else "") + f"; exit {report.exit_code}")
    return "\n".join(lines)


def both_failed(exchange: Any) -> bool:
    """Both the webhook and its endpoint answered with an error (4xx or 5xx): whatever else, the
    request reached neither function's success path, so "no difference" would say too much."""
    return exchange.webhook.status >= 400 and exchange.endpoint.status >= 400


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _body_json(data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def _observed_json(answer: Observed) -> dict[str, Any]:
    return {"status": answer.status, "headers": [list(pair) for pair in answer.headers], "body": _body_json(answer.body)}


def render_json(report: Report) -> dict[str, Any]:
    """The machine-readable report (``--json OUT``)."""
    differences = report.differences()
    webhooks = []
    for result in report.results:
        webhooks.append({
            "webhook": result.label, "service_type": result.webhook.service_type, "state": result.state,
            "note": result.note, "webhook_path": result.webhook_path, "endpoint_path": result.endpoint_path,
            "requests": [{
                "index": exchange.index, "method": exchange.method, "query": exchange.query,
                "body_length": exchange.body_length, "both_failed": both_failed(exchange),
                "webhook": _observed_json(exchange.webhook), "endpoint": _observed_json(exchange.endpoint),
                "differences": [{"part": d.part, "name": d.name, "webhook": d.webhook, "endpoint": d.endpoint,
                                 "note": d.note, "known": d.known, "known_text": d.known_text}
                                for d in exchange.differences],
            } for exchange in result.exchanges],
        })  # fmt: skip
    return {
        "app_id": report.app_id,
        "exit_code": report.exit_code,
        "summary": {
            "webhooks": len(report.results),
            "compared": sum(1 for r in report.results if r.state == "compared"),
            "not_converted": sum(1 for r in report.results if r.state in ("not_converted", "disabled")),
            "manual_port": sum(1 for r in report.results if r.state == "manual_port"),
            "differences": len(differences),
            "known": sum(1 for d in differences if d.known),
            "unexpected": sum(1 for d in differences if not d.known),
        },
        "ignored_headers": list(IGNORED_HEADERS),
        "webhooks": webhooks,
    }
