"""Storages pickle by the names they had before ember/storage.py became a package: pickles
written then (the bytes below, protocol 2) still load, and pickling now writes the same
bytes (ember.storage._rebuild_untyped / _rebuild_typed, the storage classes' names)."""
import pickle
import warnings

import ember

# pickle.dumps(ember.arange(4.).untyped_storage(), protocol=2), written before the split
UNTYPED = bytes.fromhex(
    "800263656d6265722e73746f726167650a5f72656275696c645f756e74797065640a7100635f636f6465"
    "63730a656e636f64650a71015811000000000000000000c2803f0000004000004040710258060000006c"
    "6174696e317103867104527105580300000063707571068671075271082e")
# pickle.dumps(ember.arange(4.).storage(), protocol=2)
TYPED = bytes.fromhex(
    "800263656d6265722e73746f726167650a5f72656275696c645f74797065640a710063656d6265722e73"
    "746f726167650a5f72656275696c645f756e74797065640a7101635f636f646563730a656e636f64650a"
    "71025811000000000000000000c2803f0000004000004040710358060000006c6174696e317104867105"
    "5271065803000000637075710786710852710963656d6265722e5f64747970650a5f64747970655f6279"
    "5f6e616d650a710a5807000000666c6f61743332710b85710c52710d86710e52710f2e")


def test_old_pickles_load():
    untyped = pickle.loads(UNTYPED)
    assert type(untyped) is ember.UntypedStorage
    assert untyped.tolist() == list(ember.arange(4.).untyped_storage())
    typed = pickle.loads(TYPED)
    assert type(typed) is ember.TypedStorage and typed.dtype is ember.float32
    assert typed.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert isinstance(typed, ember.FloatStorage)


def test_pickles_name_the_same_functions():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert pickle.dumps(ember.arange(4.).untyped_storage(), protocol=2) == UNTYPED
        assert pickle.dumps(ember.arange(4.).storage(), protocol=2) == TYPED


def test_classes_keep_their_module():
    for cls in (ember.UntypedStorage, ember.TypedStorage, ember.storage._StorageBase,
                ember.storage._LegacyStorage):
        assert cls.__module__ == "ember.storage", cls
        assert pickle.loads(pickle.dumps(cls)) is cls
    assert str(ember.UntypedStorage(2)).endswith(
        "[ember.storage.UntypedStorage(device=cpu) of size 2]")
