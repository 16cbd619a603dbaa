"""ember.profiler and ember.autograd.profiler against torch's: the same small programs
profiled by both, event names, counts, nesting, schedules, the table's layout and the
Chrome trace compared; timing consistency (self <= total, sums) checked on ember alone,
since times differ from run to run."""
import gzip
import json
import os
import warnings
from collections import Counter

import pytest
import torch

import ember
import ember.profiler
import ember.autograd.profiler
from ember._ops import _base
from ember.autograd import engine
from ember.profiler import _recorder


def program(lib):
    """A forward and backward pass with two record_function blocks."""
    a = lib.ones(4, 4, requires_grad=True)
    b = lib.ones(4, 4)
    with lib.profiler.record_function("outer"):
        c = a @ b
        with lib.profiler.record_function("inner"):
            d = (c + b).sum()
        d.backward()


def profiled(lib, **kwargs):
    with lib.profiler.profile(activities=[lib.profiler.ProfilerActivity.CPU], **kwargs) as prof:
        program(lib)
    return prof


def test_event_names_and_counts_match_torch():
    """Every event ember records, torch records as often, under the same name; the ops
    that torch reaches through one ember op (the allocations, aten::t ...) are the only
    extra ones on torch's side."""
    mine = Counter(e.name for e in profiled(ember).events())
    theirs = Counter(e.name for e in profiled(torch).events())
    for name, count in mine.items():
        assert theirs[name] == count, (name, count, theirs[name])
    for name in ("aten::mm", "aten::add", "aten::sum", "MmBackward0", "AddBackward0",
                 "SumBackward0", "autograd::engine::evaluate_function: MmBackward0",
                 "torch::autograd::AccumulateGrad", "outer", "inner"):
        assert name in mine, name
    averages = {e.key: e for e in profiled(ember).key_averages()}
    assert averages["aten::mm"].count == 2    # forward, and the gradient of a in MmBackward0


def test_nesting_matches_torch():
    def parents(lib):
        return [(e.name, e.cpu_parent.name if e.cpu_parent else None)
                for e in profiled(lib).events()
                if e.name in ("outer", "inner", "aten::add", "aten::sum", "MmBackward0")]
    assert parents(ember) == parents(torch)
    events = profiled(ember).events()
    mm = [e for e in events if e.name == "aten::mm"]
    assert [e.cpu_parent.name for e in mm] == ["aten::matmul", "MmBackward0"]
    inner = next(e for e in events if e.name == "inner")
    assert [c.name for c in inner.cpu_children] == ["aten::add", "aten::sum"]


def test_self_and_total_times_are_consistent():
    prof = profiled(ember)
    events = prof.events()
    for e in events:
        assert 0 <= e.self_cpu_time_total <= e.cpu_time_total
        child_sum = sum(c.cpu_time_total for c in e.cpu_children)
        assert e.self_cpu_time_total == pytest.approx(e.cpu_time_total - child_sum)
        for c in e.cpu_children:
            assert e.time_range.start <= c.time_range.start <= c.time_range.end <= e.time_range.end
    top = [e for e in events if e.cpu_parent is None]
    total_self = sum(e.self_cpu_time_total for e in events)
    assert total_self == pytest.approx(sum(e.cpu_time_total for e in top))
    averages = prof.key_averages()
    assert averages.self_cpu_time_total == pytest.approx(total_self)
    for avg in averages:
        same = [e for e in events if e.key == avg.key]
        assert avg.count == len(same)
        assert avg.cpu_time_total == pytest.approx(sum(e.cpu_time_total for e in same))
        assert avg.self_cpu_time_total == pytest.approx(sum(e.self_cpu_time_total for e in same))
        assert avg.cpu_time == pytest.approx(avg.cpu_time_total / avg.count)


