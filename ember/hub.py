"""torch.hub: the weights cache, downloads, and models published by a repository's
``hubconf.py``.

- ``load_state_dict_from_url`` reads ``<hub dir>/checkpoints/<file name of the URL>``,
  downloading it there first when missing (an interrupted download leaves no file).
- ``load``/``list``/``help`` run the entry points a ``hubconf.py`` defines: from a local
  folder (``source='local'``), or for ``source='github'`` from the checkout torch.hub keeps
  at ``<hub dir>/<owner>_<repo>_<ref>``, downloaded there when missing. A hubconf is
  Python code and runs as such, exactly as in PyTorch: load only repositories you trust.
  Its ``import torch`` gets ember only when the program runs under ``python -m ember.run``.
- ``pytorch/vision`` is served by ember.vision's model builders without downloading any
  code (its weights come from the cache as above).
"""
import hashlib
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile

__all__ = ["get_dir", "set_dir", "load_state_dict_from_url", "download_url_to_file", "load",
           "list", "help"]

ENV_TORCH_HOME = "TORCH_HOME"
ENV_XDG_CACHE_HOME = "XDG_CACHE_HOME"
DEFAULT_CACHE_DIR = "~/.cache"
MODULE_HUBCONF = "hubconf.py"
VAR_DEPENDENCY = "dependencies"
# the hash prefix in a weights file name: resnet18-f37072fd.pth
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")

_hub_dir = None


class _PlainProgress:
    """The progress bar torch.hub offers when the tqdm package is absent: a counter that
    prints percent (or bytes) to stderr on update(); like PyTorch's stand-in it cannot wrap
    an iterable (pytorch/examples' vision_transformer imports ``tqdm`` from torch.hub)."""

    def __init__(self, total=None, disable=False, unit=None, *args, **kwargs):
        self.total = total
        self.disable = disable
        self.n = 0

    def update(self, n):
        if self.disable:
            return
        self.n += n
        shown = (f"{self.n:.1f} bytes" if self.total is None
                 else f"{100 * self.n / float(self.total):.1f}%")
        sys.stderr.write("\r" + shown)
        sys.stderr.flush()

    def set_description(self, *args, **kwargs):
        pass

    def write(self, s):
        sys.stderr.write(f"{s}\n")

    def close(self):
        self.disable = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if not self.disable:
            sys.stderr.write("\n")


try:   # torch.hub.tqdm: the tqdm package's bar where it is installed
    from tqdm import tqdm
except ImportError:
    tqdm = _PlainProgress


def get_dir():
    """The hub folder: the one set_dir chose, else ``$TORCH_HOME/hub`` (``TORCH_HOME``
    defaults to ``$XDG_CACHE_HOME/torch``, that to ``~/.cache/torch``)."""
    if _hub_dir is not None:
        return _hub_dir
    torch_home = os.environ.get(ENV_TORCH_HOME) or os.path.join(
        os.environ.get(ENV_XDG_CACHE_HOME, DEFAULT_CACHE_DIR), "torch")
    return os.path.join(os.path.expanduser(torch_home), "hub")


def set_dir(d):
    """Use folder `d` as the hub folder from now on."""
    global _hub_dir
    _hub_dir = os.path.expanduser(os.fspath(d))


