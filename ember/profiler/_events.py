"""Profiler results: FunctionEvent (one timed op or block), FunctionEventAvg (the events of
one name summed), EventList (a list of either, with PyTorch's table and Chrome trace).

Times are in microseconds, as in PyTorch. For an event,

    cpu_time_total      = end - start                          (its wall time on the CPU)
    self_cpu_time_total = cpu_time_total - sum(child.cpu_time_total for its children)

so the self times of all events add up to the time covered by the top-level ones, which
is the "Self CPU time total" under the table. An average's ``cpu_time`` is
``cpu_time_total / count``.
"""
import gzip
import json
import math
import os
from collections import namedtuple

Interval = namedtuple("Interval", "start end")


def _format_time(us):
    """Microseconds as PyTorch's tables print them: 1.234s, 1.234ms or 1.234us."""
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _format_share(us, total_us):
    if total_us == 0:
        return "NaN"
    return f"{us * 100.0 / total_us:.2f}%"


def _format_memory(nbytes):
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{nbytes} B"


class _TimeStrings:
    """The *_str properties PyTorch's events have (the table's formatted times)."""

    @property
    def cpu_time(self):
        return 0.0 if self.count == 0 else self.cpu_time_total / self.count

    @property
    def device_time(self):
        return 0.0 if self.count == 0 else self.device_time_total / self.count

    cuda_time = device_time

    @property
    def cuda_time_total(self):
        return self.device_time_total

    @property
    def self_cuda_time_total(self):
        return self.self_device_time_total

    @property
    def cpu_time_str(self):
        return _format_time(self.cpu_time)

    @property
    def cpu_time_total_str(self):
        return _format_time(self.cpu_time_total)

    @property
    def self_cpu_time_total_str(self):
        return _format_time(self.self_cpu_time_total)

    @property
    def device_time_str(self):
        return _format_time(self.device_time)

    @property
    def device_time_total_str(self):
        return _format_time(self.device_time_total)

    @property
    def self_device_time_total_str(self):
        return _format_time(self.self_device_time_total)


class FunctionEvent(_TimeStrings):
    """One recorded interval: an op call, a backward node or a ``record_function`` block."""

    def __init__(self, id, name, thread, start_us, end_us, input_shapes=None, stack=None,
                 is_user_annotation=False, cpu_memory_usage=0, trace_name=None):
        self.id = id
        self.name = name
        self.trace_name = trace_name or name
        self.thread = thread
        self.time_range = Interval(start_us, end_us)
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.stack = stack if stack is not None else []
        self.is_user_annotation = is_user_annotation
        self.cpu_children = []
        self.cpu_parent = None
        self.count = 1
        self.node_id = -1
        self.overload_name = ""
        self.is_async = False
        self.is_remote = False
        self.is_legacy = False
        self.device_type = "CPU"
        self.use_device = None
        self.kernels = []
        self.flops = 0
        self.cpu_memory_usage = cpu_memory_usage
        self.device_memory_usage = 0
        self.device_time_total = 0.0
        self.self_device_time_total = 0.0
        self.self_device_memory_usage = 0

    @property
    def key(self):
        return self.name

    @property
    def cpu_time_total(self):
        return self.time_range.end - self.time_range.start

    @property
    def self_cpu_time_total(self):
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def self_cpu_memory_usage(self):
        return self.cpu_memory_usage - sum(c.cpu_memory_usage for c in self.cpu_children)

    def __repr__(self):
        children = [c.id for c in self.cpu_children]
        return (f"<FunctionEvent id={self.id} name={self.name} "
                f"cpu_time={self.cpu_time_str} start_us={self.time_range.start:.3f} "
                f"end_us={self.time_range.end:.3f} cpu_children={children} "
                f"input_shapes={self.input_shapes} thread={self.thread}>")


class FunctionEventAvg(_TimeStrings):
    """The events of one key (and, when grouped so, one input-shape list) summed."""

    def __init__(self):
        self.key = None
        self.count = 0
        self.node_id = 0
        self.is_async = False
        self.is_remote = False
        self.is_legacy = False
        self.use_device = None
        self.device_type = "CPU"
        self.is_user_annotation = False
        self.overload_name = ""
        self.input_shapes = None
        self.stack = None
        self.scope = None
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.device_time_total = 0.0
        self.self_device_time_total = 0.0
        self.cpu_memory_usage = 0
        self.self_cpu_memory_usage = 0
        self.device_memory_usage = 0
        self.self_device_memory_usage = 0
        self.flops = 0
        self.cpu_children = None
        self.cpu_parent = None

    def add(self, other):
        if self.key is None:
            self.key = other.key
            self.node_id = other.node_id
            self.is_user_annotation = other.is_user_annotation
            self.input_shapes = other.input_shapes
            self.stack = other.stack
            self.cpu_children = other.cpu_children
            self.cpu_parent = other.cpu_parent
        elif other.key != self.key:
            raise ValueError(f"FunctionEventAvg.add: cannot add an event of key {other.key!r} "
                             f"to the average of {self.key!r}")
        self.count += other.count
        self.cpu_time_total += other.cpu_time_total
        self.self_cpu_time_total += other.self_cpu_time_total
        self.device_time_total += other.device_time_total
        self.self_device_time_total += other.self_device_time_total
        self.cpu_memory_usage += other.cpu_memory_usage
        self.self_cpu_memory_usage += other.self_cpu_memory_usage
        self.flops += other.flops
        return self

    def __iadd__(self, other):
        return self.add(other)

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total_str} "
                f"cpu_time={self.cpu_time_str} input_shapes={self.input_shapes}>")