def test_table_layout_matches_torch():
    """The header block is character for character torch's (the name column is 55 wide in
    both: the engine's event names are longer); rows are right-aligned, footer alike."""
    mine = profiled(ember).key_averages().table(sort_by="cpu_time_total", row_limit=5)
    theirs = profiled(torch).key_averages().table(sort_by="cpu_time_total", row_limit=5)
    m_lines, t_lines = mine.splitlines(), theirs.splitlines()
    assert m_lines[:3] == t_lines[:3]
    assert "Self CPU %" in m_lines[1] and "# of Calls" in m_lines[1]
    assert m_lines[-2] == t_lines[-2]                     # the closing separator
    assert m_lines[-1].startswith("Self CPU time total: ")
    assert len(m_lines) == len(t_lines) == 3 + 5 + 2
    # the rows are sorted by total CPU time, the top-level block first
    assert m_lines[3].split()[0] == "outer"
    assert all(len(line) == len(m_lines[0]) for line in m_lines[3:-1])


def test_table_grouped_by_input_shape():
    mine = profiled(ember, record_shapes=True).key_averages(group_by_input_shape=True)
    theirs = profiled(torch, record_shapes=True).key_averages(group_by_input_shape=True)
    text = mine.table(sort_by="self_cpu_time_total", row_limit=-1)
    assert text.splitlines()[1].rstrip().endswith("Input Shapes")
    shapes = {(e.key, str(e.input_shapes)) for e in mine}
    assert ("aten::mm", "[[4, 4], [4, 4]]") in shapes
    assert ("aten::add", "[[4, 4], [4, 4]]") in shapes
    # (torch lists aten::add's alpha as a third, scalar, operand; ember has none)
    torch_shapes = {(e.key, str(e.input_shapes)) for e in theirs}
    assert {s for k, s in shapes if k == "aten::mm"} == {s for k, s in torch_shapes
                                                         if k == "aten::mm"}
    # without grouping, averages have no shapes and the table no shape column
    plain = profiled(ember, record_shapes=True).key_averages().table()
    assert "Input Shapes" not in plain


def test_memory_columns_match_torch():
    def memory(lib):
        prof = profiled(lib, profile_memory=True)
        table = prof.key_averages().table()
        assert "CPU Mem" in table and "Self CPU Mem" in table
        return {e.key: e.cpu_memory_usage for e in prof.key_averages()
                if e.key in ("aten::mm", "aten::add", "aten::sum")}
    assert memory(ember) == memory(torch)


def test_chrome_trace(tmp_path):
    prof = profiled(ember, record_shapes=True)
    prof.add_metadata("run", "r1")
    prof.add_metadata_json("sizes", "[1, 2]")
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    trace = json.loads(path.read_text())
    assert trace["run"] == "r1" and trace["sizes"] == [1, 2]
    ops = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert Counter(e["name"] for e in ops) == Counter(e.name for e in prof.events())
    for e in ops:
        assert e["dur"] >= 0 and {"ts", "pid", "tid", "cat"} <= set(e)
    outer = next(e for e in ops if e["name"] == "outer")
    assert outer["cat"] == "user_annotation"
    mm = next(e for e in ops if e["name"] == "aten::mm")
    assert mm["cat"] == "cpu_op" and mm["args"]["Input Dims"] == [[4, 4], [4, 4]]


def test_tensorboard_trace_handler(tmp_path):
    logdir = tmp_path / "log"
    with ember.profiler.profile(on_trace_ready=ember.profiler.tensorboard_trace_handler(
            str(logdir), worker_name="w0")):
        ember.ones(2) + 1
    files = os.listdir(logdir)
    assert len(files) == 1 and files[0].startswith("w0.") and files[0].endswith(".pt.trace.json")
    names = [e["name"] for e in json.loads((logdir / files[0]).read_text())["traceEvents"]]
    assert "aten::add" in names
    with ember.profiler.profile(on_trace_ready=ember.profiler.tensorboard_trace_handler(
            str(tmp_path / "gz"), worker_name="w1", use_gzip=True)):
        ember.ones(2) * 2
    (gz,) = os.listdir(tmp_path / "gz")
    assert gz.endswith(".pt.trace.json.gz")
    with gzip.open(tmp_path / "gz" / gz, "rt") as f:
        assert "aten::mul" in [e["name"] for e in json.load(f)["traceEvents"]]


