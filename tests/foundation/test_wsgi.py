"""The WSGI entry point loads every view before freezing the collector's generations (finance_portal/wsgi.py)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

PROBE = """
import gc, sys
import finance_portal.wsgi
frozen = gc.get_freeze_count()
print(frozen, "bills.api" in sys.modules, "finance_portal.oversight.explorer_views" in sys.modules)
"""


def test_the_entry_point_imports_the_views_and_freezes_what_exists_then():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "finance_portal.settings.test"}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    frozen, api_loaded, explorer_loaded = int(out[0]), out[1] == "True", out[2] == "True"
    assert api_loaded and explorer_loaded  # the URL conf was loaded before the freeze
    assert frozen > 50_000, frozen  # Django, DRF and the apps' objects: no longer scanned by full collections
