"""The first quantized tensor puts fronts on public functions (ember/_ops/quantized_ops.py);
every public function must still pickle by reference afterwards, and every alias of a
fronted function (ember.native_channel_shuffle, ember.special.expit) must be the same
object. Run in a fresh process: whether another test made a quantized tensor earlier
must not matter."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_PROGRAM = """
import pickle, warnings
warnings.simplefilter("ignore")
import ember
from tests.nn.test_common_nn_regressions import _public_functions
ember.quantize_per_tensor(ember.rand(4), 0.1, 0, ember.quint8)
bad = []
for space, name in _public_functions():
    fn = vars(space)[name]
    try:
        if pickle.loads(pickle.dumps(fn)) is not fn:
            bad.append(name)
    except Exception as e:
        bad.append(f"{space.__name__}.{name}: {type(e).__name__}")
assert ember.native_channel_shuffle is ember.channel_shuffle
assert ember.special.expit is ember.sigmoid
print(bad)
"""


def test_public_functions_pickle_after_the_first_quantized_tensor():
    out = subprocess.run([sys.executable, "-c", _PROGRAM], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout
