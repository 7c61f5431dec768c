"""Where the example scripts put their figures."""
from pathlib import Path


def save_figure(fig, out_dir, name, dpi=110):
    """Save ``fig`` as ``out_dir/name`` (directories made as needed); print and return the path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    fig.savefig(path, dpi=dpi)
    print(f"saved {path}")
    return path
