"""Keep secrets out of logs and error messages.

A `Redactor` collects every secret a connector is given (tokens, API keys, passwords, OAuth
tokens it fetches) and replaces them with `***` in any text. Secrets travel in more shapes than
their raw form: inside a URL they are percent-encoded, inside a Basic header they are base64 of
`user:pass`, so each shape is registered too.
"""

from __future__ import annotations

import base64
import logging
import threading
import weakref
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_LENGTH = 4


class Redactor:
    """A set of secret strings and a `redact(text)` that masks all of them."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        for secret in secrets or []:
            self.add(secret)

    def add(self, value: object) -> None:
        """Register a secret and its URL-encoded forms; short or empty values are ignored
        (masking "abc" everywhere would shred ordinary text and protect nothing)."""
        if value is None:
            return
        text = str(value)
        if len(text) < MIN_SECRET_LENGTH:
            return
        forms = {text, quote(text, safe=""), quote_plus(text), quote(text)}
        with self._lock:
            self._secrets.update(f for f in forms if len(f) >= MIN_SECRET_LENGTH)

    def add_basic(self, username: object, password: object) -> None:
        """Register a Basic credential: the password, and base64 of `user:pass` as sent in headers."""
        self.add(password)
        pair = f"{username or ''}:{password or ''}"
        if password:
            self.add(base64.b64encode(pair.encode()).decode())

    @property
    def secrets(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._secrets)

    def redact(self, text: object) -> str:
        """`text` with every registered secret replaced by `***` (longest first, so a secret that
        contains another is masked whole)."""
        out = str(text)
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret in out:
                out = out.replace(secret, MASK)
        return out

    def contains_secret(self, text: str) -> bool:
        return any(secret in text for secret in self.secrets)


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in a record's message and args.

    It holds redactors weakly, so one filter installed on a shared logger (such as `httpx`, which
    logs full request URLs including query API keys) serves every live client.
    """

    def __init__(self, *redactors: Redactor) -> None:
        super().__init__()
        self._redactors: weakref.WeakSet[Redactor] = weakref.WeakSet(redactors)

    def add(self, redactor: Redactor) -> None:
        self._redactors.add(redactor)

    def redact(self, text: str) -> str:
        for redactor in list(self._redactors):
            text = redactor.redact(text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._redactors:
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: still mask what is there
            message = f"{record.msg} {record.args}"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = self.redact(
                logging.Formatter().formatException(record.exc_info)
            )
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


_SHARED_FILTER = RedactingFilter()
# httpcore logs every response header at DEBUG (a server may echo a key in one).
_SHARED_LOGGERS = (
    "httpx",
    "runtime",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.connection",
    "httpcore.proxy",
)
_installed = False
_install_lock = threading.Lock()


def protect(redactor: Redactor, *logger_names: str) -> None:
    """Mask `redactor`'s secrets in every record of the `httpx` and runtime loggers, and of
    `logger_names` (for other modules that may log URLs or bodies).

    A filter on a logger only sees records logged on that exact logger (not its children), so
    each logger that can carry a secret is named here.
    """
    global _installed
    _SHARED_FILTER.add(redactor)
    with _install_lock:
        if not _installed:
            for name in (
                *_SHARED_LOGGERS,
                "runtime.http.client",
                "runtime.read.reader",
                "runtime.http.auth",
            ):
                logging.getLogger(name).addFilter(_SHARED_FILTER)
            _installed = True
        for name in logger_names:
            logger = logging.getLogger(name)
            if _SHARED_FILTER not in logger.filters:
                logger.addFilter(_SHARED_FILTER)
