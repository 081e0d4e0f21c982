"""The one exception tree of atlas-fn.

Owns: every error the runtime raises, each carrying the HTTP status and the App Services
``error_code`` it is answered with (contract §5). Must not import anything from ``runtime``.

    AtlasFnError
    ├── ConfigError            the app folder is wrong (startup; a list of ConfigProblem)
    ├── CallerError            the request is wrong (4xx before any user code runs)
    │   ├── WebhookNotFound        404 IncomingWebhookNotFound
    │   ├── EndpointNotFound       404 EndpointNotFound
    │   ├── MethodNotAllowed       405 MethodNotAllowed (+ Allow header)
    │   ├── RequestTooLarge        413 RequestTooLarge
    │   ├── RequestTimeout         408 RequestTimeout (the body was not sent in time)
    │   ├── TooManyRequests        429 TooManyRequests
    │   ├── AuthFailed             401 IncomingWebhookAuthFailed
    │   └── NoMatchingRule         401 NoMatchingRuleFound
    ├── FunctionError          the user's function failed (400 FunctionExecutionError)
    │   └── TimeLimitExceeded      400 ExecutionTimeLimitExceeded
    └── InternalError          atlas-fn itself failed (500 InternalServerError)
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


class FunctionError(AtlasFnError):
    status = 400
    error_code = "FunctionExecutionError"


class TimeLimitExceeded(FunctionError):
    error_code = "ExecutionTimeLimitExceeded"

    def __init__(self, message: str = "execution time limit exceeded") -> None:
        super().__init__(message)


class InternalError(AtlasFnError):
    status = 500
    error_code = "InternalServerError"