class EventList(list):
    """A list of FunctionEvents (or FunctionEventAvgs) with PyTorch's summaries."""

    def __init__(self, *args, profile_memory=False, with_flops=False, use_device=None, **kwargs):
        super().__init__(*args)
        self._profile_memory = profile_memory
        self._with_flops = with_flops
        self._use_device = use_device

    @property
    def self_cpu_time_total(self):
        """The sum of the events' self CPU times (the table's footer), in microseconds."""
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shapes=False, group_by_stack_n=0,
                     group_by_overload_name=False):
        """One FunctionEventAvg per event key, in order of first appearance; with
        `group_by_input_shapes`, one per (key, input shapes); with `group_by_stack_n`, one
        per (key, top n source locations)."""
        groups = {}
        for event in self:
            key = [event.key, event.is_user_annotation]
            if group_by_input_shapes:
                key.append(str(event.input_shapes))
            if group_by_stack_n > 0:
                key += event.stack[:group_by_stack_n]
            key = tuple(key)
            avg = groups.get(key)
            if avg is None:
                avg = groups[key] = FunctionEventAvg()
            avg.add(event)
        averages = EventList(groups.values(), profile_memory=self._profile_memory,
                             with_flops=self._with_flops, use_device=self._use_device)
        for avg in averages:
            avg.stack = avg.stack[:group_by_stack_n] if group_by_stack_n else []
            if not group_by_input_shapes:
                avg.input_shapes = None
        return averages

    def total_average(self):
        """All events summed into one FunctionEventAvg keyed "Total"."""
        total = FunctionEventAvg()
        for event in self:
            total.count += event.count
            total.cpu_time_total += event.cpu_time_total
            total.self_cpu_time_total += event.self_cpu_time_total
            total.cpu_memory_usage += event.cpu_memory_usage
            total.self_cpu_memory_usage += event.self_cpu_memory_usage
        total.key = "Total"
        return total

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75,
              max_name_column_width=55, max_shapes_column_width=80, header=None,
              top_level_events_only=False, time_unit=None):
        """The events as PyTorch's text table (see `build_table`)."""
        return build_table(self, sort_by=sort_by, row_limit=row_limit, header=header,
                           max_src_column_width=max_src_column_width,
                           max_name_column_width=max_name_column_width,
                           max_shapes_column_width=max_shapes_column_width,
                           profile_memory=self._profile_memory, with_flops=self._with_flops,
                           top_level_events_only=top_level_events_only, time_unit=time_unit)

    def __str__(self):
        return self.table()

    def export_chrome_trace(self, path):
        """Write the events as a Chrome trace (chrome://tracing, Perfetto, TensorBoard)."""
        write_chrome_trace(self, path)

    def export_stacks(self, path, metric="self_cpu_time_total"):
        """Write one "frame;frame;...;op value" line per event (flame-graph input), with the
        source locations recorded by ``with_stack=True``, outermost first."""
        if metric not in ("self_cpu_time_total", "self_cuda_time_total", "self_device_time_total"):
            raise ValueError(f"export_stacks: metric should be self_cpu_time_total or "
                             f"self_device_time_total, got {metric!r}")
        metric = metric.replace("cuda", "device")
        with open(path, "w") as f:
            for event in self:
                if event.stack:
                    frames = ";".join(reversed([s.replace(";", "_") for s in event.stack]))
                    f.write(f"{frames};{event.name} {int(getattr(event, metric))}\n")


def _time_text(us, time_unit):
    if time_unit == "s":
        return f"{us / 1e6:.3f}s"
    if time_unit == "ms":
        return f"{us / 1e3:.3f}ms"
    if time_unit == "us":
        return f"{us:.3f}us"
    return _format_time(us)


_FLOP_UNITS = ("FLOPs", "KFLOPs", "MFLOPs", "GFLOPs", "TFLOPs", "PFLOPs")


