"""Where media files live: a local folder (served by our own signed URLs) or S3.

Both classes implement `application.ports.BlobStorage`. Keys are `/`-separated
relative paths; the local store refuses anything that could climb out of its root.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, urlencode

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

CHUNK_SIZE = 1024 * 1024
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})


def validate_key(key: str) -> list[str]:
    """The key's segments, or ValueError for a key that is not a plain relative path."""
    if not key or key.startswith("/") or "\\" in key or "\x00" in key:
        raise ValueError(f"invalid storage key: {key!r}")
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"invalid storage key: {key!r}")
    return parts


class LocalStorage:
    """Files under `root`; `signed_url` points at our own `GET /api/media/{key}`."""

    def __init__(self, root: Path, signing_key: bytes, base_url: str) -> None:
        self.root = Path(root)
        self._signing_key = signing_key
        self._base_url = base_url.rstrip("/")

    def path_of(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key))

    def put(self, key: str, source: BinaryIO, content_type: str) -> None:
        target = self.path_of(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target then rename, so readers never see half a file.
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".upload-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as tmp:
                shutil.copyfileobj(source, tmp, CHUNK_SIZE)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.chmod(tmp_name, 0o644)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        self.put(key, io.BytesIO(data), content_type)

    def download_to(self, key: str, path: Path) -> None:
        shutil.copyfile(self.path_of(key), path)

    def get_bytes(self, key: str) -> bytes:
        return self.path_of(key).read_bytes()

    def delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path_of(key).is_file()

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        # Hidden names are files `put` is still writing (and never valid keys).
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            base = Path(folder).relative_to(self.root).as_posix()
            for name in sorted(files):
                key = name if base == "." else f"{base}/{name}"
                if not name.startswith(".") and key.startswith(prefix):
                    yield key

    def signed_url(self, key: str, *, expires_in: int, content_type: str | None = None) -> str:
        validate_key(key)
        exp = int(time.time()) + expires_in
        query = {"exp": str(exp), "sig": self._sign(key, exp, content_type)}
        if content_type:
            query["ct"] = content_type
        return f"{self._base_url}/api/media/{quote(key, safe='/')}?{urlencode(query)}"

    def verify(self, key: str, exp: int, sig: str, ct: str | None = None) -> bool:
        expected = self._sign(key, exp, ct)
        if not hmac.compare_digest(expected.encode(), sig.encode()):
            return False
        return time.time() < exp

    def _sign(self, key: str, exp: int, ct: str | None) -> str:
        message = f"{key}|{exp}|{ct or ''}".encode()
        digest = hmac.new(self._signing_key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class S3Storage:
    """An S3 bucket (or an S3-compatible server when `endpoint_url` is given)."""

    def __init__(
        self,
        bucket: str,
        region: str,
        endpoint_url: str | None,
        access_key_id: str | None,
        secret_access_key: str | None,
        create_bucket: bool = False,
        path_style: bool | None = None,
    ) -> None:
        self.bucket, self.region = bucket, region
        # S3-compatible servers (MinIO, moto, ...) rarely have per-bucket DNS names.
        path_style = endpoint_url is not None if path_style is None else path_style
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if path_style else "auto"},
        )
        self._client: Any = boto3.client(
            "s3",
            region_name=region,
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=config,
        )
        if create_bucket:
            self._ensure_bucket()

    def _ensure_bucket(self) -> None:
        try:
            self._client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if not _is_not_found(exc):
                raise
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":  # us-east-1 refuses an explicit LocationConstraint
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self._client.create_bucket(**kwargs)
        except ClientError as exc:
            if _error_code(exc) != "BucketAlreadyOwnedByYou":
                raise

    def put(self, key: str, source: BinaryIO, content_type: str) -> None:
        validate_key(key)
        extra = {"ContentType": content_type}
        self._client.upload_fileobj(source, self.bucket, key, ExtraArgs=extra)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        validate_key(key)
        self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def download_to(self, key: str, path: Path) -> None:
        try:
            self._client.download_file(self.bucket, key, str(path))
        except ClientError as exc:
            if _is_not_found(exc):
                raise FileNotFoundError(key) from exc
            raise

    def get_bytes(self, key: str) -> bytes:
        try:
            body: bytes = self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if _is_not_found(exc):
                raise FileNotFoundError(key) from exc
            raise
        return body

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=key)

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _is_not_found(exc):
                return False
            raise
        return True

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield str(item["Key"])

    def signed_url(self, key: str, *, expires_in: int, content_type: str | None = None) -> str:
        params = {"Bucket": self.bucket, "Key": key}
        if content_type:
            params["ResponseContentType"] = content_type
        url: str = self._client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_in
        )
        return url


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _is_not_found(exc: ClientError) -> bool:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 404 or _error_code(exc) in _NOT_FOUND_CODES
