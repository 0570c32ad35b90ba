"""
Changed-only sync in Airflow: the sync state's life cycle around one upload task.

:mod:`.changed_only` runs it (read, begin, accepted, commit), :mod:`.store` keeps the state file
and its change files in object storage, :mod:`.changes` settles what earlier runs left open. The
state file's format and the fold of its changes are the orders core's
(:mod:`airflow_provider_metrika.simple_orders.sync_state`), which needs no Airflow.
"""

from __future__ import annotations
