"""Tables for the benchmark scripts: print aligned, write CSV, describe the machine."""
import csv
import datetime
import os
import platform
from pathlib import Path

from eventsg.io.atomic import atomic_path


def machine():
    """A one-line description: CPU model, cores, Python."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def now():
    return datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


def _fmt(v):
    if isinstance(v, float):
        if v != v:
            return "nan"
        if v == 0.0:
            return "0"
        if abs(v) >= 1e5 or abs(v) < 1e-3:
            return f"{v:.3e}"
        return f"{v:.4g}"
    return str(v)


def print_table(title, rows):
    """Print a list of dicts (same keys) as an aligned table."""
    if not rows:
        return
    keys = list(rows[0])
    cells = [[_fmt(r.get(k, "")) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[j]) for c in cells)) for j, k in enumerate(keys)]
    print(f"\n{title}")
    print("  ".join(k.rjust(w) for k, w in zip(keys, widths)))
    for c in cells:
        print("  ".join(v.rjust(w) for v, w in zip(c, widths)))


def write_csv(out_dir, name, rows):
    """Write rows (list of dicts) to out_dir/name; returns the path.

    Written atomically (eventsg.io.atomic_path): an interrupted run never leaves a
    half-written table where a complete one was.
    """
    path = Path(out_dir) / name
    keys = list(rows[0]) if rows else []
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in r.items()})
    return path


def table_and_csv(out_dir, name, title, rows):
    print_table(title, rows)
    path = write_csv(out_dir, name, rows)
    print(f"  -> {path}")
    return path
