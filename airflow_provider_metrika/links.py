"""Operator extra links: from a task in the Airflow UI to the counter in Metrika."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_metrika._compat import BaseOperatorLink, XCom
from airflow_provider_metrika.constants import COUNTER_PAGE_URL

if TYPE_CHECKING:
    from airflow.sdk.types import TaskInstanceKey

    from airflow_provider_metrika._compat import BaseOperator

#: XCom key under which upload and wait tasks keep the counter id they used.
COUNTER_ID_XCOM_KEY = "metrika_counter_id"


class MetrikaCounterLink(BaseOperatorLink):
    """Link to the Metrika counter a task uploaded to."""

    name = "Metrika counter"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """
        Return the counter's page, or an empty string before the task has run.

        :param operator: the task's operator.
        :param ti_key: the task instance.
        """
        counter_id = XCom.get_value(ti_key=ti_key, key=COUNTER_ID_XCOM_KEY)
        return COUNTER_PAGE_URL.format(counter_id=counter_id) if counter_id else ""
