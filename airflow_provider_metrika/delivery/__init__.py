"""
The delivery engine: exactly-once uploads to Metrika, independent of the file format.

Nothing here imports pandas or pyarrow. An upload kind plugs in as an
:class:`~airflow_provider_metrika.delivery.engine.UploadEndpoint` (its request, its naming, its
status read-back); the engine owns the part keys, the journal, resolve-before-send, the failure
table and the part loop; :mod:`.wait` is the one synchronous wait on validation.
"""

from __future__ import annotations
