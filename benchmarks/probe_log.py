"""The probes' shared record keeping: append one run's results, with the machine, to a JSON list."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import torch


def append_record(path: str | Path, **fields) -> dict:
    """Append ``{**fields, "machine": ...}`` to the JSON list in ``path`` (created if missing); returns it.

    The machine entry says where the figures were measured: processor, cores, torch threads and
    version, and the load average when the probe ended (an idle 2-core machine shows about 2.0).
    """
    record = {**fields, "machine": {"processor": platform.processor(), "cpu_count": os.cpu_count(),
                                    "threads": torch.get_num_threads(), "torch": torch.__version__,
                                    "load_average_at_end": os.getloadavg()}}
    path = Path(path)
    old = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps(old + [record], indent=1))
    return record
