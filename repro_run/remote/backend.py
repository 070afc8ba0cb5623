"""The obstore boundary: a remote opened from its URL, its requests, their errors.

obstore (the `remote` extra) is imported only here, when a remote command opens one. Credentials
come only from where obstore's `from_url` looks for them (AWS_*/GOOGLE_*/AZURE_* variables and
the standard config files); repro never passes, stores or prints one: every error message is
cut to its first line and masked with `core.redaction` before it leaves this module. Requests
are retried by obstore with exponential backoff and jitter for `REPRO_REMOTE_RETRY_TIMEOUT`
seconds; then the error is a `RemoteError` (exit 41).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path

from repro_run.core.constants import ENV_REMOTE_RETRY_TIMEOUT
from repro_run.core.errors import RemoteConfigError, RemoteDamagedError, RemoteError
from repro_run.core.record import Record

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from obstore.store import ClientConfig, RetryConfig

    T = TypeVar("T")
    U = TypeVar("U")

SCHEMES = ("s3", "gs", "az", "file")
INSTALL_HINT = "pip install 'repro-run[remote]'"
_DEFAULT_RETRY_S = 120.0
_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT")
_MESSAGE_MAX = 300


class Listed(Record):
    """One key of a listing: its path under the remote's prefix, size and ETag."""

    key: str
    size: int
    etag: str


class Remote:
    """A remote store: keys are paths under the URL's prefix (`objects/ab/cdef…`)."""

    def __init__(self, url: str, store: Any) -> None:
        self.url = url  # for messages: credentials stripped
        self._store = store
        import obstore
        from obstore.exceptions import AlreadyExistsError, PreconditionError

        self._obs = obstore
        self._taken = (AlreadyExistsError, PreconditionError)  # create-only found an object

    def get(self, key: str, limit: int) -> bytes | None:
        """The object's bytes, None when absent; refused unread when over `limit` bytes.
        Synchronous (no event loop): a repeated push is this one request."""
        try:
            result = self._obs.get(self._store, key)
            self._check_size(key, result.meta["size"], limit)
            return bytes(result.bytes())
        except FileNotFoundError:
            return None
        except RemoteDamagedError:
            raise
        except Exception as exc:
            raise self._error(f"cannot read {key}", exc) from None

    async def get_async(self, key: str, limit: int) -> bytes | None:
        try:
            result = await self._obs.get_async(self._store, key)
            self._check_size(key, result.meta["size"], limit)
            return bytes(await result.bytes_async())
        except FileNotFoundError:
            return None
        except RemoteDamagedError:
            raise
        except Exception as exc:
            raise self._error(f"cannot read {key}", exc) from None

    async def stream(self, key: str) -> Any:
        """The object's bytes as an async iterator of chunks (bounded memory); a missing
        object is a RemoteDamagedError (what names it exists, the object does not)."""
        try:
            result = await self._obs.get_async(self._store, key)
        except FileNotFoundError:
            raise RemoteDamagedError(f"{self.url}/{key} is missing from the remote") from None
        except Exception as exc:
            raise self._error(f"cannot read {key}", exc) from None
        return result.stream(min_chunk_size=1 << 20)

    def put(self, key: str, data: bytes, *, create: bool = False) -> bool:
        """Write `data` at `key` (only where nothing is, with `create`); False when `create`
        found something there already."""
        return _sync(self.put_async(key, data, create=create))

    async def put_async(self, key: str, data: bytes | Path, *, create: bool = False) -> bool:
        try:
            result = await self._obs.put_async(
                self._store, key, data, mode="create" if create else "overwrite"
            )
        except self._taken:
            return False
        except Exception as exc:
            raise self._error(f"cannot write {key}", exc) from None
        await self._verify(key, data, result.get("e_tag"))
        return True

    async def head_async(self, key: str) -> int | None:
        """The object's size, None when absent."""
        try:
            meta = await self._obs.head_async(self._store, key)
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise self._error(f"cannot read {key}", exc) from None
        return int(meta["size"])

    def listing(self, prefix: str) -> Iterator[list[Listed]]:
        """The keys under `prefix`, a page (one request: 1,000 keys on S3) at a time."""
        try:
            for page in self._obs.list(self._store, prefix=prefix, chunk_size=1000):
                yield [Listed(m["path"], int(m["size"]), m.get("e_tag") or "") for m in page]
        except Exception as exc:
            raise self._error(f"cannot list {prefix}", exc) from None

    def each(self, jobs: int, items: Sequence[T], work: Callable[[T], Awaitable[U]]) -> list[U]:
        """`work(item)` for every item, `jobs` at a time; the first error stops the rest."""
        return _sync(_bounded(jobs, items, work))

    async def _verify(self, key: str, data: bytes | Path, etag: str | None) -> None:
        """An upload read back as the server stored it: S3's ETag of a one-part upload is the
        MD5 of the bytes; otherwise the stored size must be the size sent."""
        quoted = (etag or "").strip('"')
        if (
            isinstance(data, bytes)
            and quoted == hashlib.md5(data, usedforsecurity=False).hexdigest()
        ):
            return
        expected = len(data) if isinstance(data, bytes) else data.stat().st_size
        if await self.head_async(key) != expected:
            raise RemoteError(f"the upload of {key} to {self.url} did not verify: push again")

    def _check_size(self, key: str, size: int, limit: int) -> None:
        if size > limit:
            raise RemoteDamagedError(
                f"{self.url}/{key} is {size} bytes, over the limit of {limit}: not what repro "
                "writes; refused"
            )

    def _error(self, what: str, exc: BaseException) -> RemoteError:
        return remote_error(f"{what} on {self.url}", exc)


