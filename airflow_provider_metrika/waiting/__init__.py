"""
Waiting on Metrika's verdict on uploads: what each status means, polling from a worker, events.

:mod:`.uploadings` reads statuses (a kind's :class:`~.uploadings.StatusReader`) and words the
outcome; :mod:`.poll` is the one synchronous wait. The trigger and the sensor build on both.
Nothing here sends anything.
"""

from __future__ import annotations
