"""The one exception tree of atlas-fn.

Owns: every exception the runtime raises, each carrying the HTTP status and the App Services
``error_code`` it is answered with (contract §5); errors that never become an HTTP answer
(start-up, tools) keep the defaults. Must not import anything from ``runtime``.
Other modules re-export the classes they raise (``runtime.protocol.frames.ProtocolError``),
never define their own: ``tests/test_errors.py`` walks ``runtime`` for strays.

    AtlasFnError
    ├── ConfigError            the app folder is wrong (startup; a list of ConfigProblem)
    ├── SourceRejected         a function file or rule refused at startup; app/ names the file
    │   ├── CompileFailed          every problem of one function file, each with its line
    │   └── UnsupportedRule        a can_evaluate rule outside §2.6 (also a ValueError)
    ├── CallerError            the request is wrong (4xx before any user code runs)
    │   ├── WebhookNotFound        404 IncomingWebhookNotFound
    │   ├── EndpointNotFound       404 EndpointNotFound
    │   ├── MethodNotAllowed       405 MethodNotAllowed (+ Allow header)
    │   ├── RequestTooLarge        413 RequestTooLarge
    │   ├── RequestTimeout         408 RequestTimeout (the body was not sent in time)
    │   ├── TooManyRequests        429 TooManyRequests
    │   ├── AuthFailed             401 IncomingWebhookAuthFailed
    │   ├── NoMatchingRule         401 NoMatchingRuleFound
    │   ├── InvalidParameter       400 InvalidParameter (a call that needs a user names none)
    │   ├── InvalidSession         401 InvalidSession (credentials that name no user, an expired token)
    │   ├── InvalidPassword        401 InvalidPassword (a login whose credentials are wrong)
    │   ├── ProviderNotFound       404 AuthProviderNotFound (a login with an unknown or disabled provider)
    │   └── InspectorRefused       403 Forbidden: the inspector page refuses this caller (atlas-fn's own)
    ├── FunctionError          the user's function failed (400 FunctionExecutionError)
    │   ├── TimeLimitExceeded      400 ExecutionTimeLimitExceeded
    │   ├── GuestError             what JavaScript guest code threw (engines.javascript names a subclass after it)
    │   ├── LimitExceeded          a limit of atlas-fn's own (reply size), shown without a type name
    │   ├── ServiceFailed          a service request the server answered with an error (guest-visible)
    │   └── ProtocolError          a frame or message that breaks the protocol: the worker is killed
    ├── UserStoreError         the user store cannot be read or written, or refuses a change
    ├── InternalError          atlas-fn itself failed (500 InternalServerError)
    │   ├── NoWorkerAvailable      503 ServiceUnavailable: no worker took the call within queue_timeout
    │   └── FunctionNotLoaded      500 FunctionSyntaxError: the route's function or config failed to load
    └── ToolInputError         bad input for ``atlas-fn migrate`` or ``diff`` (exit 2, never HTTP)
        ├── DiffInputError         a request file, a ``--webhook`` name
        └── ExportFileError        an export file that cannot be read or edited as planned
            └── MigrateError           not an app folder, an unreadable source, a stale plan
"""

from __future__ import annotations

from dataclasses import dataclass


class AtlasFnError(Exception):
    status: int = 500
    error_code: str = "InternalServerError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def envelope(self, link: str) -> dict[str, str]:
        """The App Services error body (contract §5)."""
        return {"error": self.message, "error_code": self.error_code, "link": link}


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the app folder: which file, where in it, what, and what is allowed."""

    file: str
    where: str  # a JSON path like "$.options.httpMethod", "line 3", or "" for the whole file
    message: str

    def __str__(self) -> str:
        location = f"{self.file}: {self.where}" if self.where else self.file
        return f"{location}: {self.message}"


class ConfigError(AtlasFnError):
    """Raised once, at startup, with every problem found."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = list(problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"{len(self.problems)} {noun} in the app:\n" + "\n".join(f"  {p}" for p in self.problems))


class SourceRejected(AtlasFnError):
    """A function file or rule expression refused at startup, before it is placed in its file:
    ``runtime.app`` adds the file and reports the problems in one ``ConfigError``."""


@dataclass(frozen=True)
class CompileProblem:
    line: int | None
    message: str
    column: int | None = None  # where the parser gives one (JavaScript)


