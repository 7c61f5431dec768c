"""Sweep grids: key paths into a TOML config, the runs of a grid, and each run's Config.

A grid maps config key paths to lists of values; the runs are the cartesian
product of the lists (keys in the order given), times the seeds (innermost).

Key paths (indices count from 0 in the order of the file)::

    population.hidden.theta       a key of the population named "hidden"
    population[1].tau             a key of the second [[population]] table
    population[1].tau[0]          one element of an array
    projection[0].weights.mean    a key of a projection's weights table
    run.duration, network.seed    keys of the [run] and [network] sections
    theta                         shorthand: the key in every gamma population that
                                  gives it in the file

A shorthand is an error when no gamma population gives the key (absent) or when
they give different values (ambiguous: name one with ``population.NAME.KEY``).
``name`` and ``type`` cannot be swept. ``seeds`` set ``network.seed`` per run
(explicit seeds in the file, such as a weights table's ``seed``, stay).

Every run's config is checked before anything runs: values go through the
config's own checks, so errors name the key path (``config error at
population[1].theta: ...``). A run's id is a short hash of its parameters, so a
resumed sweep recognises finished runs whatever their order.
"""
import hashlib
import itertools
import json
import numbers
import re
from dataclasses import dataclass

try:
    import tomllib
except ImportError:                 # Python 3.10
    import tomli as tomllib

from ..errors import SpecError

SECTIONS = ("network", "run", "output", "population", "projection")
FIXED_KEYS = ("name", "type")
_SEGMENT = re.compile(r"([A-Za-z_]\w*)((?:\[\d+\])*)$")


@dataclass(frozen=True)
class Run:
    """One run of a sweep: its id, its grid values ((key, value) pairs) and its seed
    (None: the config's network.seed)."""
    run_id: str
    params: tuple          # ((key, value), ...) in grid order
    seed: int = None

    @property
    def kwargs(self):
        return dict(self.params)

    def describe(self):
        """``theta = 0.02, seed = 3``: the run's settings as text."""
        parts = [f"{k} = {json.dumps(v)}" for k, v in self.params]
        if self.seed is not None:
            parts.append(f"seed = {self.seed}")
        return ", ".join(parts) or "the config as written"


