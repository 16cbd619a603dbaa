"""Module._load_from_state_dict (PyTorch's extension point for checkpoint migrations) and
state dict metadata (each module's class `_version`), against torch."""
from collections import OrderedDict

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _pair(lib):
    """A subclass that renames a key of old checkpoints (w -> weight) before loading."""
    class Renaming(lib.nn.Linear):
        _version = 3

        def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                                  missing_keys, unexpected_keys, error_msgs):
            seen.append((prefix, dict(local_metadata)))
            old = prefix + "w"
            if old in state_dict:
                state_dict[prefix + "weight"] = state_dict.pop(old)
            super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                          missing_keys, unexpected_keys, error_msgs)

    seen = []
    model = lib.nn.Sequential(Renaming(3, 2), lib.nn.BatchNorm1d(2),
                              lib.nn.Sequential(lib.nn.Linear(2, 1)))
    return model, seen


def _values(lib, sd):
    return {k: (v.numpy() if hasattr(v, "numpy") else v) for k, v in sd.items()}


def _checkpoint(lib, version_of_bn=None, drop_count=False, old_name=True, metadata=True):
    rng = np.random.default_rng(0)
    sd = OrderedDict()
    sd["0.w" if old_name else "0.weight"] = lib.tensor(rng.normal(size=(2, 3)).astype(np.float32))
    sd["0.bias"] = lib.tensor(rng.normal(size=2).astype(np.float32))
    for name, v in (("weight", 1.5), ("bias", 0.5), ("running_mean", 0.25), ("running_var", 2.0)):
        sd[f"1.{name}"] = lib.full((2,), v)
    if not drop_count:
        sd["1.num_batches_tracked"] = lib.tensor(7)
    sd["2.0.weight"] = lib.ones(1, 2)
    sd["2.0.bias"] = lib.zeros(1)
    if metadata:
        sd._metadata = OrderedDict([("", {"version": 1}), ("0", {"version": 3}),
                                    ("1", {"version": version_of_bn}), ("2", {"version": 1}),
                                    ("2.0", {"version": 1})])
    return sd


def test_state_dict_metadata_as_torch():
    em, _ = _pair(ember)
    tm, _ = _pair(torch)
    assert em.state_dict()._metadata == tm.state_dict()._metadata
    assert em.state_dict()._metadata["1"] == {"version": 2}


def test_override_renames_old_keys_and_sees_its_metadata():
    results = []
    for lib in (ember, torch):
        model, seen = _pair(lib)
        sd = _checkpoint(lib, version_of_bn=2)
        keys_before = list(sd)
        out = model.load_state_dict(sd)
        assert list(sd) == keys_before          # the caller's dict is not changed
        assert not out.missing_keys and not out.unexpected_keys
        results.append((seen, _values(lib, model.state_dict())))
    (e_seen, e_vals), (t_seen, t_vals) = results
    assert e_seen == t_seen == [("0.", {"version": 3})]
    assert e_vals.keys() == t_vals.keys()
    for k in e_vals:
        np.testing.assert_array_equal(e_vals[k], t_vals[k])


@pytest.mark.parametrize("metadata,version,missing", [
    (True, 2, ["1.num_batches_tracked"]),    # saved by a version that has the count: missing
    (True, 1, []),                           # older: the module keeps its own count
    (True, None, []),
    (False, None, []),                       # a plain dict: no version, kept
])
def test_batchnorm_count_by_checkpoint_version(metadata, version, missing):
    outs = []
    for lib in (ember, torch):
        model, _ = _pair(lib)
        model[1].num_batches_tracked.fill_(4)
        sd = _checkpoint(lib, version_of_bn=version, drop_count=True, metadata=metadata)
        out = model.load_state_dict(sd, strict=False)
        outs.append((out.missing_keys, out.unexpected_keys, int(model[1].num_batches_tracked)))
    assert outs[0] == outs[1] == (missing, [], 4)


def test_hooks_receive_local_metadata():
    got = []
    for lib in (ember, torch):
        model, _ = _pair(lib)
        seen = []
        model[1].register_load_state_dict_pre_hook(
            lambda module, sd, prefix, meta, *rest: seen.append(("pre", prefix, dict(meta))))
        model[2].register_state_dict_post_hook(
            lambda module, sd, prefix, meta: seen.append(("post", prefix, dict(meta))))
        model.load_state_dict(_checkpoint(lib, version_of_bn=2))
        model.state_dict()
        got.append(seen)
    assert got[0] == got[1]
    assert got[0][0] == ("pre", "1.", {"version": 2})


def test_direct_call_copies_at_once():
    vals = []
    for lib in (ember, torch):
        lin = lib.nn.Linear(2, 2)
        sd = {"weight": lib.full((2, 2), 3.0), "bias": lib.zeros(2), "extra": lib.ones(1)}
        missing, unexpected, errors = [], [], []
        lin._load_from_state_dict(sd, "", {}, True, missing, unexpected, errors)
        vals.append((lin.weight.detach().numpy().tolist(), missing, unexpected, errors))
    assert vals[0] == vals[1]


def test_size_mismatch_still_reported_with_an_override():
    msgs = []
    for lib in (ember, torch):
        model, _ = _pair(lib)
        sd = _checkpoint(lib, version_of_bn=2)
        sd["2.0.weight"] = lib.ones(3, 2)
        with pytest.raises(RuntimeError) as info:
            model.load_state_dict(sd)
        msgs.append(str(info.value).replace("ember", "torch"))
    assert msgs[0] == msgs[1]


@pytest.mark.parametrize("fmt", ["ember", "torch"])
def test_saved_state_dict_keeps_its_metadata(tmp_path, fmt):
    """A state dict saved and loaded again carries its module versions, as torch's does
    (the Renaming module's version 3 reaches its _load_from_state_dict)."""
    em, seen = _pair(ember)
    tm, _ = _pair(torch)
    path = tmp_path / "sd.pt"
    torch.save(tm.state_dict(), path)
    expected = torch.load(path)._metadata
    ember.save(em.state_dict(), path, format=fmt)
    loaded = ember.load(path)
    assert loaded._metadata == expected
    em.load_state_dict(loaded)
    assert seen[-1] == ("0.", {"version": 3})
    ember.save({"plain": ember.ones(1)}, path, format=fmt)
    assert not hasattr(ember.load(path), "_metadata")