class CompileFailed(SourceRejected):
    """Every problem of one function file (``runtime.worker.engines.python.compiler``)."""

    def __init__(self, problems: list[CompileProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


class UnsupportedRule(SourceRejected, ValueError):
    """A rule expression outside the supported subset (contract §2.6): raised by
    ``runtime.contract.can_evaluate.compile_rule``.

    ``problems`` holds ``(JSON path, text)`` pairs, the path starting with the caller's
    ``where``; ``messages`` holds them as ``"<path>: <text>"``, in the order found.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        self.messages = [f"{path}: {text}" if path else text for path, text in self.problems]
        super().__init__("\n".join(self.messages))


class CallerError(AtlasFnError):
    status = 400
    error_code = "InvalidParameter"


class WebhookNotFound(CallerError):
    status = 404
    error_code = "IncomingWebhookNotFound"


class EndpointNotFound(CallerError):
    status = 404
    error_code = "EndpointNotFound"


class MethodNotAllowed(CallerError):
    status = 405
    error_code = "MethodNotAllowed"

    def __init__(self, message: str, allow: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allow = allow


class RequestTooLarge(CallerError):
    status = 413
    error_code = "RequestTooLarge"


class RequestTimeout(CallerError):
    status = 408
    error_code = "RequestTimeout"


class TooManyRequests(CallerError):
    status = 429
    error_code = "TooManyRequests"


class AuthFailed(CallerError):
    status = 401
    error_code = "IncomingWebhookAuthFailed"


class NoMatchingRule(CallerError):
    status = 401
    error_code = "NoMatchingRuleFound"


class InvalidParameter(CallerError):
    status = 400
    error_code = "InvalidParameter"


class InvalidSession(CallerError):
    status = 401
    error_code = "InvalidSession"


class InvalidPassword(CallerError):
    status = 401
    error_code = "InvalidPassword"


class ProviderNotFound(CallerError):
    status = 404
    error_code = "AuthProviderNotFound"


class UserStoreError(AtlasFnError):
    pass


class InspectorRefused(CallerError):
    """A caller the ``inspector`` setting does not allow asked for the inspector page or its data."""

    status = 403
    error_code = "Forbidden"


class FunctionError(AtlasFnError):
    status = 400
    error_code = "FunctionExecutionError"


class TimeLimitExceeded(FunctionError):
    error_code = "ExecutionTimeLimitExceeded"

    def __init__(self, message: str = "execution time limit exceeded") -> None:
        super().__init__(message)


class GuestError(FunctionError):
    """What guest JavaScript threw: ``name`` (``TypeError``; "" for a thrown non-Error),
    ``message``, ``text`` as the §5 envelope shows it and ``stack`` in the user's files.
    ``runtime.worker.engines.javascript`` raises a subclass named after the JavaScript error, so
    the worker's ``"<ErrorType>: <message>"`` reads ``TypeError: x is not a function``."""

    def __init__(self, name: str, message: str, stack: str = "") -> None:
        super().__init__(message)
        self.name = name
        self.stack = stack
        self.text = f"{name}: {message}" if name and message else name or message


class LimitExceeded(FunctionError):
    """A limit of atlas-fn's own, reported without an exception type name."""


class ServiceFailed(FunctionError):
    """A service request the server answered with an error: ``name`` and ``message`` as the
    guest sees them (``MongoServerError: E11000 duplicate key …``)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}" if name else message)
        self.name = name
        self.message = message


class ProtocolError(FunctionError):
    """A frame that breaks the layout or the caps, or a message of the wrong kind or types:
    the worker is killed (``runtime.protocol``)."""


class InternalError(AtlasFnError):
    status = 500
    error_code = "InternalServerError"


class NoWorkerAvailable(InternalError):
    status = 503
    error_code = "ServiceUnavailable"


class FunctionNotLoaded(InternalError):
    """A route served with problems (``serve`` without ``--strict``): its function file or its
    configuration failed to load, so it runs nothing; the message names every problem. The
    code is App Services' own for a function that cannot be loaded (contract §5, sdk-codes)."""

    error_code = "FunctionSyntaxError"


class ToolInputError(AtlasFnError):
    """Bad input for a command-line tool: it prints the message and exits 2."""


class DiffInputError(ToolInputError):
    """Bad input for ``diff``: a request file, a ``--webhook`` name."""


class ExportFileError(ToolInputError):
    """A file that cannot be read or edited as planned (not UTF-8, not JSON of the expected shape)."""


class MigrateError(ExportFileError):
    """Bad input for ``migrate``: not an app folder, an unreadable file, a stale plan."""
