"""
The delivery engine: exactly-once uploads to Metrika, independent of the file format.

Nothing here imports pandas or pyarrow. An upload kind plugs in as an
:class:`~airflow_provider_metrika.delivery.engine.UploadEndpoint` (its request, its naming, when a
re-send is harmless, its words); the engine owns the part keys, the journal, resolve-before-send,
the failure table's verdicts and the part loop. :func:`upload_simple_orders` is the exactly-once
upload of one simplified-orders file, for callers outside an operator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_metrika.delivery.simple_orders import upload_simple_orders

__all__ = ["upload_simple_orders"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: operators import the journal from this package when a DAG file is parsed.
    if name == "upload_simple_orders":
        from airflow_provider_metrika.delivery.simple_orders import upload_simple_orders

        return upload_simple_orders
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
