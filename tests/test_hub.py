"""ember.hub (torch.hub): the cache folder, reading and downloading weights files, and
hubconf entry points, compared with torch.hub where both can run offline."""
import os

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(ember.hub, "_hub_dir", None)
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    return tmp_path / "home"


def test_get_dir_and_set_dir_as_torch(torch_home, tmp_path):
    assert ember.hub.get_dir() == torch.hub.get_dir()
    ember.hub.set_dir(tmp_path / "elsewhere")
    torch.hub.set_dir(tmp_path / "elsewhere")
    assert ember.hub.get_dir() == torch.hub.get_dir()
    # torchvision's weights cache follows the hub folder
    from ember.vision.models import _api as vision_api   # (`import ember` does not load it)
    assert vision_api.get_dir() == ember.hub.get_dir()


def test_load_state_dict_from_url_reads_the_cache_as_torch(torch_home):
    checkpoints = torch_home / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    sd = {"w": torch.arange(6.0).reshape(2, 3), "b": torch.tensor([1, 2])}
    torch.save(sd, checkpoints / "tiny-0123abcd.pth")
    url = "https://example.invalid/models/tiny-0123abcd.pth"
    got = ember.hub.load_state_dict_from_url(url, check_hash=True)
    want = torch.hub.load_state_dict_from_url(url, check_hash=True)
    assert sorted(got) == sorted(want)
    for k in want:
        np.testing.assert_array_equal(got[k].numpy(), want[k].numpy())
        assert str(got[k].dtype).split(".")[1] == str(want[k].dtype).split(".")[1]
    assert ember.utils.model_zoo.load_url(url)["w"].shape == (2, 3)


def test_download_url_to_file_and_hash_check(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"ember hub" * 100)
    url = src.as_uri()
    import hashlib
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    for hub in (ember.hub, torch.hub):
        dst = tmp_path / f"{hub.__name__}.bin"
        hub.download_url_to_file(url, str(dst), hash_prefix=digest[:8])
        assert dst.read_bytes() == src.read_bytes()
    errors = []
    for hub in (ember.hub, torch.hub):
        folder = tmp_path / hub.__name__.replace(".", "_")
        folder.mkdir()
        with pytest.raises(RuntimeError) as info:
            hub.download_url_to_file(url, str(folder / "x.bin"), hash_prefix="ffffffff")
        errors.append(str(info.value))
        assert os.listdir(folder) == []   # nothing half-written stays behind
    assert "invalid hash value" in errors[0] and "invalid hash value" in errors[1]


def test_missing_url_offline_names_url_and_path(torch_home):
    url = "http://127.0.0.1:9/nothing-here.pth"
    with pytest.raises(RuntimeError, match="nothing-here.pth"):
        ember.hub.load_state_dict_from_url(url)
    assert os.listdir(torch_home / "hub" / "checkpoints") == []


HUBCONF = '''
dependencies = ["numpy"]

def double(x, factor=2):
    """Multiply x by factor."""
    return x * factor

def _private():
    return None
'''


def test_local_hubconf_as_torch(tmp_path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "hubconf.py").write_text(HUBCONF)
    repo = str(tmp_path / "repo")
    for hub in (ember.hub, torch.hub):
        assert hub.load(repo, "double", 21, source="local") == 42
        assert hub.load(repo, "double", 2, factor=5, source="local") == 10
    errors = []
    for hub in (ember.hub, torch.hub):
        with pytest.raises(RuntimeError) as info:
            hub.load(repo, "nope", source="local")
        errors.append(str(info.value))
    assert errors[0] == errors[1]
    for hub in (ember.hub, torch.hub):
        with pytest.raises(ValueError):
            hub.load(repo, "double", source="ftp")


def test_missing_dependency_raises(tmp_path):
    (tmp_path / "hubconf.py").write_text('dependencies = ["no_such_package_xyz"]\n'
                                         'def f():\n    return 1\n')
    for hub in (ember.hub, torch.hub):
        with pytest.raises(RuntimeError, match="no_such_package_xyz"):
            hub.load(str(tmp_path), "f", source="local")


def test_github_repo_from_the_cached_checkout(torch_home):
    checkout = torch_home / "hub" / "someone_models_main"
    checkout.mkdir(parents=True)
    (checkout / "hubconf.py").write_text(HUBCONF)
    assert ember.hub.load("someone/models", "double", 4, verbose=False) == 8
    assert ember.hub.list("someone/models", verbose=False) == ["double"]
    assert ember.hub.help("someone/models", "double") == "Multiply x by factor."
    with pytest.raises(ValueError, match="repo_owner/repo_name"):
        ember.hub.load("not-a-repo", "double")


def test_pytorch_vision_served_by_ember_vision():
    model = ember.hub.load("pytorch/vision:v0.10.0", "resnet18", weights=None)
    reference = ember.vision.models.resnet18()
    assert [(k, v.shape) for k, v in model.state_dict().items()] == \
        [(k, v.shape) for k, v in reference.state_dict().items()]
    assert "resnet18" in ember.hub.list("pytorch/vision")
    listed = ember.hub.list("pytorch/vision")   # hubconf.py's: segmentation, no detectors
    assert "fcn_resnet50" in listed and "fasterrcnn_resnet50_fpn" not in listed
