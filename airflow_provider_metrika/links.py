"""Operator extra links: from a task in the Airflow UI to the counter in Metrika."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_metrika._compat import BaseOperatorLink
from airflow_provider_metrika.constants import COUNTER_PAGE_URL

if TYPE_CHECKING:
    from airflow.sdk.types import TaskInstanceKey

    from airflow_provider_metrika._compat import BaseOperator

#: XCom key under which upload and wait tasks keep the counter id they used.
COUNTER_ID_XCOM_KEY = "metrika_counter_id"
#: Attribute on which an operator with :class:`MetrikaCounterLink` keeps the counter its try used.
COUNTER_USED_ATTRIBUTE = "counter_used"


class MetrikaCounterLink(BaseOperatorLink):
    """Link to the Metrika counter a task uploaded to."""

    name = "Metrika counter"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """
        Return the counter's page, or an empty string when the try never got to its counter.

        Airflow calls this as every try ends, failed ones included, on the operator that ran, so the
        counter is read from the operator (``counter_used``), not from XCom: reading an XCom that a
        failed try never pushed logs an "XCom not found" error in the task log.

        :param operator: the task's operator.
        :param ti_key: the task instance.
        """
        counter_id = getattr(operator, COUNTER_USED_ATTRIBUTE, None)
        return COUNTER_PAGE_URL.format(counter_id=counter_id) if counter_id else ""
