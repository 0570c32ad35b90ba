"""Sphinx configuration of the documentation site: Markdown pages (MyST) and the API reference.

Build with ``make docs`` (warnings are errors); the pages are ``docs/*.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from airflow_provider_metrika import __version__  # noqa: E402

project = "airflow-provider-metrika"
author = "airflow-provider-metrika maintainers"
copyright = "airflow-provider-metrika maintainers"
version = release = __version__

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.viewcode"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "images/README.md"]
myst_enable_extensions = ["colon_fence"]
#: Links such as ``delivery.md#the-delivery-rule`` resolve to headings up to this depth.
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
#: Airflow's base classes document themselves; ours are what the reference lists.
autodoc_inherit_docstrings = False

html_theme = "furo"
html_title = f"airflow-provider-metrika {__version__}"
html_static_path: list[str] = []