def build_table(events, sort_by=None, row_limit=100, header=None, max_src_column_width=75,
                max_name_column_width=55, max_shapes_column_width=80, profile_memory=False,
                with_flops=False, top_level_events_only=False, time_unit=None):
    """PyTorch's profiler table: columns Name, Self CPU %, Self CPU, CPU total %, CPU total,
    CPU time avg, [CPU Mem, Self CPU Mem,] # of Calls [, Input Shapes][, Source Location];
    right-aligned, 12 wide (the name up to 55), two spaces apart; percentages are shares of
    the summed self CPU time, printed under the table."""
    if len(events) == 0:
        return ""
    if sort_by is not None:
        attr = sort_by.replace("cuda", "device").replace("xpu", "device")
        events = sorted(events, key=lambda e: getattr(e, attr), reverse=True)
    has_shapes = any(e.input_shapes for e in events)
    has_stack = any(e.stack for e in events)

    name_width = max(len(e.key) for e in events) + 4
    if max_name_column_width is not None:
        name_width = min(name_width, max_name_column_width)
    shapes_width = max(len(str(e.input_shapes)) for e in events) + 4
    if max_shapes_column_width is not None:
        shapes_width = min(shapes_width, max_shapes_column_width)
    src_width = None
    if has_stack:
        src_width = max(len(s) for e in events for s in e.stack) + 4
        if max_src_column_width is not None:
            src_width = min(src_width, max_src_column_width)

    headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
    if profile_memory:
        headers += ["CPU Mem", "Self CPU Mem"]
    headers.append("# of Calls")
    widths = [name_width] + [12] * (len(headers) - 1)
    aligns = [">"] * len(headers)
    if has_shapes:
        headers.append("Input Shapes")
        widths.append(shapes_width)
        aligns.append(">")
    flops = [e.flops for e in events if e.flops > 0] if with_flops else []
    if flops:
        # one unit for the column: the one that prints the smallest count with 1-3 digits.
        # (The column comes before the source column, which stays last: a stack continues
        # on the rows below its event.)
        power = max(0, min(int(math.log10(min(flops)) // 3), len(_FLOP_UNITS) - 1))
        flops_scale = 10.0 ** (-3 * power)
        headers.append(f"Total {_FLOP_UNITS[power]}")
        widths.append(12)
        aligns.append(">")
    if has_stack:
        headers.append("Source Location")
        widths.append(src_width)
        aligns.append("<")
    row_format = "".join("{:" + a + str(w) + "}  " for a, w in zip(aligns, widths))
    separator = "".join("-" * w + "  " for w in widths)
    line_length = sum(w + 2 for w in widths) - 2

    total = sum(e.self_cpu_time_total for e in events)
    lines = []
    if header is not None:
        lines += ["=" * line_length, header]
    if top_level_events_only:
        lines += ["=" * line_length, "This report only display top-level ops statistics"]
    lines += [separator, row_format.format(*headers), separator]

    def trim_source(path):
        if len(path) > src_width:
            path = path[len(path) - src_width:]
            if len(path) > 3:
                path = "..." + path[3:]
        return path

    shown = 0
    for e in events:
        if shown == row_limit:
            break
        if top_level_events_only and e.cpu_parent is not None:
            continue
        shown += 1
        name = e.key
        if max_name_column_width is not None and len(name) >= max_name_column_width - 3:
            name = name[:max_name_column_width - 3] + "..."
        row = [name,
               _format_share(e.self_cpu_time_total, total),
               _time_text(e.self_cpu_time_total, time_unit),
               _format_share(e.cpu_time_total, total),
               _time_text(e.cpu_time_total, time_unit),
               _time_text(e.cpu_time, time_unit)]
        if profile_memory:
            row += [_format_memory(e.cpu_memory_usage), _format_memory(e.self_cpu_memory_usage)]
        row.append(e.count)
        if has_shapes:
            row.append(str(e.input_shapes)[:shapes_width])
        if flops:
            row.append(f"{e.flops * flops_scale:8.3f}" if e.flops > 0 else "--")
        if has_stack:
            row.append(trim_source(e.stack[0]) if e.stack else "")
        lines.append(row_format.format(*row))
        if has_stack:
            blank = [""] * (len(headers) - 1)
            for entry in e.stack[1:]:
                lines.append(row_format.format(*blank, trim_source(entry)))
            lines.append(row_format.format(*blank, ""))
    lines.append(separator)
    lines.append(f"Self CPU time total: {_time_text(total, time_unit)}")
    return "\n".join(lines) + "\n"


def write_chrome_trace(events, path, metadata=None):
    """Write the Chrome trace-event JSON of `events` (complete "X" events, microseconds;
    gzip-compressed when `path` ends in .gz)."""
    pid = os.getpid()
    trace = []
    threads = sorted({e.thread for e in events})
    trace.append({"ph": "M", "name": "process_name", "pid": pid, "tid": 0,
                  "args": {"name": "python"}})
    for tid in threads:
        trace.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
                      "args": {"name": f"thread {tid} (python)"}})
    for e in events:
        args = {"External id": e.id}
        if e.input_shapes:
            args["Input Dims"] = e.input_shapes
        if e.cpu_memory_usage:
            args["Bytes"] = e.cpu_memory_usage
        trace.append({"ph": "X", "cat": "user_annotation" if e.is_user_annotation else "cpu_op",
                      "name": e.trace_name, "pid": pid, "tid": e.thread,
                      "ts": e.time_range.start, "dur": e.cpu_time_total, "args": args})
    document = {"schemaVersion": 1, "deviceProperties": [], "displayTimeUnit": "ms",
                "traceEvents": trace, "traceName": str(path)}
    document.update(metadata or {})
    opener = gzip.open if str(path).endswith(".gz") else open   # TensorBoard reads both
    with opener(path, "wt") as f:
        json.dump(document, f)