def download_url_to_file(url, dst, hash_prefix=None, progress=True):
    """Download `url` to the file `dst`, through a temporary file renamed into place when
    complete; with `hash_prefix`, the file's SHA-256 must begin with it."""
    dst = os.path.expanduser(os.fspath(dst))
    folder = os.path.dirname(os.path.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    sha = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=os.path.basename(dst) + ".", suffix=".partial")
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "ember.hub"})
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=30) as resp:
                for chunk in iter(lambda: resp.read(1 << 16), b""):
                    sha.update(chunk)
                    out.write(chunk)
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise RuntimeError(
                f"Could not download {url} ({err}). If this machine has no network access, "
                f"download the file elsewhere and place it at {dst}.") from None
        if hash_prefix is not None and not sha.hexdigest().startswith(hash_prefix):
            raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got '
                               f'"{sha.hexdigest()}")')
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_state_dict_from_url(url, model_dir=None, map_location=None, progress=True,
                             check_hash=False, file_name=None, weights_only=False):
    """The object saved at `url`, read from ``<hub dir>/checkpoints/<file name>``
    (downloaded there first when missing). With `check_hash`, a downloaded file's SHA-256
    must begin with the hex digits after the last '-' in its name; as in torch.hub, a file
    already in the cache is trusted (so a file may be placed there by hand). Files are read
    with ember.load, which never runs code from a file whatever `weights_only` says."""
    from .serialization import load
    model_dir = model_dir or os.path.join(get_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name or os.path.basename(urllib.parse.urlparse(url).path)
    cached_file = os.path.join(model_dir, filename)
    if not os.path.exists(cached_file):
        match = HASH_REGEX.search(filename) if check_hash else None
        download_url_to_file(url, cached_file, match.group(1) if match else None, progress)
    if zipfile.is_zipfile(cached_file) and _is_legacy_zip(cached_file):
        cached_file = _extract_legacy_zip(cached_file, model_dir)
    return load(cached_file, map_location=map_location, weights_only=weights_only)


def _is_legacy_zip(path):
    # an old-style hub file: a zip holding one checkpoint file (not PyTorch's own zip
    # checkpoint format, whose members sit under "<name>/data.pkl")
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    return len(names) == 1 and not names[0].endswith("/") and "/" not in names[0]


def _extract_legacy_zip(path, model_dir):
    with zipfile.ZipFile(path) as z:
        name = z.namelist()[0]
        z.extract(name, model_dir)
    return os.path.join(model_dir, name)


# --- hubconf entry points ------------------------------------------------------------


def _parse_repo(github):
    """'owner/repo[:ref]' -> (owner, repo, ref or None)."""
    ref = None
    if ":" in github:
        github, ref = github.split(":", 1)
    if github.count("/") != 1 or not all(github.split("/")):
        raise ValueError(f'Invalid input: repo_or_dir should be of the form "repo_owner/repo_name'
                         f'[:ref]", got {github!r}')
    owner, repo = github.split("/")
    return owner, repo, ref


class _VisionHub:
    """pytorch/vision's hubconf, served by ember.vision."""

    def __init__(self):
        from .vision import models
        self._models = models
        self.dependencies = ["torch"]

    def entrypoints(self):
        # hubconf.py's: the classification and segmentation builders (no detectors)
        models = self._models
        return sorted(models.list_models(models) + models.list_models(models.segmentation))

    def get(self, name):
        if name not in self.entrypoints():
            return None
        return self._models.get_model_builder(name)


class _ModuleHub:
    def __init__(self, module):
        self.module = module

    def entrypoints(self):
        return sorted(n for n, v in vars(self.module).items()
                      if callable(v) and not n.startswith("_"))

    def get(self, name):
        fn = getattr(self.module, name, None)
        return fn if callable(fn) else None


def _import_hubconf(folder):
    path = os.path.join(folder, MODULE_HUBCONF)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} not found")
    spec = importlib.util.spec_from_file_location("hubconf", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(folder)
    missing = [pkg for pkg in getattr(module, VAR_DEPENDENCY, None) or []
               if importlib.util.find_spec(pkg) is None]
    if missing:
        raise RuntimeError(f"Missing dependencies: {', '.join(missing)}")
    return _ModuleHub(module)


def _github_checkout(owner, repo, ref, force_reload, verbose):
    """The folder of the repository's checkout in the hub folder, downloaded when missing."""
    ref = ref or "main"
    hub_dir = get_dir()
    folder = os.path.join(hub_dir, "_".join((owner, repo, ref.replace("/", "_"))))
    if os.path.isdir(folder) and not force_reload:
        if verbose:
            sys.stderr.write(f"Using cache found in {folder}\n")
        return folder
    os.makedirs(hub_dir, exist_ok=True)
    archive = os.path.join(hub_dir, ref.replace("/", "_") + ".zip")
    download_url_to_file(f"https://github.com/{owner}/{repo}/zipball/{ref}", archive)
    extract_to = tempfile.mkdtemp(dir=hub_dir)
    try:
        with zipfile.ZipFile(archive) as z:
            base = os.path.realpath(extract_to)
            for name in z.namelist():   # refuse members that would land outside
                target = os.path.realpath(os.path.join(extract_to, name))
                if os.path.commonpath([base, target]) != base:
                    raise RuntimeError(f"Refusing to extract {name!r} from {archive}")
            z.extractall(extract_to)
        (top,) = os.listdir(extract_to)
        if os.path.exists(folder):
            shutil.rmtree(folder)
        os.replace(os.path.join(extract_to, top), folder)
    finally:
        shutil.rmtree(extract_to, ignore_errors=True)
        os.remove(archive)
    return folder


def _hub(repo_or_dir, source, force_reload, verbose):
    source = source.lower()
    if source not in ("github", "local"):
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    if source == "local":
        return _import_hubconf(os.path.expanduser(os.fspath(repo_or_dir)))
    owner, repo, ref = _parse_repo(repo_or_dir)
    if (owner, repo) == ("pytorch", "vision"):
        return _VisionHub()
    return _import_hubconf(_github_checkout(owner, repo, ref, force_reload, verbose))


def list(github, force_reload=False, skip_validation=False, trust_repo="check", verbose=True):
    """The entry points (callables) the repository's hubconf.py defines."""
    return _hub(github, "github", force_reload, verbose).entrypoints()


def help(github, model, force_reload=False, skip_validation=False, trust_repo="check"):
    """The docstring of entry point `model`."""
    return _entry(_hub(github, "github", force_reload, True), model).__doc__


def load(repo_or_dir, model, *args, source="github", trust_repo="check", force_reload=False,
         verbose=True, skip_validation=False, **kwargs):
    """Call entry point `model` of the repository's (or folder's) hubconf.py with `args`
    and `kwargs` and return what it returns (usually a model)."""
    return _entry(_hub(repo_or_dir, source, force_reload, verbose), model)(*args, **kwargs)


def _entry(hub, model):
    if not isinstance(model, str):
        raise ValueError("Invalid input: model should be a string of function name")
    fn = hub.get(model)
    if fn is None:
        raise RuntimeError(f"Cannot find callable {model} in hubconf")
    return fn
