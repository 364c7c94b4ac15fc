"""Massive flat files over their S3-compatible endpoint, through boto3.

Only three calls are needed: HEAD (ETag and size, to skip what is already stored and notice a
republished file), GET as a stream, and the error mapping. boto3's own retries handle throttling
(429/503 SlowDown) on the request; failures *inside* a streamed body are retried a level up, by
`fetch`, because only it can restart a file cleanly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from boto3.session import Session as Boto3Session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from market.history.errors import NotInSubscription, TransientFetchError

DEFAULT_ENDPOINT = "https://files.massive.com"
DEFAULT_BUCKET = "flatfiles"


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    etag: str
    size: int


class CountingStream:
    """A read-only file object over a boto3 body that checks the byte count at the end.

    A connection that closes early without an error would otherwise look like a short file.
    """

    def __init__(self, body: Any, expected: int) -> None:
        self._body = body
        self.expected = expected
        self.read_bytes = 0
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        chunk: bytes = self._body.read(size if size is not None and size >= 0 else None)
        self.read_bytes += len(chunk)
        if not chunk and self.read_bytes < self.expected:
            raise TransientFetchError(
                f"connection closed after {self.read_bytes} of {self.expected} bytes")
        return chunk

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True
        self._body.close()


class FlatFileSource:
    """Reads Massive flat files. Keys are passed in, never logged or put in messages."""

    def __init__(self, access_key: str, secret_key: str, *, endpoint: str = DEFAULT_ENDPOINT,
                 bucket: str = DEFAULT_BUCKET, connect_timeout: float = 10.0,
                 read_timeout: float = 60.0, retries: int = 3) -> None:
        self.bucket = bucket
        self.endpoint = endpoint
        self._client = Boto3Session().client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name="us-east-1",
            config=Config(
                signature_version="s3v4",
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"max_attempts": retries + 1, "mode": "standard"},
                s3={"addressing_style": "path"},
                max_pool_connections=32,
            ),
        )

    def head(self, key: str, dataset: str) -> ObjectInfo | None:
        """The object's ETag and size, or None if there is no such file (no data that day)."""
        try:
            reply = self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            return self._absent_or_raise(exc, dataset)
        except BotoCoreError as exc:
            raise TransientFetchError(f"{dataset}: {type(exc).__name__}: {exc}") from exc
        return ObjectInfo(key, str(reply["ETag"]).strip('"'), int(reply["ContentLength"]))

    def open(self, key: str, dataset: str) -> tuple[CountingStream, ObjectInfo] | None:
        """Start streaming the object; None if it does not exist."""
        try:
            reply = self._client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            return self._absent_or_raise(exc, dataset)
        except BotoCoreError as exc:
            raise TransientFetchError(f"{dataset}: {type(exc).__name__}: {exc}") from exc
        info = ObjectInfo(key, str(reply["ETag"]).strip('"'), int(reply["ContentLength"]))
        return CountingStream(reply["Body"], info.size), info

    @staticmethod
    def _absent_or_raise(exc: ClientError, dataset: str) -> None:
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if status == 404 or code in {"NoSuchKey", "404", "NotFound"}:
            return None
        if status == 403 or code in {"AccessDenied", "403", "Forbidden"}:
            raise NotInSubscription(dataset) from exc
        raise TransientFetchError(f"{dataset}: HTTP {status} {code}") from exc
