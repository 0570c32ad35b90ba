"""The OpenLineage facet of a ``changed_only`` upload: what was sent, and what was skipped.

Imported only when the OpenLineage provider asks for facets: it is the ``[openlineage]`` extra.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import attrs

from airflow_provider_metrika._compat import BaseHook
from airflow_provider_metrika.extras import import_extra
from airflow_provider_metrika.hooks.connection import base_url_from_connection
from airflow_provider_metrika.storage import storage_path

FACET_MODULE = "airflow.providers.common.compat.openlineage.facet"
facet = import_extra(FACET_MODULE, "openlineage", "OpenLineage facets")


def lineage_classes() -> tuple[Any, Any, Any]:
    """Return OpenLineage's ``Dataset``, ``SQLJobFacet`` and ``OperatorLineage``."""
    extractors = import_extra("airflow.providers.openlineage.extractors", "openlineage", "OpenLineage")
    return facet.Dataset, facet.SQLJobFacet, extractors.OperatorLineage


@attrs.define
class MetrikaSimpleOrdersSyncFacet(facet.DatasetFacet):  # type: ignore[name-defined]
    """Orders sent by one run (new and changed), skipped (unchanged), and the state kept.

    :param sent: orders sent.
    :param new: orders the state did not hold.
    :param changed: orders whose normalised row differed from the one sent before.
    :param unchanged: orders equal to the state's, not sent.
    :param stateOrders: orders the sync state tracks after the run.
    :param stateLocation: where the sync state is kept.
    """

    # camelCase, as OpenLineage facets are.
    sent: int = attrs.field()
    new: int = attrs.field()
    changed: int = attrs.field()
    unchanged: int = attrs.field()
    stateOrders: int = attrs.field()
    stateLocation: str = attrs.field()


def sync_output_facets(summary: dict[str, Any]) -> dict[str, Any]:
    """Return the output dataset's facets of a sync: ``metrikaSync``.

    :param summary: what the operator pushed as the ``sync_state`` XCom.
    """
    return {
        "metrikaSync": MetrikaSimpleOrdersSyncFacet(
            sent=summary["sent"],
            new=summary["new"],
            changed=summary["changed"],
            unchanged=summary["unchanged"],
            stateOrders=summary["state_orders"],
            stateLocation=summary["state_location"],
        ),
    }


def upload_lineage(
    hook: Any,
    counter: int,
    dataset_name: str,
    *,
    path: str | None,
    sql: str | None,
    sql_conn_id: str | None,
    sync_summary: dict[str, Any] | None,
) -> Any:
    """
    Describe an upload task's run for OpenLineage: the file or query read, the counter's data written.

    :param hook: the task's Metrika hook (its connection names the API).
    :param counter: the counter written to.
    :param dataset_name: what the kind writes, e.g. ``simple_orders``.
    :param path: the file read, if any.
    :param sql: the query run, if any.
    :param sql_conn_id: the query's connection.
    :param sync_summary: what a ``changed_only`` run pushed as the ``sync_state`` XCom, if any.
    """
    Dataset, SQLJobFacet, OperatorLineage = lineage_classes()

    api = urlparse(base_url_from_connection(hook.connection)).netloc
    output_facets = sync_output_facets(sync_summary) if sync_summary is not None else {}
    outputs = [
        Dataset(namespace=f"metrika://{api}", name=f"counter/{counter}/{dataset_name}", facets=output_facets)
    ]
    inputs = []
    job_facets: dict[str, Any] = {}
    if path is not None:
        source = storage_path(path)
        namespace = f"{source.protocol or 'file'}://{source.bucket}" if source.bucket else "file"
        inputs.append(Dataset(namespace=namespace, name=source.key if source.bucket else str(source.path)))
    elif sql is not None and sql_conn_id:
        connection = BaseHook.get_connection(sql_conn_id)
        namespace = f"{connection.conn_type}://{connection.host or sql_conn_id}"
        inputs.append(Dataset(namespace=namespace, name=connection.schema or sql_conn_id))
        job_facets["sql"] = SQLJobFacet(query=sql)
    return OperatorLineage(inputs=inputs, outputs=outputs, job_facets=job_facets)