@pytest.mark.parametrize("kwargs", [
    dict(wait=1, warmup=1, active=2, repeat=1),
    dict(wait=1, warmup=1, active=2),
    dict(wait=0, warmup=0, active=1, skip_first=2),
    dict(wait=2, warmup=1, active=1, repeat=2, skip_first=1),
    dict(wait=3, warmup=1, active=2, skip_first=1, skip_first_wait=1),
])
def test_schedule_records_the_steps_torch_records(kwargs):
    """For each trace handed to on_trace_ready: which ProfilerStep#<n> it holds and how
    many ops ran in it (with acc_events: in all cycles so far), compared with torch; and
    the schedule's actions step by step."""
    def traces(lib, n_steps, acc_events):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            schedule = lib.profiler.schedule(**kwargs)
        got = []

        def handler(prof):
            events = prof.events()
            got.append((sorted(e.trace_name for e in events if e.name == "ProfilerStep*"),
                        sum(e.name == "aten::add" for e in events)))
        x = lib.ones(2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with lib.profiler.profile(schedule=schedule, on_trace_ready=handler,
                                      acc_events=acc_events) as prof:
                for _ in range(n_steps):
                    x + x
                    prof.step()
        return got, [a.name for a in map(schedule, range(12))]
    for n_steps, acc_events in ((7, False), (9, False), (9, True)):
        assert traces(ember, n_steps, acc_events) == traces(torch, n_steps, acc_events)


def test_schedule_rejects_bad_arguments_as_torch():
    for lib in (ember, torch):
        with pytest.raises(AssertionError, match="Invalid profiler schedule arguments"):
            lib.profiler.schedule(wait=0, warmup=1, active=0)
    with pytest.warns(UserWarning, match="won't be using warmup"):
        ember.profiler.schedule(wait=1, warmup=0, active=1)


def test_record_function_as_decorator_and_outside_a_profiler():
    @ember.profiler.record_function("helper")
    def helper(x, depth):
        return x * 2 if depth == 0 else helper(x, depth - 1)

    with ember.profiler.record_function("idle"):   # no profiler: nothing recorded, no error
        helper(ember.ones(2), 1)
    with ember.profiler.profile() as prof:
        helper(ember.ones(2), 1)
    events = prof.events()
    helpers = [e for e in events if e.name == "helper"]
    assert len(helpers) == 2 and helpers[1].cpu_parent is helpers[0]
    assert [e.name for e in helpers[1].cpu_children] == ["aten::mul"]
    assert not any(e.name == "idle" for e in events)


def test_no_state_left_after_exit():
    original = (engine._call_backward, engine._accumulate)
    with pytest.raises(ValueError):
        with ember.profiler.profile():
            ember.ones(2) + 1
            raise ValueError("stop")
    assert _base._PROFILER[0] is None and _recorder.ACTIVE[0] is None
    assert (engine._call_backward, engine._accumulate) == original
    prof = profiled(ember)
    assert _base._PROFILER[0] is None and _recorder.ACTIVE[0] is None
    assert (engine._call_backward, engine._accumulate) == original
    n_events = len(prof.events())
    program(ember)                                  # runs unrecorded now
    assert len(prof.events()) == n_events


def test_one_profiler_at_a_time():
    with ember.profiler.profile():
        with pytest.raises(RuntimeError, match="already recording"):
            with ember.profiler.profile():
                pass
    assert _base._PROFILER[0] is None


def test_results_before_profiling_raise_as_torch():
    for lib in (ember, torch):
        with pytest.raises(AssertionError, match="Profiler must be initialized"):
            lib.profiler.profile().key_averages()


def test_legacy_autograd_profiler():
    def run(lib):
        x = lib.ones(3, 3, requires_grad=True)
        with lib.autograd.profiler.profile(record_shapes=True) as prof:
            with lib.autograd.profiler.record_function("block"):
                (x * 2).sum().backward()
        return prof
    mine, theirs = run(ember), run(torch)
    m = Counter(e.name for e in mine.function_events)
    t = Counter(e.name for e in theirs.function_events)
    for name, count in m.items():
        assert t[name] == count, name
    assert {"aten::mul", "aten::sum", "MulBackward0", "block"} <= set(m)
    text = mine.key_averages().table(sort_by="self_cpu_time_total")
    assert text.splitlines()[:3] == theirs.key_averages().table(
        sort_by="self_cpu_time_total").splitlines()[:3]
    assert mine.self_cpu_time_total == pytest.approx(
        sum(e.self_cpu_time_total for e in mine.function_events))
    assert str(mine).startswith("-")                # the per-event table
    with ember.autograd.profiler.profile(enabled=False) as off:
        ember.ones(1) + 1
    assert off is None
    unfinished = ember.autograd.profiler.profile()
    assert str(unfinished) == "<unfinished torch.autograd.profile>"


def test_with_stack_points_at_the_caller():
    with ember.profiler.profile(with_stack=True) as prof:
        ember.ones(2) * 3
    mul = next(e for e in prof.events() if e.name == "aten::mul")
    assert mul.stack and __file__ in mul.stack[0]
    assert "Source Location" in prof.key_averages(group_by_stack_n=1).table()


def test_every_op_class_has_a_real_aten_name_or_an_ember_one():
    """The names derived from backward-node names (ember/profiler/_names.py) are
    operators that exist in torch.ops.aten; the rest say they are ember's."""
    import ember.nn.functional  # noqa: F401  (loads every op family)
    import ember.nn.modules._backward_hooks  # noqa: F401  (full backward hooks' identity op)
    from ember.profiler._names import op_name

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)
    names = {op_name(cls) for cls in subclasses(_base.Op)}
    assert len(names) > 150
    for name in names:
        if name.startswith("aten::"):
            assert hasattr(torch.ops.aten, name[len("aten::"):]), name
        else:
            assert name.startswith("ember::"), name


