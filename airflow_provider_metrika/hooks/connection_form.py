"""The connection form's extra fields for Airflow 3.0 and 3.1, which read them from the hook.

Airflow 3.2 and later read ``conn-fields`` from provider info and never call the hook; earlier
versions only know ``get_connection_form_widgets``. Both are built from the one ``conn-fields``
declaration in :mod:`airflow_provider_metrika.get_provider_info`.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_metrika.constants import CONN_TYPE


def conn_fields() -> dict[str, dict[str, Any]]:
    """Return the ``conn-fields`` of the ``metrika`` connection type, as provider info declares them."""
    from airflow_provider_metrika.get_provider_info import get_provider_info

    [connection_type] = [
        c for c in get_provider_info()["connection-types"] if c["connection-type"] == CONN_TYPE
    ]
    return dict(connection_type["conn-fields"])


def connection_form_widgets() -> dict[str, Any]:
    """
    Return WTForms fields for the ``conn-fields``, keyed by extra name.

    Airflow's API server swaps WTForms' classes for its own while it calls the hook, so only the
    classes it knows are used: ``IntegerField`` for integers, ``StringField`` for the rest (the hook
    reads a number from text). No widget is set: the UI is Airflow's, not Flask-AppBuilder's.
    """
    # Imported here: WTForms is only needed by the API server of Airflow < 3.2.
    from wtforms import IntegerField, StringField
    from wtforms.validators import Optional

    widgets: dict[str, Any] = {}
    for name, field in conn_fields().items():
        kind = field["schema"]["type"]
        kinds = set(kind) if isinstance(kind, list) else {kind}
        field_class = IntegerField if "integer" in kinds else StringField
        widgets[name] = field_class(
            field["label"], validators=[Optional()], description=field.get("description", "")
        )
    return widgets
