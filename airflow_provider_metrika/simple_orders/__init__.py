"""Orders core: turn CRM orders into Yandex Metrika simplified-orders CSV files, without Airflow.

Use :func:`prepare_simple_orders`; the helpers below are exported for reuse in operators and docs.
"""

from __future__ import annotations

from airflow_provider_metrika.simple_orders.columns import (
    IDENTIFIER_COLUMNS,
    ORDER_STATUSES,
    SIMPLE_ORDERS_COLUMNS,
)
from airflow_provider_metrika.simple_orders.errors import OrdersInputError, RowProblem
from airflow_provider_metrika.simple_orders.hashing import md5_hex
from airflow_provider_metrika.simple_orders.identifiers import normalize_email, normalize_phone
from airflow_provider_metrika.simple_orders.masking import mask_email, mask_phone, mask_value
from airflow_provider_metrika.simple_orders.prepare import prepare_simple_orders
from airflow_provider_metrika.simple_orders.report import (
    InvalidOrdersError,
    OrdersPart,
    OrdersReport,
    PreparedOrders,
)

__all__ = [
    "IDENTIFIER_COLUMNS",
    "ORDER_STATUSES",
    "SIMPLE_ORDERS_COLUMNS",
    "InvalidOrdersError",
    "OrdersInputError",
    "OrdersPart",
    "OrdersReport",
    "PreparedOrders",
    "RowProblem",
    "mask_email",
    "mask_phone",
    "mask_value",
    "md5_hex",
    "normalize_email",
    "normalize_phone",
    "prepare_simple_orders",
]
