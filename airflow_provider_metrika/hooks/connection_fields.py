"""How messages name a connection, and its extras read whichever way they were saved."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_metrika.constants import CONN_TYPE

if TYPE_CHECKING:
    from airflow_provider_metrika._compat import Connection


def named(connection: Connection) -> str:
    """Return ``Connection '<conn_id>'``, how messages name a connection.

    :param connection: the Airflow connection.
    """
    return f"Connection {connection.conn_id!r}"


def normalise_extras(extras: dict[str, Any]) -> dict[str, Any]:
    """Return the extras with the form's ``extra__metrika__<name>`` keys read as ``<name>``.

    A plain ``<name>`` wins over the prefixed one when both are set.

    :param extras: the connection's extras (``extra_dejson``).
    """
    prefix = f"extra__{CONN_TYPE}__"
    folded = {key.removeprefix(prefix): value for key, value in extras.items() if key.startswith(prefix)}
    return {**folded, **{k: v for k, v in extras.items() if not k.startswith(prefix)}}
