"""ember.utils.benchmark against torch.utils.benchmark: Measurement statistics and repr
and Compare tables on fixed times (character for character), and Timer's run counts and
statistics on a statement that counts its own runs."""
import re

import numpy as np
import pytest
import torch
import torch.utils.benchmark as tb

import ember
from ember.utils import benchmark as eb

rng = np.random.default_rng(0)


def same_repr(ours, theirs):
    """The reprs with the object address and module prefix (torch./ember.) removed."""
    def clean(r):
        return re.sub(r"^<(torch|ember)\.(.*) object at 0x[0-9a-f]+>", r"<\2>", r)
    return clean(repr(ours)) == clean(repr(theirs))


def measurement_pair(number, times, **spec):
    stmt = spec.pop("stmt", "a + b")
    setup = spec.pop("setup", "pass")
    return (eb.Measurement(number, list(times), eb.TaskSpec(stmt, setup, **spec)),
            tb.Measurement(number, list(times), tb.TaskSpec(stmt, setup, **spec)))


CASES = [
    (100, rng.uniform(1e-6, 3e-6, 7), dict(label="add", sub_label="small", description="d")),
    (10, [1.2e-3, 1.3e-3, 1.1e-3, 5e-3, 1.25e-3], dict(stmt="x = a @ b\ny = x",
                                                        setup="a = 1\nb = 2", env="e1")),
    (1, [0.5], dict(stmt="f()", num_threads=2)),
    (1000, [2.0e-5, 2.01e-5, 1.99e-5], dict(label="tight")),
    (1, [1.0, 1.02, 0.98, 1.01, 0.99, 1.0], dict(stmt="g()", description="seconds")),
    (1, [4e-9, 5e-9, 4.5e-9, 4.2e-9], dict(label="ns", sub_label="tiny")),
]


@pytest.mark.parametrize("number,times,spec", CASES)
def test_measurement_statistics_and_repr_match_torch(number, times, spec):
    ours, theirs = measurement_pair(number, times, **spec)
    assert ours.times == pytest.approx(theirs.times)
    for attr in ("median", "mean", "iqr"):
        assert getattr(ours, attr) == pytest.approx(getattr(theirs, attr), rel=1e-6), attr
    assert ours.significant_figures == theirs.significant_figures
    assert ours.has_warnings == theirs.has_warnings
    assert ours.meets_confidence() == theirs.meets_confidence()
    assert ours.title == theirs.title and ours.as_row_name == theirs.as_row_name
    assert ours.label == theirs.label and ours.num_threads == theirs.num_threads
    assert same_repr(ours, theirs), (repr(ours), repr(theirs))
    # the statistics are those of the per-run times
    per_run = np.asarray(times, dtype=np.float64) / number
    assert ours.median == pytest.approx(np.median(per_run))
    assert ours.iqr == pytest.approx(np.quantile(per_run, 0.75) - np.quantile(per_run, 0.25))


def test_merge_pools_replicates_as_torch():
    a = measurement_pair(10, [1e-5, 2e-5], label="x")
    b = measurement_pair(100, [3e-4, 5e-4], label="x")
    ours = eb.Measurement.merge([a[0], b[0]])
    theirs = tb.Measurement.merge([a[1], b[1]])
    assert len(ours) == len(theirs) == 1
    assert ours[0].number_per_run == 1
    assert ours[0].raw_times == pytest.approx(theirs[0].raw_times)


def compare_inputs():
    local = np.random.default_rng(1)
    ours, theirs = [], []
    for label in ("add", "mm"):
        for threads in (1, 4):
            for sub in ("small", "large size"):
                for desc in ("ember", "torch"):
                    scale = (10 if sub == "large size" else 1) * (3 if desc == "torch" else 1)
                    times = local.uniform(1e-6, 3e-6, 7) * scale
                    e, t = measurement_pair(100, times, label=label, sub_label=sub,
                                            description=desc, num_threads=threads)
                    ours.append(e)
                    theirs.append(t)
    for number, times, spec in CASES[1:3]:
        # (torch's Compare fails on a table mixing env=None with named envs, or a
        # description of None with named ones)
        spec = dict(spec, env=spec.get("env", "e2"), description=f"d{number}")
        e, t = measurement_pair(number, times, **spec)
        ours.append(e)
        theirs.append(t)
    return ours, theirs


@pytest.mark.parametrize("options", [(), ("trim_significant_figures",),
                                     ("trim_significant_figures", "highlight_warnings"),
                                     ("colorize",), ("colorize_rowwise", "highlight_warnings")])