def remote_error(what: str, exc: BaseException) -> RemoteError:
    """A one-line error from an obstore exception: its first line, masked, cut short."""
    from repro_run.core.redaction import mask_text, secret_values

    first = (str(exc).splitlines() or [type(exc).__name__])[0]
    detail = mask_text(first, secret_values(os.environ))[:_MESSAGE_MAX]
    return RemoteError(f"{what}: {detail}")


def open_remote(url: str) -> Remote:
    """The remote at `url`: s3://bucket/prefix, gs://bucket/prefix, az://container/prefix or
    file:///absolute/path; RemoteConfigError for anything else or without obstore."""
    from repro_run.core.redaction import redact_url

    shown = redact_url(url)
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in SCHEMES or not rest.strip("/"):
        raise RemoteConfigError(
            f"cannot use {shown!r} as a remote: give s3://bucket/prefix, gs://bucket/prefix, "
            "az://container/prefix or file:///shared/path"
        )
    if scheme == "file" and not rest.startswith("/"):
        raise RemoteConfigError(f"the remote {shown!r} is not an absolute path: file:///path")
    try:
        from obstore.store import from_url
    except ImportError:
        raise RemoteConfigError(
            f"the remote commands need obstore, which is not installed: {INSTALL_HINT}"
        ) from None
    try:
        if scheme == "file":
            Path(rest).mkdir(parents=True, exist_ok=True)
            return Remote(shown.rstrip("/"), from_url(url))
        store = from_url(url, client_options=_client_options(), retry_config=_retry_config())
    except OSError as exc:
        raise RemoteConfigError(f"cannot create the remote {shown}: {exc.strerror}") from None
    except Exception as exc:
        raise remote_error(f"cannot open the remote {shown}", exc) from None
    return Remote(shown.rstrip("/"), store)


def _client_options() -> ClientConfig:
    """Plain http only when an S3 endpoint the user configured says http (a local server)."""
    endpoint = next((os.environ[v] for v in _ENDPOINT_VARIABLES if os.environ.get(v)), "")
    return {"allow_http": True} if endpoint.startswith("http://") else {}


def _retry_config() -> RetryConfig:
    value = os.environ.get(ENV_REMOTE_RETRY_TIMEOUT, "")
    try:
        seconds = float(value) if value else _DEFAULT_RETRY_S
    except ValueError:
        seconds = _DEFAULT_RETRY_S
    return {"retry_timeout": timedelta(seconds=seconds), "max_retries": 10}


def _sync(awaitable: Awaitable[T]) -> T:
    import asyncio  # ~10 ms: only where requests go out in parallel

    async def wrapped() -> T:
        return await awaitable

    return asyncio.run(wrapped())


async def _bounded(jobs: int, items: Sequence[T], work: Callable[[T], Awaitable[U]]) -> list[U]:
    import asyncio

    results: list[U | None] = [None] * len(items)
    queue = iter(range(len(items)))

    async def worker() -> None:
        for index in queue:  # shared: each index is taken by one worker
            results[index] = await work(items[index])

    tasks = [asyncio.ensure_future(worker()) for _ in range(max(1, min(jobs, len(items))))]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return results  # type: ignore[return-value]  # every slot was filled