def run_id(params, seed):
    """12 hex digits of the SHA-1 of the canonical JSON of the parameters and seed."""
    text = json.dumps({"params": dict(params), "seed": seed}, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha1(text.encode()).hexdigest()[:12]


# ---------------------------------------------------------------- key paths

def parse_key(key):
    """The tokens of a key path: names (str) and indices (int).

    ``"projection[0].weights.mean"`` -> ``["projection", 0, "weights", "mean"]``.
    """
    if not isinstance(key, str) or not key:
        raise SpecError(f"sweep: grid key {key!r} is not allowed; a grid key must be a config "
                        "key path such as 'theta', 'population.hidden.theta' or 'run.duration'")
    tokens = []
    for part in key.split("."):
        m = _SEGMENT.match(part)
        if not m:
            raise SpecError(f"sweep: grid key {key!r} is not allowed; {part!r} is not a key "
                            "(keys are names, optionally followed by [index])")
        tokens.append(m.group(1))
        tokens.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return tokens


def show_path(tokens):
    """``population[1].tau``: tokens written as a key path."""
    text = ""
    for tok in tokens:
        text += f"[{tok}]" if isinstance(tok, int) else (f".{tok}" if text else tok)
    return text


def resolve(data, key):
    """The canonical targets of grid ``key`` in parsed TOML ``data``: a list of token lists
    with indices only (``["population", 1, "theta"]``). Raises SpecError naming the key."""
    tokens = parse_key(key)
    if len(tokens) == 1 and tokens[0] not in SECTIONS:
        return _shorthand(data, key)
    if tokens[0] not in SECTIONS:
        raise SpecError(f"sweep: grid key {key!r} is not allowed; a key path starts with one of "
                        + ", ".join(SECTIONS) + " (or is a gamma population key such as 'theta')")
    out, node = [], data
    for pos, tok in enumerate(tokens[:-1]):
        here = show_path(out) or "the top level"
        if isinstance(node, list) and isinstance(tok, str):
            if out != ["population"]:
                raise SpecError(f"sweep: grid key {key!r} is not allowed; {here} is an array: "
                                f"select an entry by index, {here}[0]")
            names = [t.get("name") for t in node]
            if tok not in names:
                raise SpecError(f"sweep: grid key {key!r} is not allowed; no population is "
                                f"named {tok!r} (populations: {', '.join(map(repr, names))})")
            tok = names.index(tok)
        if isinstance(tok, int):
            if not isinstance(node, list) or tok >= len(node):
                size = len(node) if isinstance(node, list) else "no"
                raise SpecError(f"sweep: grid key {key!r} is not allowed; {here}[{tok}] does not "
                                f"exist ({here} has {size} entries)")
        elif tok not in node:
            if pos == 0 and tok in ("network", "output"):
                node[tok] = {}          # an absent optional section: the value adds it
            else:
                raise SpecError(f"sweep: grid key {key!r} is not allowed; "
                                f"{show_path(out + [tok])} is not in the config")
        out.append(tok)
        node = node[tok]
        if not isinstance(node, (dict, list)):
            raise SpecError(f"sweep: grid key {key!r} is not allowed; {show_path(out)} is a "
                            "value, not a table or an array")
    last = tokens[-1]
    if len(tokens) == 1:
        raise SpecError(f"sweep: grid key {key!r} is not allowed; {key} is a section: name a "
                        f"key inside it, e.g. {key}.KEY")
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise SpecError(f"sweep: grid key {key!r} is not allowed; {show_path(out)}[{last}] "
                            "does not exist")
    elif isinstance(node, list):
        if out == ["population"] and last in [t.get("name") for t in node]:
            raise SpecError(f"sweep: grid key {key!r} is not allowed; population.{last} is a "
                            f"table: name a key inside it, e.g. population.{last}.theta")
        raise SpecError(f"sweep: grid key {key!r} is not allowed; {show_path(out)} is an array: "
                        "select an entry by index")
    elif last in FIXED_KEYS and out[:1] == ["population"]:
        raise SpecError(f"sweep: grid key {key!r} is not allowed; a population's "
                        f"{' and '.join(FIXED_KEYS)} cannot be swept")
    current = node[last] if isinstance(last, int) else node.get(last)
    if isinstance(current, dict):
        raise SpecError(f"sweep: grid key {key!r} is not allowed; {show_path(out + [last])} is "
                        "a table: name a key inside it")
    return [out + [last]]


def _shorthand(data, key):
    pops = data.get("population", []) if isinstance(data.get("population"), list) else []
    gamma = [(i, p) for i, p in enumerate(pops) if isinstance(p, dict) and p.get("type") == "gamma"]
    if key in FIXED_KEYS:
        raise SpecError(f"sweep: grid key {key!r} is not allowed; a population's "
                        f"{' and '.join(FIXED_KEYS)} cannot be swept")
    giving = [(i, p) for i, p in gamma if key in p]
    if not giving:
        given = sorted({k for _, p in gamma for k in p if k not in FIXED_KEYS})
        raise SpecError(f"sweep: grid key {key!r} is not allowed; no gamma population gives "
                        f"{key!r} in the config (they give: {', '.join(given) or 'nothing'}); "
                        "a short key must be a key of the gamma populations, else write the "
                        "full path, e.g. run.duration or population.NAME.KEY")
    values = {json.dumps(p[key], sort_keys=True) for _, p in giving}
    if len(values) > 1:
        paths = ", ".join(f"population.{p.get('name')}.{key} = {p[key]!r}" for _, p in giving)
        raise SpecError(f"sweep: grid key {key!r} is ambiguous; the gamma populations give "
                        f"different values ({paths}); name one with population.NAME.{key}")
    return [["population", i, key] for i, _ in giving]


def _set(data, tokens, value):
    node = data
    for tok in tokens[:-1]:
        node = node[tok]
    node[tokens[-1]] = value


# ---------------------------------------------------------------- values

def canonical(value, where):
    """A grid value as plain TOML data (int, float, str, bool, nested lists); numpy
    scalars and arrays and tuples are converted."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [canonical(v, where) for v in value]
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise SpecError(f"sweep: {where} = {value!r} is not allowed; grid values must be numbers, "
                    "strings, booleans or lists of these")


def _values(key, values):
    if isinstance(values, (str, bytes, numbers.Number)) or values is None:
        values = [values]
    try:
        values = list(values)
    except TypeError:
        raise SpecError(f"sweep: grid[{key!r}] = {values!r} is not allowed; it must be a list of "
                        "values") from None
    if not values:
        raise SpecError(f"sweep: grid[{key!r}] = [] is not allowed; give at least one value")
    return [canonical(v, f"grid[{key!r}]") for v in values]


def check_seeds(seeds):
    """Seeds as a list of distinct ints >= 0, or None."""
    if seeds is None:
        return None
    if isinstance(seeds, numbers.Integral):
        seeds = [seeds]
    out = []
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
            raise SpecError(f"sweep: seeds contains {s!r}, which is not allowed; seeds must be "
                            "integers >= 0")
        if int(s) in out:
            raise SpecError(f"sweep: seeds contains {int(s)} twice; seeds must be distinct")
        out.append(int(s))
    if not out:
        raise SpecError("sweep: seeds = [] is not allowed; give at least one seed, or None for "
                        "the config's network.seed")
    return out


# ---------------------------------------------------------------- runs

def expand(text, grid=None, seeds=None, base=None):
    """The runs of ``grid`` x ``seeds`` on the config ``text``, each checked.

    grid: {key path: list of values}; seeds: list of ints (sets network.seed) or None.
    base: the directory relative file names in the config resolve against.
    Returns a list of Run. Raises SpecError for a bad key, a bad value (naming the
    run and the config key path) or two keys setting the same value.
    """
    grid = dict(grid or {})
    seeds = check_seeds(seeds)
    data = tomllib.loads(text)
    targets = {}
    for key in grid:
        for tokens in resolve(data, key):
            path = show_path(tokens)
            if path in targets:
                raise SpecError(f"sweep: grid keys {targets[path]!r} and {key!r} both set {path}; "
                                "keep one")
            targets[path] = key
    if seeds is not None and "network.seed" in targets:
        raise SpecError(f"sweep: grid key {targets['network.seed']!r} sets network.seed, and so "
                        "do seeds; give the seeds one way")
    keys = list(grid)
    lists = [_values(k, grid[k]) for k in keys]
    runs, seen = [], {}
    for combo in itertools.product(*lists):
        for seed in (seeds if seeds is not None else [None]):
            params = tuple(zip(keys, combo))
            run = Run(run_id(params, seed), params, seed)
            if run.run_id in seen:
                raise SpecError(f"sweep: the run {run.describe()} appears twice; grid values "
                                "must be distinct")
            seen[run.run_id] = run
            configure(text, run, base)          # check every value before anything runs
            runs.append(run)
    return runs


def configure(text, run, base=None):
    """The checked Config of ``run`` (a Run) on the config ``text``.

    The Config's ``text`` is the original text; the run's values are in ``run``.
    Raises SpecError naming the run and the config key path.
    """
    from ..io.config import config_from_data
    data = tomllib.loads(text)
    for key, value in run.params:
        for tokens in resolve(data, key):
            _set(data, tokens, value)
    if run.seed is not None:
        data.setdefault("network", {})["seed"] = run.seed
    try:
        return config_from_data(data, text, base)
    except SpecError as err:
        raise SpecError(f"sweep: run {run.describe()}: {err}") from None


# ---------------------------------------------------------------- command-line forms

def parse_grid_arg(text):
    """``"theta=0.01,0.02"`` -> ``("theta", [0.01, 0.02])``.

    Each value is read as a TOML value (``1`` int, ``1.0`` float, ``[1, 2]`` a list,
    ``true``); anything else is a string. Commas inside brackets do not split.
    """
    key, sep, rest = text.partition("=")
    key = key.strip()
    if not sep or not key or not rest.strip():
        raise SpecError(f"sweep: --grid {text!r} is not allowed; write KEY=V1,V2,... "
                        "(e.g. theta=0.01,0.02,0.05)")
    parse_key(key)
    items, depth, start = [], 0, 0
    for pos, ch in enumerate(rest + ","):
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            items.append(rest[start:pos].strip())
            start = pos + 1
    if any(not item for item in items) or depth != 0:
        raise SpecError(f"sweep: --grid {text!r} is not allowed; values must be separated by "
                        "single commas, with brackets balanced")
    return key, [_toml_value(item) for item in items]


def parse_grid_args(items):
    """{key: values} from several ``KEY=V1,V2`` texts (``--grid`` repeated); a key given twice
    is an error."""
    grid = {}
    for item in items or []:
        key, values = parse_grid_arg(item)
        if key in grid:
            raise SpecError(f"sweep: --grid {key} is given twice; give all its values once: "
                            f"{key}=V1,V2,...")
        grid[key] = values
    return grid


def _toml_value(item):
    try:
        return tomllib.loads(f"v = {item}")["v"]
    except tomllib.TOMLDecodeError:
        return item


def parse_seeds(text):
    """``"0:10"`` -> [0, ..., 9]; ``"0:10:2"``, ``"1,5,7"`` and mixes ``"0:3,10"`` too."""
    seeds = []
    for item in str(text).split(","):
        parts = item.strip().split(":")
        try:
            numbers_ = [int(p) for p in parts]
        except ValueError:
            numbers_ = None
        if numbers_ is None or not 1 <= len(numbers_) <= 3:
            raise SpecError(f"sweep: --seeds {text!r} is not allowed; write START:STOP[:STEP] "
                            "(STOP excluded, like range) or a list 1,2,5")
        seeds.extend(range(*numbers_) if len(numbers_) > 1 else numbers_)
    return check_seeds(seeds)
