"""A real S3 endpoint on 127.0.0.1 for tests and bench: moto's ThreadedMotoServer on an
ephemeral port, buckets made with boto3, every request it answers counted, and switches that
make it answer 503 (a server in trouble) or slowly (a slow network)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

# The secret key every S3 test runs with: it must never reach an output, a file or the remote.
CANARY_SECRET = "canary-SeCrEt-3f9a7c1e5b2d8f4a6c0e9b7d5f3a1c8e"
_ACCESS_KEY = "AKIAREPROTESTCANARY01"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class S3Server:
    def __init__(self) -> None:
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.requests: list[tuple[str, str]] = []  # (method, path?query) of each request
        self.failing = 0  # answer this many requests with 503 before serving again
        self.delay = 0.0  # seconds each request waits first: a slow network
        self._lock = threading.Lock()
        server = self._moto._server
        assert server is not None
        app: WsgiApp = server.app
        server.app = self._wrapped(app)

    def _wrapped(self, app: WsgiApp) -> WsgiApp:
        def counting(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
            query = environ.get("QUERY_STRING", "")
            with self._lock:
                self.requests.append(
                    (environ["REQUEST_METHOD"], environ["PATH_INFO"] + "?" + query)
                )
                failing, self.failing = self.failing, max(0, self.failing - 1)
            time.sleep(self.delay)
            if failing:
                start("503 Service Unavailable", [("Content-Length", "0")])
                return [b""]
            return app(environ, start)

        return counting

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=_ACCESS_KEY,
            aws_secret_access_key=CANARY_SECRET,
            region_name="us-east-1",
        )

    def new_bucket(self) -> str:
        name = f"team-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def env(self) -> dict[str, str]:
        """What a machine of the team has: the standard AWS variables, nothing repro-specific."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": _ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": CANARY_SECRET,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }

    def objects(self, bucket: str) -> dict[str, bytes]:
        """Every key of the bucket and its bytes."""
        s3 = self.client()
        found = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                found[item["Key"]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        return found

    def stop(self) -> None:
        self._moto.stop()


class TeamRemote:
    """A remote a test pushes to: its URL, and its keys read and written behind repro's back."""

    def __init__(self, url: str, server: S3Server | None, bucket: str, directory: Path | None):
        self.url, self.server, self.bucket, self.directory = url, server, bucket, directory

    @classmethod
    def on_s3(cls, server: S3Server) -> TeamRemote:
        bucket = server.new_bucket()
        return cls(f"s3://{bucket}/team", server, bucket, None)

    @classmethod
    def in_directory(cls, directory: Path) -> TeamRemote:
        return cls(f"file://{directory}", None, "", directory)

    def fresh(self, name: str) -> TeamRemote:
        """Another empty remote of the same kind (a new bucket, or a sibling directory)."""
        if self.server is not None:
            return TeamRemote.on_s3(self.server)
        assert self.directory is not None
        return TeamRemote.in_directory(self.directory.with_name(f"{self.directory.name}-{name}"))

    def contents(self) -> dict[str, bytes]:
        """Every key under the remote's prefix (`objects/…`, `runs/…`, `index/…`): its bytes."""
        if self.server is not None:
            return {
                key.removeprefix("team/"): data
                for key, data in self.server.objects(self.bucket).items()
            }
        assert self.directory is not None
        if not self.directory.exists():
            return {}
        return {
            str(p.relative_to(self.directory)): p.read_bytes()
            for p in self.directory.rglob("*")
            if p.is_file()
        }

    def write(self, key: str, data: bytes) -> None:
        """Replace a key's bytes, as someone with write access to the bucket could."""
        if self.server is not None:
            self.server.client().put_object(Bucket=self.bucket, Key=f"team/{key}", Body=data)
            return
        assert self.directory is not None
        path = self.directory / key
        path.chmod(0o644)
        path.write_bytes(data)

    def delete(self, key: str) -> None:
        """Remove a key, as someone with write access to the bucket could."""
        if self.server is not None:
            self.server.client().delete_object(Bucket=self.bucket, Key=f"team/{key}")
            return
        assert self.directory is not None
        (self.directory / key).unlink()