def test_ops_of_another_thread_form_their_own_tree():
    import threading

    def work():
        with ember.profiler.record_function("worker"):
            ember.ones(2) + 1
    with ember.profiler.profile() as prof:
        with ember.profiler.record_function("main"):
            thread = threading.Thread(target=work)
            thread.start()
            thread.join()
            ember.ones(2) * 2
    events = prof.events()
    worker = next(e for e in events if e.name == "worker")
    main = next(e for e in events if e.name == "main")
    assert worker.thread != main.thread and worker.cpu_parent is None
    assert [c.name for c in worker.cpu_children] == ["aten::add"]
    assert [c.name for c in main.cpu_children] == ["aten::mul"]


def test_emit_nvtx_is_a_no_op_only_when_disabled():
    with ember.autograd.profiler.emit_nvtx(enabled=False):
        ember.ones(1) + 1
    with pytest.raises(NotImplementedError, match="NVTX"):
        with ember.autograd.profiler.emit_nvtx():
            pass
    with pytest.raises(NotImplementedError, match="ITT"):
        with ember.autograd.profiler.emit_itt():
            pass


def test_flops_match_torch():
    """with_flops: the counts of matrix products, convolution, mul and add equal torch's
    (torch puts the convolution's on aten::conv2d, ember on its one aten::convolution)."""
    def flops(lib):
        lib.manual_seed(0)
        linear, conv = lib.nn.Linear(8, 4), lib.nn.Conv2d(3, 5, 3, padding=1, groups=1)
        x, y = lib.ones(2, 8), lib.ones(2, 3, 6, 6)
        a, b = lib.ones(3, 4, 5), lib.ones(3, 5, 6)
        with lib.profiler.profile(with_flops=True) as prof:
            linear(x)
            conv(y)
            lib.bmm(a, b)
            x @ x.T
            x * 2
            x + x
            lib.addmm(lib.ones(2, 2), x, x.T)
        averages = prof.key_averages()
        return {e.key.replace("conv2d", "convolution"): e.flops for e in averages
                if e.flops}, averages.table(row_limit=-1)
    (mine, table), (theirs, torch_table) = flops(ember), flops(torch)
    assert mine == theirs
    assert table.splitlines()[1].endswith("Total FLOPs  ")
    assert torch_table.splitlines()[1].endswith("Total FLOPs  ")
    row = next(line for line in table.splitlines() if line.strip().startswith("aten::mm "))
    assert row.split()[-1] == "64.000"
