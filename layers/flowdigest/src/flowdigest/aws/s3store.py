"""flowdigest.store.Store over a prefix of the reports bucket."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


class S3Store:
    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:  # created on first use: cold starts that never touch S3 stay fast
            import boto3

            self._client = boto3.client("s3")
        return self._client

    def key(self, key: str) -> str:
        return self.prefix + key.lstrip("/")

    def read_bytes(self, key: str) -> bytes:
        try:
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=self.key(key))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(f"s3://{self.bucket}/{self.key(key)}") from None
            raise
        return body

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> str:
        extra = {"ContentType": content_type} if content_type else {}
        self.client.put_object(Bucket=self.bucket, Key=self.key(key), Body=data, **extra)
        return f"s3://{self.bucket}/{self.key(key)}"

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True
