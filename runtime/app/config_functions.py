"""The function files of an app: found, named, listed in the manifest, and served as drop-ins.

Owns: steps 2, 3 and 9 of ``runtime.app.config`` — walking the functions folder (each folder
once, hidden entries and ``__pycache__``/``node_modules`` skipped, a Python port beside the
exported JavaScript winning, 20180301 ``<f>/source`` folders), the manifest
``functions/config.json`` with the 20180301 ``<f>/config.json`` files, and the drop-in webhooks
for files no config names. Must not run or compile code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from runtime.app.config_files import UNREADABLE, Fields, read_json, read_object, visible
from runtime.app.config_reader import A_FUNCTION, RUN_AS_STRINGS, Reader
from runtime.app.model import LANGUAGES, FunctionSource, ManifestEntry, Webhook
from runtime.values.shown import json_path, show_value

_SKIPPED_FOLDERS = ("__pycache__", "node_modules")
_MANIFEST_FIELDS = ("name", "private", "run_as_system", "can_evaluate", "disable_arg_logs")


class FunctionsReader(Reader):
    # 2. function files
    def _discover_functions(self) -> None:
        for path, name in self._function_files(self.fdir, ""):
            earlier = self.functions.get(name)
            if earlier is not None and {earlier.path.suffix, path.suffix} == {".py", ".js"}:
                # A Python port beside the exported JavaScript: the port is the function.
                if path.suffix == ".py":
                    self.functions[name] = FunctionSource(name, path, LANGUAGES[path.suffix])
                continue
            if earlier is not None:
                also = f"function {name!r} is also defined by {self.report.show(earlier.path)}"
                self.report.add(path, "", f"{also}; allowed: one file per function name")
                continue
            self.functions[name] = FunctionSource(name, path, LANGUAGES[path.suffix])

    def _function_files(self, folder: Path | None, prefix: str) -> Iterator[tuple[Path, str]]:
        for entry in visible(folder):
            if entry.is_dir() and entry.name not in _SKIPPED_FOLDERS and self._first_visit(entry):
                legacy = not prefix and self._is_legacy_function(entry)
                if legacy:
                    self.legacy_configs[entry.name] = entry / "config.json"
                for path, name in self._function_files(entry, f"{prefix}{entry.name}/"):
                    own_source = legacy and path.parent == entry and path.stem == "source"
                    yield path, entry.name if own_source else name
            elif entry.is_file() and entry.suffix in LANGUAGES:
                yield entry, f"{prefix}{entry.stem}"

    def _first_visit(self, folder: Path) -> bool:
        """False for a folder already walked (a symlink loop or a second link to it)."""
        real = folder.resolve()
        if real in self.walked:
            return False
        self.walked.add(real)
        return True

    @staticmethod
    def _is_legacy_function(folder: Path) -> bool:
        has_source = any((folder / f"source{ext}").is_file() for ext in LANGUAGES)
        return has_source and (folder / "config.json").is_file()

    # 3. the manifest
    def _manifest(self) -> list[ManifestEntry]:
        entries: dict[str, tuple[ManifestEntry, str]] = {}
        path = self.fdir / "config.json" if self.fdir is not None else None
        data = read_json(self.report, path) if path is not None and path.is_file() else []
        if not isinstance(data, list) and data is not UNREADABLE:
            allowed = "allowed: a JSON array of function entries"
            self.report.add(path, "$", f"{show_value(data)} is not an array; {allowed}")
        for index, item in enumerate(data if isinstance(data, list) else []):
            if not isinstance(item, dict):
                self.report.add(path, json_path("$", index), f"{show_value(item)} is not an object; allowed: a JSON object")
                continue
            fields = Fields(self.report, path, item, json_path("$", index))
            name = fields.get("name", "a string", required=True, allowed=A_FUNCTION)
            if self._function(fields, "name", name) is not None:
                self._add_entry(entries, fields, name)
        for name, config in sorted(self.legacy_configs.items()):
            fields = read_object(self.report, config)
            if fields is not None:
                fields.name_matches(name, "folder name")
                self._add_entry(entries, fields, name)
        return [entry for entry, _ in entries.values()]

    def _add_entry(self, entries: dict[str, tuple[ManifestEntry, str]], fields: Fields, name: str) -> None:
        if name in entries:
            already = f"{show_value(name)} already has an entry at {entries[name][1]}"
            fields.problem("name", f"{already}; allowed: one entry per function")
            return
        fields.strings(*RUN_AS_STRINGS)
        entry = ManifestEntry(
            name=name, private=fields.get("private", "a boolean", False),
            run_as_system=fields.get("run_as_system", "a boolean", False),
            can_evaluate=fields.get("can_evaluate", "a rule expression", {}),
            disable_arg_logs=fields.get("disable_arg_logs", "a boolean", False),
            extra=fields.extra(_MANIFEST_FIELDS),
        )  # fmt: skip
        entries[name] = (entry, f"{self.report.show(fields.file)} {fields.at}")

    # 9. drop-ins
    def _drop_ins(self, webhooks: list[Webhook], in_manifest: set[str]) -> list[Webhook]:
        """Function files no config names — neither a webhook, an endpoint nor the manifest —
        become webhooks. The manifest counts: an exported app's helper functions (often
        ``private``) are listed there and must not turn into public URLs."""
        configured = {hook.name: hook for hook in webhooks if hook.service == "http"}
        drop_ins = []
        for name in sorted(set(self.functions) - self.named - in_manifest):
            function = self.functions[name]
            clash = configured.get(name)
            if clash is not None:
                defined = f"which {self.report.show(clash.config_file)} already defines"
                fix = "rename the file, or delete that webhook's source file so it serves this one"
                clash_text = f"would become the drop-in webhook http/{name}, {defined}"
                self.report.add(function.path, "", f"{clash_text}; allowed: {fix}")
                continue
            drop_ins.append(Webhook(
                service="http", service_type="http", name=name, function=function, http_method="ANY",
                validation_method="NO_VALIDATION", respond_result=True, config_file=None,
            ))  # fmt: skip
        return drop_ins
