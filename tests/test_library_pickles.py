"""Operators pickle by the names they had before ember/library.py became a package: an
OpOverload/OpOverloadPacket pickled then (the bytes below, protocol 2) still loads, and
pickling now writes the same bytes (ember.library._overload_named / _packet_named)."""
import pickle

import ember

# pickle.dumps(ember.ops.lbsnap.foo.default, protocol=2), written before the split
OVERLOAD = bytes.fromhex(
    "800263656d6265722e6c6962726172790a5f6f7665726c6f61645f6e616d65640a710058060000006c62"
    "736e617071015803000000666f6f7102580700000064656661756c7471038771045271052e")
# pickle.dumps(ember.ops.lbsnap.foo, protocol=2)
PACKET = bytes.fromhex(
    "800263656d6265722e6c6962726172790a5f7061636b65745f6e616d65640a710058060000006c62736e"
    "617071015803000000666f6f71028671035271042e")


def test_op_pickles_load_and_match():
    with ember.library._scoped_library("lbsnap", "FRAGMENT") as lib:
        lib.define("foo(Tensor x) -> Tensor")
        lib.impl("foo", lambda x: x * 2, "CPU")
        op = pickle.loads(OVERLOAD)
        assert op is ember.ops.lbsnap.foo.default
        assert pickle.loads(PACKET) is ember.ops.lbsnap.foo
        assert op(ember.tensor([1.0, 2.0])).tolist() == [2.0, 4.0]
        assert pickle.dumps(ember.ops.lbsnap.foo.default, protocol=2) == OVERLOAD
        assert pickle.dumps(ember.ops.lbsnap.foo, protocol=2) == PACKET


def test_public_names_keep_their_module():
    lib = ember.library
    for name in lib.__all__:
        assert getattr(lib, name).__module__ == "ember.library", name
    assert pickle.loads(pickle.dumps(lib.Library)) is lib.Library
    assert pickle.loads(pickle.dumps(ember.Tag.out)) is ember.Tag.out
