"""DAGs that upload a Russian CRM export as a new user would, with a status map missing two statuses."""

from __future__ import annotations

from airflow.sdk import Param

from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator
from tests.dag_factory import test_dag

#: What a user maps, following the rename hint; ``shipped`` and ``new`` are forgotten.
COLUMNS = {
    "Номер заказа": "id",
    "Дата": "create_date_time",
    "Телефон": "phones",
    "Email": "emails",
    "Статус": "order_status",
    "Сумма": "revenue",
}
STATUS_MAP = {"paid": "PAID", "in_work": "IN_PROGRESS", "cancelled": "CANCELLED", "spam": "SPAM"}

for dag_id, unknown_statuses in (
    ("test_metrika_crm_export", "error"),
    ("test_metrika_crm_export_allow", "allow"),
):
    with test_dag(
        dag_id,
        params={"orders_uri": Param("", type="string")},
    ):
        SimpleOrdersUploadOperator(
            task_id="upload",
            path="{{ params.orders_uri }}",
            columns=COLUMNS,
            status_map=STATUS_MAP,
            unknown_columns="drop",
            unknown_statuses=unknown_statuses,
        )
