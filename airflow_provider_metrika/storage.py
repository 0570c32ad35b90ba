"""Object storage paths for the operators' files: inputs read, rejects, archives and sync states kept."""

from __future__ import annotations

import shutil
from pathlib import Path

from airflow_provider_metrika._compat import ObjectStoragePath
from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError


def storage_path(path: str | ObjectStoragePath) -> ObjectStoragePath:
    """
    Return an ObjectStoragePath for a local path or a URI (``s3://``, ``gs://``, ``file://`` ...).

    A ``conn_id`` in the URI's userinfo (``s3://aws_default@bucket/key``) selects the connection.

    :param path: what the user passed as ``path``.
    """
    if isinstance(path, ObjectStoragePath):
        return path
    text = str(path).strip()
    if not text:
        raise MetrikaInvalidArgumentError(
            "path is empty: pass a local path or a URI such as s3://bucket/orders.csv"
        )
    if "://" not in text:
        text = f"file://{text}" if text.startswith("/") else text
    return ObjectStoragePath(text)


def copy_to_storage(source: Path, target: ObjectStoragePath) -> None:
    """
    Copy a local file to a path in object storage (or on local disk), 1 MiB at a time.

    :param source: the local file.
    :param target: where to write it; replaced if it exists.
    """
    with source.open("rb") as data, target.open("wb") as out:
        shutil.copyfileobj(data, out, 1 << 20)
