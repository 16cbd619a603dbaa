"""Whole-object checkpoints (load(weights_only=False)) rebuild objects but run no code from
the file: every pickle opcode that calls something is checked (ember/_object_pickle.py).
Each forged file here would run a command under pickle.load (and under torch.load with
weights_only=False); ember refuses it with pickle.UnpicklingError and nothing runs. Plain
user objects (a dataclass, a namedtuple, a model) still load."""
import collections
import copyreg
import dataclasses
import io
import os
import pickle
import struct
import subprocess
import sys
import zipfile

import pytest

import ember

torch = pytest.importorskip("torch")


def _forged(tmp_path, payload):
    """A torch zip checkpoint whose data.pkl is `payload` (bytes)."""
    buf = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buf)
    buf.seek(0)
    path = tmp_path / "forged.pt"
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, payload if item.filename.endswith("data.pkl") else data)
    return path


class _Reconstruct:
    """copyreg._reconstructor initialising a Popen: base.__init__(obj, args) runs it."""
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (copyreg._reconstructor, (subprocess.Popen, subprocess.Popen,
                                         ["touch", str(self.marker)]))


class _Touching:
    """A class whose __new__ runs code (here: creates the file it is given)."""
    def __new__(cls, path):
        open(path, "w").close()
        return object.__new__(cls)


def _unicode(text):
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data   # BINUNICODE


_TOUCHING = b"c" + __name__.encode() + b"\n_Touching\n"   # GLOBAL


def _newobj_reduce_payload(marker):
    # REDUCE of copyreg.__newobj__(_Touching, path) -> _Touching.__new__(_Touching, path)
    return (b"\x80\x02ccopyreg\n__newobj__\n" + _TOUCHING + _unicode(str(marker)) +
            b"\x86R.")


def _newobj_payload(marker):
    # the NEWOBJ opcode: _Touching.__new__(_Touching, path)
    return b"\x80\x02" + _TOUCHING + _unicode(str(marker)) + b"\x85\x81."


def _inst_payload(marker):
    # protocol 0: INST os system with a MARKed argument tuple -> os.system("touch ...")
    return b"(S'touch " + str(marker).encode() + b"'\nios\nsystem\np0\n."


def _obj_payload(marker):
    # protocol 1: OBJ over a MARK, the class and its argument -> os.system("touch ...")
    return b"(cos\nsystem\nS'touch " + str(marker).encode() + b"'\no."


CASES = {
    "reconstructor_popen": lambda m: pickle.dumps({"x": _Reconstruct(m)}, protocol=4),
    "reconstructor_popen_protocol2": lambda m: pickle.dumps({"x": _Reconstruct(m)}, protocol=2),
    "newobj_reduce_custom_new": _newobj_reduce_payload,
    "newobj_opcode_custom_new": _newobj_payload,
    "inst_os_system": _inst_payload,
    "obj_os_system": _obj_payload,
}


@pytest.mark.parametrize("name", list(CASES))
def test_forged_object_pickle_runs_nothing(tmp_path, name):
    marker = tmp_path / "pwned"
    path = _forged(tmp_path, CASES[name](marker))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        ember.load(path, weights_only=False)
    assert not marker.exists()
    # the weights-only reader (the default) refuses it too
    with pytest.raises(pickle.UnpicklingError):
        ember.load(path)
    assert not marker.exists()


def test_the_forged_files_do_run_code_under_pickle(tmp_path):
    """The payloads above are live: Python's own pickle runs each of them."""
    for name, make in CASES.items():
        marker = tmp_path / f"ran_{name}"
        try:
            pickle.loads(make(marker))
        except Exception:  # noqa: BLE001 - only whether the command ran matters
            pass
        for _ in range(50):   # Popen runs touch in a child process
            if marker.exists():
                break
            import time
            time.sleep(0.02)
        assert marker.exists(), name


def test_setstate_of_an_installed_class_is_refused(tmp_path):
    """BUILD calls a custom __setstate__ only of ember's, the allowed libraries' or the
    user's classes; uuid.UUID's (an installed module's) is refused."""
    import uuid
    path = _forged(tmp_path, pickle.dumps({"u": uuid.UUID(int=5)}, protocol=4))
    with pytest.raises(pickle.UnpicklingError, match="uuid.UUID.__setstate__"):
        ember.load(path, weights_only=False)


@dataclasses.dataclass
class _Config:
    lr: float
    layers: list


_Pair = collections.namedtuple("_Pair", "a b")


class _StatefulUserClass:
    def __init__(self, v):
        self.v = v

    def __getstate__(self):
        return {"v": self.v, "extra": 1}

    def __setstate__(self, state):
        self.__dict__.update(state)


def test_user_objects_still_load(tmp_path):
    obj = {"cfg": _Config(0.1, [1, 2]), "pair": _Pair(1, 2.5), "s": _StatefulUserClass(3),
           "od": collections.OrderedDict(a=1), "w": torch.ones(2)}
    for proto in (2, 4):
        p = tmp_path / f"obj{proto}.pt"
        torch.save(obj, p, pickle_protocol=proto)
        back = ember.load(p, weights_only=False)
        assert back["cfg"] == _Config(0.1, [1, 2])
        assert back["pair"] == _Pair(1, 2.5) and type(back["pair"]) is _Pair
        assert back["s"].v == 3 and back["s"].extra == 1
        assert back["od"] == collections.OrderedDict(a=1)
        assert back["w"].tolist() == [1.0, 1.0] and isinstance(back["w"], ember.Tensor)


def test_whole_model_saved_by_torch_protocol2_loads(tmp_path):
    """torch.save's default protocol 2 writes Python 2's copy_reg names."""
    tm = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh())
    p = tmp_path / "m.pt"
    torch.save(tm, p)
    em = ember.load(p, weights_only=False)
    assert type(em[0]) is ember.nn.Linear
    x = [0.25, -1.0]
    assert em(ember.tensor(x)).tolist() == pytest.approx(tm(torch.tensor(x)).tolist(), rel=1e-6)


def test_library_dirs_do_not_cover_the_tests():
    """The user-code rule: this file is the user's, an installed module is not."""
    from ember import _object_pickle as op
    assert op._user_module(__name__)
    assert not op._user_module("uuid") and not op._user_module(os.__name__)
    assert sys.modules[__name__].__file__
