"""Optional features and the extras that install them: imported when used, with an error naming the extra.

``sql=`` needs ``[common.sql]``; OpenLineage facets need ``[openlineage]`` (the OpenLineage provider asks
for them only when it is installed).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from airflow_provider_metrika.constants import DISTRIBUTION_NAME
from airflow_provider_metrika.exceptions import MetrikaMissingExtraError

#: extra -> the distributions it installs.
EXTRAS: dict[str, tuple[str, ...]] = {
    "common.sql": ("apache-airflow-providers-common-sql",),
    "openlineage": ("apache-airflow-providers-openlineage", "apache-airflow-providers-common-compat"),
}


def import_extra(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module`` of an optional provider, or raise an error naming the extra that installs it.

    :param module: the module to import, e.g. ``airflow.providers.common.sql.hooks.sql``.
    :param extra: the extra of this package that installs it: a key of :data:`EXTRAS`.
    :param feature: what the user asked for that needs it, e.g. ``sql=``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        packages = " and ".join(EXTRAS[extra])
        raise MetrikaMissingExtraError(
            f"{feature} needs {packages}, which is not installed ({module}: {exc}): install the extra with"
            f" pip install '{DISTRIBUTION_NAME}[{extra}]'"
        ) from exc
