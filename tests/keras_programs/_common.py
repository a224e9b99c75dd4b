"""Shared by the programs: the result line the harness reads."""
import json
import sys


def report(**results) -> None:
    """Prints ``RESULT {json}`` as the program's last line."""
    clean = {k: (float(v) if hasattr(v, "__float__") and not isinstance(v, (bool, int)) else v)
             for k, v in results.items()}
    print("RESULT " + json.dumps(clean), flush=True)
    sys.stdout.flush()
