"""``atlas-fn migrate``: legacy HTTP-service webhooks → HTTPS endpoints, as App Services' converter did.

Owns: the conversion rules (contract §6) and the plan of file changes that carries them out.
``plan`` reads the app folder (through ``runtime.app.config``) and returns a ``Plan``: the files
to create or update, with their new bytes and the reason; the webhooks that need a manual port;
the conflicts that stopped a conversion. ``apply`` is the only function here that writes.
Must not: touch a webhook's own files, overwrite a file or entry this converter did not make
for the same webhook, print or log a secret value, run function code, or parse the command line
beyond ``command`` (which ``runtime.cli`` calls).

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

Files and entries (**D**):

* Endpoints go to ``https_endpoints/config.json`` if it exists, else ``http_endpoints/config.json``
  if it exists, else a new ``https_endpoints/config.json``. The manifest and function files go
  to the functions folder: ``--functions``, else the app's ``functions/`` (created if need be).
  The loader's last fallback, ``./functions`` of the working directory, is refused unless named
  with ``--functions``: ``serve`` only reads it, but ``migrate`` would write there.
* This converter's own entries are recognised by name: an endpoint on route ``/<svc>/<name>``
  whose ``function_name`` is ``<svc>_<name>``, the manifest entry ``<svc>_<name>``, the secret
  ``<svc>_<name>_secret``. Those are re-synced in place when they differ (App Services'
  "Convert & Override"); anything else is never overwritten. A conflict stops that webhook's
  whole conversion (nothing half-written): another endpoint serving the route with an
  overlapping method (``*`` overlaps all), a function file of that name whose bytes differ from
  the webhook's source (it may hold edits made after an earlier conversion) or in the other
  language, a second webhook converting to the same function name, or a realm-cli v1 nested
  ``secrets.json`` (it has no place for a named secret).
* A ``HEAD`` webhook needs a manual port: endpoints take no HEAD method (an endpoint on GET
  also answers HEAD, but would answer GET too). GitHub and Twilio webhooks need a manual port:
  their payload shape changes. Drop-in function files (no webhook config) are not webhooks.
* JSON is written as App Services exports write it (Go ``json.MarshalIndent`` with four spaces,
  then a newline): ``<``, ``>``, ``&``, U+2028 and U+2029 escaped as ``\\u003c`` …, other text
  as UTF-8. Existing files keep every byte that does not change: new entries are spliced in
  before the closing bracket, a re-synced entry replaces only its own text, and the file's own
  indentation unit is used. Running ``plan`` again after ``apply`` finds nothing to change.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, TextIO

from runtime.app.config import APP_FILES, LANGUAGES, App, Webhook, load_app
from runtime.tools.export_files import JsonDoc, write_atomically
from runtime.errors import ConfigError, ExportFileError, MigrateError
from runtime.app.secrets import is_nested
from runtime.values.shown import json_path, show_value

MANUAL_PORT_REASON = (
    "their payload shape changes: GitHub sends the parsed event, Twilio the parsed form; "
    "an endpoint receives {query, headers, body}"
)
MANUAL_PORT_HINT = ("port it by hand: parse the event from request.body.text() (GitHub), "
                    "read the form fields from request.query (Twilio)")
HEAD_REASON = "endpoints take no HEAD method (GET answers HEAD too, but also GET); choose GET or * by hand"
ENDPOINT_FILE_CHOICES = ("https_endpoints/config.json", "http_endpoints/config.json")
SECRETS_FILE = "secrets.json"
_LEGACY_APP_FILES = ("config.json", "stitch.json")  # 20180301 / 20200603 roots (contract §7.1)


@dataclass(frozen=True)
class FileChange:
    """One file to create or update. ``path`` is relative to the app folder (``/``-separated),
    or absolute for a functions folder outside it. Content is kept out of ``repr``: it may hold
    secret values."""

    path: str
    content: bytes = field(repr=False)
    reasons: tuple[str, ...]
    before: bytes | None = field(default=None, repr=False)  # None: the file does not exist yet
    secret: bool = False  # holds secret values: written 0600, never shown

    @property
    def action(self) -> str:
        return "create" if self.before is None else "update"

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


@dataclass(frozen=True)
class Note:
    webhook: str  # "<svc>/<name>"
    message: str


@dataclass(frozen=True)
class Plan:
    root: Path
    app_id: str
    changes: tuple[FileChange, ...] = ()
    converted: tuple[str, ...] = ()  # webhooks this plan converts or re-syncs
    up_to_date: tuple[str, ...] = ()  # webhooks whose conversion is already in place
    manual: tuple[Note, ...] = ()  # GitHub/Twilio/HEAD webhooks: port by hand
    conflicts: tuple[Note, ...] = ()  # conversions stopped, nothing written for them
    notes: tuple[str, ...] = ()


def plan(app_dir: Path, functions_dir: Path | None = None, environ: Mapping[str, str] = os.environ) -> Plan:
    """What converting every HTTP-service webhook of the app would change. Writes nothing.

    Raises ``MigrateError`` when ``app_dir`` is not an app folder and ``ConfigError`` (every
    problem, from the loader) when the app does not load."""
    root = _app_folder(app_dir)
    fallback = Path.cwd() / "functions"
    if functions_dir is None and not (root / "functions").is_dir() and fallback.is_dir():
        raise MigrateError(f"{app_dir} has no functions/ folder, and the loader would use ./functions ({fallback}); "
                           f"say where the converted functions go: --functions ./functions, or create "
                           f"{app_dir / 'functions'}")
    app = load_app(root, functions_dir, environ=environ)
    return _Planner(root, app).run()


def apply(plan: Plan) -> list[Path]:
    """Write the plan's files; return their paths. Every file must still hold the bytes the
    plan was made from (else ``MigrateError``, nothing written). Each write is atomic."""
    for change in plan.changes:
        path = plan.root / change.path
        current = path.read_bytes() if path.is_file() else None
        if current != change.before:
            raise MigrateError(f"{change.path} changed after the plan was made; nothing written, run migrate again")
    written = []
    for change in plan.changes:
        path = plan.root / change.path
        write_atomically(path, change.content, secret=change.secret)
        written.append(path)
    return written


# --- the planner ---------------------------------------------------------------------------


def _app_folder(app_dir: Path) -> Path:
    if not app_dir.is_dir():
        state = "is a file" if app_dir.exists() else "does not exist"
        raise MigrateError(f"{app_dir}: {state}; expected an exported App Services app folder")
    if not any((app_dir / name).is_file() for name in APP_FILES):
        names = ", ".join(APP_FILES)
        raise MigrateError(f"{app_dir}: not an App Services app folder (it has none of {names})")
    return app_dir.absolute()


class _Planner:
    """One plan: the app, the files as they will be, and what happened to each webhook."""

    def __init__(self, root: Path, app: App) -> None:
        self.root = root
        self.app = app
        self.fdir = app.functions_dir if app.functions_dir is not None else root / "functions"
        self.sources: dict[Path, bytes | None] = {}  # planned function files (None: absent)
        self.source_reasons: dict[Path, str] = {}
        self.endpoint_docs = [JsonDoc(root / rel, "[") for rel in ENDPOINT_FILE_CHOICES if (root / rel).is_file()]
        if not self.endpoint_docs:
            self.endpoint_docs = [JsonDoc(root / ENDPOINT_FILE_CHOICES[0], "[")]
        self.manifest = JsonDoc(self.fdir / "config.json", "[")
        self.secrets = JsonDoc(root / SECRETS_FILE, "{")
        self.claimed: dict[str, str] = {}  # function name → the webhook converting to it
        self.converted: list[str] = []
        self.up_to_date: list[str] = []
        self.manual: list[Note] = []
        self.conflicts: list[Note] = []

    def run(self) -> Plan:
        for webhook in self.app.webhooks:
            if webhook.config_file is None:
                continue  # a drop-in function file, not a webhook of the app
            label = f"{webhook.service}/{webhook.name}"
            if webhook.service_type != "http":
                kind = "GitHub" if webhook.service_type == "github" else "Twilio"
                self.manual.append(Note(label, f"{kind} webhook, not converted: {MANUAL_PORT_REASON}; {MANUAL_PORT_HINT}"))
            elif webhook.http_method == "HEAD":
                self.manual.append(Note(label, f"HEAD webhook, not converted: {HEAD_REASON}"))
            else:
                self._convert(webhook, label)
        notes = []
        if not (self.root / "realm_config.json").is_file() and not (self.root / "root_config.json").is_file():
            if any((self.root / name).is_file() for name in _LEGACY_APP_FILES) and self.converted:
                notes.append("this app uses a pre-20210101 layout; the endpoints and functions are written in the "
                             "20210101 layout, which atlas-fn serves beside the old one")
        changes = self._changes()
        if any(change.secret and change.before is None for change in changes):
            notes.append(f"{SECRETS_FILE} holds secret values: keep it out of version control")
        return Plan(
            root=self.root, app_id=self.app.app_id, changes=tuple(changes), converted=tuple(self.converted),
            up_to_date=tuple(self.up_to_date), manual=tuple(self.manual), conflicts=tuple(self.conflicts),
            notes=tuple(notes),
        )  # fmt: skip

    # one webhook
    def _convert(self, webhook: Webhook, label: str) -> None:
        name = f"{webhook.service}_{webhook.name}"
        route = f"/{webhook.service}/{webhook.name}"
        method = "*" if webhook.http_method == "ANY" else webhook.http_method
        source_path = webhook.function.path
        target = self.fdir / f"{name}{source_path.suffix}"
        try:
            source = source_path.read_bytes()
        except OSError as error:
            raise MigrateError(f"{self._show(source_path)}: cannot be read: {error.strerror or error}") from None
        secret_name = f"{name}_secret" if webhook.secret else ""
        endpoint = _endpoint_entry(webhook, route, method, name, secret_name)
        entry = _manifest_entry(webhook, name)

        problems = self._conflicts(label, name, route, method, target, source, secret_name)
        if problems:
            self.conflicts += [Note(label, problem) for problem in problems]
            return
        self.claimed[name] = label
        changed = self._put_source(target, source, f"function {name}: the source of webhook {label}, byte for byte")
        changed |= self._put_endpoint(route, name, method, endpoint, label)
        changed |= self._put_manifest(name, entry, label)
        if secret_name:
            changed |= self._put_secret(secret_name, webhook.secret, label)
        (self.converted if changed else self.up_to_date).append(label)

    def _conflicts(self, label: str, name: str, route: str, method: str, target: Path, source: bytes,
                   secret_name: str) -> list[str]:  # fmt: skip
        problems = []
        if name in self.claimed:
            problems.append(f"webhook {self.claimed[name]} converts to the same function name {name!r}")
        current = self._source(target)
        if current is not None and current != source:
            problems.append(f"{self._show(target)} exists and differs from the webhook's source "
                            f"(edited after an earlier conversion?); it is not overwritten")
        for ext in LANGUAGES:
            other = self.fdir / f"{name}{ext}"
            if other != target and self._source(other) is not None:
                problems.append(f"{self._show(other)} already defines function {name!r}; a function has one file")
        for doc in self.endpoint_docs:
            for item in doc.values():
                if not isinstance(item, dict) or item.get("route") != route or item.get("disabled") is True:
                    continue
                other_method = item.get("http_method")
                if item.get("function_name") != name and (other_method == method or "*" in (other_method, method)):
                    problems.append(f"{self._show(doc.path)} already serves {route} {other_method} with function "
                                    f"{item.get('function_name')!r}; it is not overwritten")
        if secret_name and self.secrets.exists and is_nested(self.secrets.as_object()):
            problems.append(f"{SECRETS_FILE} has realm-cli v1's nested shape, which has no place for secret "
                            f"{secret_name!r}; make it flat ({{\"<name>\": \"<value>\"}}) and run migrate again")
        return problems

    # planned edits; each returns True when it changes something
    def _source(self, path: Path) -> bytes | None:
        if path not in self.sources:
            self.sources[path] = path.read_bytes() if path.is_file() else None
        return self.sources[path]

    def _put_source(self, target: Path, source: bytes, reason: str) -> bool:
        if self._source(target) == source:
            return False
        self.sources[target] = source
        self.source_reasons[target] = reason
        return True

    def _put_endpoint(self, route: str, name: str, method: str, entry: dict[str, Any], label: str) -> bool:
        ours = [(doc, index, item) for doc in self.endpoint_docs for index, item in enumerate(doc.values())
                if isinstance(item, dict) and item.get("route") == route and item.get("function_name") == name]
        ours.sort(key=lambda found: found[2].get("http_method") != method)  # the one on this method first
        shown = f"endpoint {route} {method} → function {name} (webhook {label})"
        if not ours:
            self.endpoint_docs[0].append(entry, f"adds {shown}")
            return True
        doc, index, item = ours[0]
        if item == entry:
            return False
        doc.replace(index, entry, f"re-syncs {shown}")
        return True

    def _put_manifest(self, name: str, entry: dict[str, Any], label: str) -> bool:
        runs_as = next((key for key in ("run_as_system", "run_as_user_id", "run_as_user_id_script_source") if key in entry),
                       "application authentication")
        shown = f"function entry {name} ({runs_as}; webhook {label})"
        for index, item in enumerate(self.manifest.values()):
            if isinstance(item, dict) and item.get("name") == name:
                if item == entry:
                    return False
                self.manifest.replace(index, entry, f"re-syncs {shown}")
                return True
        self.manifest.append(entry, f"adds {shown}")
        return True

    def _put_secret(self, secret_name: str, value: str, label: str) -> bool:
        current = self.secrets.as_object()
        if current.get(secret_name) == value:
            return False
        verb = "updates" if secret_name in current else "adds"
        self.secrets.set_key(secret_name, value, f"{verb} secret {secret_name} = <secret> (options.secret of webhook {label})")
        return True

    # the result
    def _changes(self) -> list[FileChange]:
        changes = []
        for path in sorted(self.source_reasons):
            before = path.read_bytes() if path.is_file() else None
            content = self.sources[path]
            assert content is not None
            changes.append(FileChange(self._relative(path), content, (self.source_reasons[path],), before))
        for doc in [*self.endpoint_docs, self.manifest, self.secrets]:
            rendered = doc.render()
            if rendered is not None:
                changes.append(FileChange(self._relative(doc.path), rendered, tuple(doc.reasons), doc.original,
                                          secret=doc is self.secrets))
        return changes

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else str(path)

    def _show(self, path: Path) -> str:
        return self._relative(path)


def _flag(webhook: Webhook, key: str) -> bool:
    value = webhook.extra.get(key)
    if value is None or isinstance(value, bool):
        return value is True
    raise MigrateError(f"{webhook.config_file}: {json_path('$', key)}: {show_value(value)} is not a boolean; allowed: true, false")


def _endpoint_entry(webhook: Webhook, route: str, method: str, name: str, secret_name: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"route": route, "http_method": method, "function_name": name,
                             "validation_method": webhook.validation_method}
    if secret_name:
        entry["secret_name"] = secret_name
    entry["respond_result"] = webhook.respond_result
    entry["fetch_custom_user_data"] = _flag(webhook, "fetch_custom_user_data")
    entry["create_user_on_auth"] = _flag(webhook, "create_user_on_auth")
    entry["disabled"] = False
    return entry


def _manifest_entry(webhook: Webhook, name: str) -> dict[str, Any]:
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


# --- the command -------------------------------------------------------------------------------


def format_plan(plan: Plan, *, dry_run: bool, shown_root: str) -> str:
    """The report ``atlas-fn migrate`` prints. Secret values appear only as ``<secret>``."""
    lines = [f"atlas-fn migrate: app {plan.app_id!r} ({shown_root})"]
    verbs = {"create": "would create" if dry_run else "created", "update": "would update" if dry_run else "updated"}
    width = max((len(change.path) for change in plan.changes), default=0)
    for change in plan.changes:
        lines.append(f"  {verbs[change.action]:<12}  {change.path:<{width}}  {change.reasons[0]}")
        lines += [f"  {'':<12}  {'':<{width}}  {reason}" for reason in change.reasons[1:]]
    if not plan.changes:
        lines.append("  nothing to change")
    if plan.manual:
        lines.append("needs a manual port (not converted):")
        lines += [f"  {note.webhook}: {note.message}" for note in plan.manual]
    if plan.conflicts:
        lines.append("conflicts (these webhooks were not converted; nothing was written for them):")
        lines += [f"  {note.webhook}: {note.message}" for note in plan.conflicts]
    lines += [f"note: {note}" for note in plan.notes]
    counts = [f"{len(plan.converted)} webhooks {'to convert' if dry_run else 'converted'}",
              f"{len(plan.up_to_date)} already converted", f"{len(plan.manual)} to port by hand",
              f"{len(plan.conflicts)} conflicts"]
    tail = "dry run: nothing written" if dry_run else "the webhooks are unchanged and keep working"
    lines.append(f"{', '.join(counts)}; {tail}")
    if plan.converted and not dry_run:
        lines.append(f"next: atlas-fn diff {shown_root} compares each webhook with its endpoint")
    return "\n".join(lines)


def command(app_dir: Path, functions_dir: Path | None, *, dry_run: bool, out: TextIO | None = None,
            err: TextIO | None = None) -> int:  # fmt: skip
    """``atlas-fn migrate``: 0 done (or nothing to do), 1 some webhooks hit a conflict (the rest
    were converted), 2 bad input (not an app folder, a config problem, a stale plan)."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        result = plan(app_dir, functions_dir)
        if not dry_run:
            apply(result)
    except ConfigError as error:
        print(f"atlas-fn migrate: {error.message}", file=err)
        return 2
    except ExportFileError as error:  # MigrateError included
        print(f"atlas-fn migrate: {error}", file=err)
        return 2
    print(format_plan(result, dry_run=dry_run, shown_root=str(app_dir)), file=out)
    return 1 if result.conflicts else 0
