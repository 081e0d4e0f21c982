"""What App Services' converter writes for one HTTP-service webhook: its endpoint and its
manifest entry (contract §6).

Owns: the two entries as plain dicts, in the key order App Services writes them. Must not read
or write files (``runtime.tools.migrate`` plans the files) or hold a secret value (an entry names
its secret; the value goes to ``secrets.json``).

Per HTTP-service webhook ``<svc>/<name>`` (contract §6; **D** = atlas-fn's decision):

* endpoint ``{"route": "/<svc>/<name>", "http_method": <same; ANY → "*">, "function_name":
  "<svc>_<name>", "validation_method": <same; "" → NO_VALIDATION>, ["secret_name":
  "<svc>_<name>_secret",] "respond_result", "fetch_custom_user_data", "create_user_on_auth",
  "disabled": false}`` in that key order, no ``return_type`` (so JSON). ``secret_name`` when
  ``options.secret`` is non-empty, whatever the validation method; the value goes to the app's
  ``secrets.json`` (flat shape), merged with what is there.
* function file ``<functions>/<svc>_<name>.py|.js``: the webhook's source, byte for byte.
* manifest entry in ``<functions>/config.json``: ``name``, ``private: false``, then the run-as
  field in effect, as the webhook's precedence picks it (contract §2.7; **D**: only that one is
  copied, so the endpoint runs as the webhook ran): ``run_as_authed_user: true`` → none
  (application authentication); else a non-empty ``run_as_user_id``; else a non-empty
  ``run_as_user_id_script_source``; else ``run_as_system: true``. Then ``can_evaluate`` unless
  ``{}``, and ``disable_arg_logs`` when true — zero values are left out, as real converted
  exports show (Mrashoo24/Application-0, kpatel71716/endpoint-import-test).
"""

from __future__ import annotations

from typing import Any

from runtime.app.model import Webhook
from runtime.errors import MigrateError
from runtime.values.shown import json_path, show_value


def _flag(webhook: Webhook, key: str) -> bool:
    value = webhook.extra.get(key)
    if value is None or isinstance(value, bool):
        return value is True
    raise MigrateError(f"{webhook.config_file}: {json_path('$', key)}: {show_value(value)} is not a boolean; allowed: true, false")


def endpoint_entry(webhook: Webhook, route: str, method: str, name: str, secret_name: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"route": route, "http_method": method, "function_name": name,
                             "validation_method": webhook.validation_method}
    if secret_name:
        entry["secret_name"] = secret_name
    entry["respond_result"] = webhook.respond_result
    entry["fetch_custom_user_data"] = _flag(webhook, "fetch_custom_user_data")
    entry["create_user_on_auth"] = _flag(webhook, "create_user_on_auth")
    entry["disabled"] = False
    return entry


def manifest_entry(webhook: Webhook, name: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "private": False}
    user_id = webhook.extra.get("run_as_user_id") or ""
    script = webhook.extra.get("run_as_user_id_script_source") or ""
    if _flag(webhook, "run_as_authed_user"):
        pass  # application authentication: no run_as_* field (contract §6, INF)
    elif user_id:
        entry["run_as_user_id"] = user_id
    elif script:
        entry["run_as_user_id_script_source"] = script
    else:
        entry["run_as_system"] = True
    if webhook.can_evaluate != {}:
        entry["can_evaluate"] = webhook.can_evaluate
    if webhook.disable_arg_logs:
        entry["disable_arg_logs"] = True
    return entry
