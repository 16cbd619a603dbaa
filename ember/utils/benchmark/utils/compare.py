"""Compare: many Measurements as one table per label, in torch.utils.benchmark's layout.

Rows are sub-labels (or statements), grouped by thread count (a "N threads: ---" line
starts each group); columns are descriptions; a cell is the median time in the unit of
the table's smallest median. Replicates of one task (same TaskSpec) are pooled first.
"""
import enum
import math

from . import common

__all__ = ["Colorize", "Compare"]

BEST = "\033[92m"
GOOD = "\033[34m"
BAD = "\033[2m\033[91m"
VERY_BAD = "\033[31m"
BOLD = "\033[1m"
TERMINATE = "\033[0m"


class Colorize(enum.Enum):
    NONE = "none"
    COLUMNWISE = "columnwise"
    ROWWISE = "rowwise"


class _Column:
    """How one column prints its numbers: right-aligned, as many integer digits as its
    largest value needs, one decimal (or, with trimming, the significant figures the
    noisiest cell supports)."""

    def __init__(self, groups, time_scale, trim, highlight):
        self.groups = groups                       # per thread group: the column's cells
        cells = [m for g in groups for m in g]
        self._trim = trim
        self._highlight = highlight and any(m.has_warnings for m in cells if m)
        digits = [None if m is None else math.ceil(math.log10(m.median / time_scale))
                  for m in cells]
        unit_digits = max(d for d in digits if d is not None)
        if trim:
            decimals = min(max(m.significant_figures - d, 0)
                           for d, m in zip(digits, cells) if m is not None)
        else:
            decimals = 1
        width = unit_digits + decimals + (1 if decimals else 0)
        self._template = f"{{:>{width}.{decimals}f}}{{:>{7 if self._highlight else 0}}}"

    def num_to_str(self, value, sigfigs, spread):
        if value is None:
            return " " * len(self.num_to_str(1, sigfigs, None))
        if self._trim:
            value = common.trim_sigfig(value, sigfigs)
        note = f" (! {spread * 100:.0f}%)" if self._highlight and spread is not None else ""
        return self._template.format(value, note)


def _color(segment, value, best):
    if value <= best * 1.01 or value <= best + 100e-9:
        return BEST + BOLD + segment + TERMINATE * 2
    if value <= best * 1.1:
        return GOOD + BOLD + segment + TERMINATE * 2
    if value >= best * 5:
        return VERY_BAD + BOLD + segment + TERMINATE * 2
    if value >= best * 2:
        return BAD + segment + TERMINATE * 2
    return segment


def _render_table(results, colorize, trim, highlight):
    """One label's table."""
    label = results[0].label
    unit, scale = common.select_unit(min(r.median for r in results))

    def row_key(m):
        return m.num_threads, m.env, m.as_row_name

    row_keys = common.ordered_unique(row_key(m) for m in results)
    row_keys.sort(key=lambda k: k[:2])            # stable: statement order is kept
    col_keys = common.ordered_unique(m.description for m in results)
    grid = [[None] * len(col_keys) for _ in row_keys]
    row_at = {k: i for i, k in enumerate(row_keys)}
    col_at = {k: j for j, k in enumerate(col_keys)}
    for m in results:
        grid[row_at[row_key(m)]][col_at[m.description]] = m

    envs = {m.env for m in results}
    render_env = len(envs) > 1
    env_width = max(len(str(e)) for e in envs) if render_env else 0
    # thread groups: consecutive rows with one thread count
    group_of, groups, separators = [], [], []
    prior_threads, prior_env = -1, ""
    show_env = []
    for (threads, env, _), row in zip(row_keys, grid):
        new_group = threads != prior_threads
        if new_group:
            prior_threads, prior_env = threads, ""
            groups.append([])
        separators.append(threads if new_group else None)
        show_env.append(render_env and env != prior_env)
        group_of.append(len(groups) - 1)
        groups[-1].append(row)
        prior_env = env
    columns = [_Column([tuple(row[j] for row in g) for g in groups], scale, trim, highlight)
               for j in range(len(col_keys))]

    cells = [[""] + [str(k) if k is not None else "None" for k in col_keys]]
    for row, env_shown in zip(grid, show_env):
        first = next(m for m in row if m is not None)
        env = f"({first.env})" if env_shown else ""
        strings = ["  " + env.ljust(env_width + 4) + first.as_row_name]
        for m, col in zip(row, columns):
            if m is None:
                strings.append(col.num_to_str(None, 1, None))
            else:
                strings.append(col.num_to_str(m.median / scale, m.significant_figures,
                                              m.iqr / m.median if m.has_warnings else None))
        cells.append(strings)
    n_cols = max(len(r) for r in cells)
    for r in cells:
        r.extend([""] * (n_cols - len(r)))
    widths = [max(len(r[j]) for r in cells) for j in range(n_cols)]
    lines = ["  |  ".join(s.center(w) for s, w in zip(cells[0], widths))]
    overall = len(lines[0])
    for i, (strings, row) in enumerate(zip(cells[1:], grid)):
        if separators[i] is not None:
            lines.append(f"{separators[i]} threads: ".ljust(overall, "-"))
        if colorize == Colorize.ROWWISE:
            best = [min(m.median for m in row if m is not None)] * len(row)
        elif colorize == Colorize.COLUMNWISE:
            best = []
            for col in columns:
                values = [m.median for m in col.groups[group_of[i]] if m is not None]
                best.append(min(values) if values else None)
        else:
            best = [None] * len(row)
        parts = [strings[0].ljust(widths[0])]
        for s, w, m, b in zip(strings[1:], widths[1:], row, best):
            s = s.center(w)
            if colorize != Colorize.NONE and m is not None and b is not None:
                s = _color(s, m.median, b)
            parts.append(s)
        lines.append("  |  ".join(parts))
    warned = highlight and any(m.has_warnings for m in results)
    title = (" " + (label or "") + " ").center(overall - 2, "-")
    text = f"[{title}]\n" + "\n".join(lines) + "\n\n"
    text += f"Times are in {common.unit_to_english(unit)}s ({unit}).\n"
    if warned:
        text += "(! XX%) Measurement has high variance, where XX is the IQR / median * 100.\n"
    return text


class Compare:
    """Print many Measurements as tables: ``Compare(results).print()``.

    One table per label; rows by sub_label (or stmt) and thread count, columns by
    description. ``trim_significant_figures()``, ``colorize(rowwise=False)`` and
    ``highlight_warnings()`` change the rendering as in PyTorch."""

    def __init__(self, results):
        self._results = []
        self.extend_results(results)
        self._trim_significant_figures = False
        self._colorize = Colorize.NONE
        self._highlight_warnings = False

    def __str__(self):
        return "\n".join(self._render())

    def extend_results(self, results):
        for r in results:
            if not isinstance(r, common.Measurement):
                raise ValueError(f"Expected an instance of `Measurement`, got {type(r)} instead.")
        self._results.extend(results)

    def trim_significant_figures(self):
        self._trim_significant_figures = True

    def colorize(self, rowwise=False):
        self._colorize = Colorize.ROWWISE if rowwise else Colorize.COLUMNWISE

    def highlight_warnings(self):
        self._highlight_warnings = True

    def print(self):
        print(str(self))

    def _render(self):
        by_label = {}
        for m in common.Measurement.merge(self._results):
            by_label.setdefault(m.label, []).append(m)
        return [_render_table(group, self._colorize, self._trim_significant_figures,
                              self._highlight_warnings) for group in by_label.values()]