def test_compare_table_matches_torch(options, capsys):
    ours, theirs = compare_inputs()
    ours, theirs = eb.Compare(ours), tb.Compare(theirs)
    for option in options:
        for c in (ours, theirs):
            if option == "colorize_rowwise":
                c.colorize(rowwise=True)
            else:
                getattr(c, option)()
    assert str(ours) == str(theirs)
    ours.print()
    assert capsys.readouterr().out == str(theirs) + "\n"


def test_compare_rejects_non_measurements_as_torch():
    for lib in (eb, tb):
        with pytest.raises(ValueError, match="Expected an instance of `Measurement`"):
            lib.Compare([1.0])


def counting_timer(**kwargs):
    runs = [0]
    timer = eb.Timer("runs[0] += 1", globals={"runs": runs}, **kwargs)
    return timer, runs


def test_timeit_runs_the_statement_number_times_after_a_warmup():
    timer, runs = counting_timer(label="count")
    m = timer.timeit(500)
    assert runs[0] == 500 + 5                       # warm-up: number // 100
    assert m.number_per_run == 500 and len(m.raw_times) == 1
    assert m.times == [m.raw_times[0] / 500] and m.median == m.mean == m.times[0]
    timer, runs = counting_timer()
    timer.timeit(50)
    assert runs[0] == 50 + 2                        # at least 2 warm-up runs


def test_blocked_autorange_blocks_and_statistics():
    timer, runs = counting_timer()
    m = timer.blocked_autorange(min_run_time=0.02)
    n = m.number_per_run
    assert n >= 1 and str(n) == "1" + "0" * (len(str(n)) - 1)    # a power of ten
    assert sum(m.raw_times) >= 0.02
    assert runs[0] >= n * len(m.raw_times)          # plus the block-size estimation runs
    per_run = np.asarray(m.raw_times) / n
    assert m.times == pytest.approx(list(per_run))
    assert m.median == pytest.approx(np.median(per_run))
    assert m.mean == pytest.approx(per_run.mean())
    assert m.iqr == pytest.approx(np.quantile(per_run, 0.75) - np.quantile(per_run, 0.25))


def test_adaptive_autorange_stops_on_spread_or_time():
    timer, _ = counting_timer()
    m = timer.adaptive_autorange(threshold=0.5, min_run_time=0.005, max_run_time=0.5)
    assert len(m.raw_times) > 3 or sum(m.raw_times) > 0.5
    slow = eb.Timer("time.sleep(0.002)", setup="import time")
    m = slow.adaptive_autorange(threshold=1e-9, min_run_time=0.001, max_run_time=0.03)
    assert sum(m.raw_times) >= 0.03                 # the threshold is never met: time ends it


def test_timer_namespace_and_threads():
    x = ember.ones(3)
    given = {"x": x}
    timer = eb.Timer("y = torch.add(x, 1)", globals=given, num_threads=1)
    timer.timeit(3)
    assert set(given) == {"x"}                      # the caller's dict is not written to
    assert timer._globals["torch"] is ember         # `torch` is ember inside statements
    before = ember.get_num_threads()
    eb.Timer("pass", num_threads=2).timeit(2)
    assert ember.get_num_threads() == before
    m = eb.Timer("""
        a = 1
        b = a + 1
    """, label="dedent").timeit(2)
    assert m.stmt == "a = 1\nb = a + 1"


def test_timer_argument_errors_as_torch():
    for lib in (eb, tb):
        with pytest.raises(ValueError, match="only a `str` stmt"):
            lib.Timer(stmt=lambda: None)
        with pytest.raises(ValueError, match="global_setup is C\\+\\+ only"):
            lib.Timer("pass", global_setup="int x;")
    with pytest.raises(NotImplementedError, match="C\\+\\+"):
        eb.Timer("x", language="cpp")


def test_timer_repr_of_a_real_measurement_has_torch_layout():
    m = eb.Timer("x + 1", globals={"x": ember.ones(2)}, label="add one",
                 description="ember").blocked_autorange(min_run_time=0.01)
    lines = repr(m).splitlines()
    assert lines[0].startswith("<ember.utils.benchmark.utils.common.Measurement object at 0x")
    assert lines[1:3] == ["add one", "ember"]
    assert re.fullmatch(r"  (Median: )?\d+\.\d\d (ns|us|ms|s)", lines[3])
    assert re.search(r"^  \d+ measurements?, \d+ runs .*1 thread$", repr(m), re.MULTILINE)
