"""The OpenLineage facet of a ``changed_only`` upload: what was sent, and what was skipped.

Imported only when the OpenLineage provider asks for facets: it is the ``[openlineage]`` extra.
"""

from __future__ import annotations

from typing import Any

import attrs

from airflow_provider_metrika.extras import import_extra

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
