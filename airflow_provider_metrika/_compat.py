"""Airflow names the provider uses, from where each supported Airflow line (3.0 to 3.3) keeps them.

Each name is taken from the Task SDK (``airflow.sdk``) when that line has it there, otherwise from
the module Airflow 3.0 kept it in. No provider package is needed for them: a deployment keeps the
``apache-airflow-providers-common-compat`` its Airflow constraints pinned.

- ``BaseHook``: ``airflow.sdk`` since 3.1, ``airflow.hooks.base`` on 3.0;
- the exceptions: ``airflow.sdk.exceptions`` where that line has them, else ``airflow.exceptions``;
- ``conf``: ``airflow.sdk.configuration`` where it exists, ``airflow.configuration`` before;
- ``redact``: ``airflow.sdk.log`` since 3.1, ``airflow.sdk.execution_time.secrets_masker`` on 3.0.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import (
        BaseHook,
        BaseOperator,
        BaseOperatorLink,
        BaseSensorOperator,
        Connection,
        ObjectStoragePath,
        XComArg,
    )
    from airflow.sdk.configuration import conf
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowSensorTimeout,
        AirflowSkipException,
    )
    from airflow.sdk.execution_time.xcom import XCom
    from airflow.sdk.log import mask_secret, redact

#: name -> the modules holding it, newest first.
LOCATIONS: dict[str, tuple[str, ...]] = {
    "BaseHook": ("airflow.sdk", "airflow.hooks.base"),
    "BaseOperator": ("airflow.sdk",),
    "BaseOperatorLink": ("airflow.sdk",),
    "BaseSensorOperator": ("airflow.sdk",),
    "Connection": ("airflow.sdk",),
    "ObjectStoragePath": ("airflow.sdk",),
    "XComArg": ("airflow.sdk",),
    "XCom": ("airflow.sdk.execution_time.xcom",),
    "conf": ("airflow.sdk.configuration", "airflow.configuration"),
    "AirflowException": ("airflow.sdk.exceptions", "airflow.exceptions"),
    "AirflowFailException": ("airflow.sdk.exceptions", "airflow.exceptions"),
    "AirflowSensorTimeout": ("airflow.sdk.exceptions", "airflow.exceptions"),
    "AirflowSkipException": ("airflow.sdk.exceptions", "airflow.exceptions"),
    "mask_secret": ("airflow.sdk.log", "airflow.sdk.execution_time.secrets_masker"),
    "redact": ("airflow.sdk.log", "airflow.sdk.execution_time.secrets_masker"),
}


def import_first(name: str) -> Any:
    """Return ``name`` from the first of its :data:`LOCATIONS` that has it.

    :param name: a key of :data:`LOCATIONS`.
    """
    failures: list[str] = []
    for module in LOCATIONS[name]:
        try:
            with warnings.catch_warnings():
                # An older location still answers on a newer line, with a deprecation warning.
                warnings.simplefilter("ignore", DeprecationWarning)
                return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            failures.append(f"{module}: {exc}")
    raise ImportError(
        f"{name} could not be imported, so this Airflow is not supported ({'; '.join(failures)})"
    )


if not TYPE_CHECKING:
    BaseHook = import_first("BaseHook")
    BaseOperator = import_first("BaseOperator")
    BaseOperatorLink = import_first("BaseOperatorLink")
    BaseSensorOperator = import_first("BaseSensorOperator")
    Connection = import_first("Connection")
    ObjectStoragePath = import_first("ObjectStoragePath")
    XComArg = import_first("XComArg")
    XCom = import_first("XCom")
    conf = import_first("conf")
    AirflowException = import_first("AirflowException")
    AirflowFailException = import_first("AirflowFailException")
    AirflowSensorTimeout = import_first("AirflowSensorTimeout")
    AirflowSkipException = import_first("AirflowSkipException")
    mask_secret = import_first("mask_secret")
    redact = import_first("redact")


async def get_async_connection(conn_id: str, hook: Any = None) -> Connection:
    """Return the connection without blocking the event loop (in a trigger).

    ``BaseHook.aget_connection`` came with Airflow 3.1, and before 3.3.2 it masks secrets with a
    synchronous call that can deadlock a busy event loop: there the synchronous lookup runs in a
    worker thread, as ``common.compat``'s helper of the same name does.

    :param conn_id: the connection id.
    :param hook: the hook (class or instance) whose ``get_connection`` to use; ``BaseHook`` if None.
    """
    from asgiref.sync import sync_to_async

    hook = hook or BaseHook
    if hasattr(Connection, "aextra_dejson") and hasattr(hook, "aget_connection"):
        connection: Connection = await hook.aget_connection(conn_id=conn_id)
        return connection
    found: Connection = await sync_to_async(hook.get_connection)(conn_id=conn_id)
    return found


async def get_async_extra_dejson(connection: Connection) -> dict[str, Any]:
    """Return the connection's extra as a dict without blocking the event loop.

    :param connection: the connection, as :func:`get_async_connection` returned it.
    """
    if hasattr(connection, "aextra_dejson"):
        extra: dict[str, Any] = await connection.aextra_dejson()
        return extra
    from asgiref.sync import sync_to_async

    return dict(await sync_to_async(lambda: connection.extra_dejson)())
