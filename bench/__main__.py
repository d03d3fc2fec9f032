"""``python -m bench``: run every bench/*.py that defines ``main()``, in name order."""

import importlib
import sys
import traceback
from pathlib import Path

failed = []
for path in sorted(Path(__file__).parent.glob("*.py")):
    if path.name.startswith("_"):
        continue
    module = importlib.import_module(f"bench.{path.stem}")
    if not callable(getattr(module, "main", None)):
        continue
    print(f"== {path.stem}", flush=True)
    try:
        module.main([])
    except SystemExit as stop:
        if stop.code not in (0, None):
            failed.append(path.stem)
            print(f"{path.stem}: exited with {stop.code}", file=sys.stderr)
    except Exception:
        failed.append(path.stem)
        traceback.print_exc()
sys.exit(f"benchmarks that failed: {', '.join(failed)}" if failed else 0)
