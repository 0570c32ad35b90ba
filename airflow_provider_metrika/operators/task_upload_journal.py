"""The task's upload journal, kept here for earlier callers (see :mod:`.delivery.task_journal`)."""

from __future__ import annotations

from airflow_provider_metrika.delivery.task_journal import TaskUploadJournal

__all__ = ["TaskUploadJournal"]
