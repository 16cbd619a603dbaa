"""ember.jit.load of torch-scripted code calling ATen ops across torch's namespaces
(math, reductions, linear algebra, fft, special functions, shape and indexing ops,
factories, nn.functional's losses, pools, norms and attention): each op's one-line module
is scripted and saved by torch, loaded by ember, and gives torch's output."""
import importlib.util
import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402

# name -> the forward's return expression of x, a (3, 3) float tensor
EXPRESSIONS = {
    'atan2': 'torch.atan2(x, x + 1)',
    'hypot': 'torch.hypot(x, x)',
    'logaddexp': 'torch.logaddexp(x, x)',
    'clamp_t': 'torch.clamp(x, min=torch.zeros_like(x))',
    'maximum': 'torch.maximum(x, -x)',
    'sort_desc': 'torch.sort(x, dim=1, descending=True)[0]',
    'argsort': 'torch.argsort(x, dim=1).float()',
    'cummax': 'torch.cummax(x, 1)[0]',
    'logcumsumexp': 'torch.logcumsumexp(x, 1)',
    'std_corr': 'torch.std(x, dim=1, correction=0)',
    'var_mean': 'torch.var_mean(x, 1)[0]',
    'aminmax': 'torch.aminmax(x).min',
    'nanmean': 'torch.nanmean(x)',
    'count_nonzero': 'torch.count_nonzero(x > 0).float()',
    'where_scalar': 'torch.where(x > 0, 1.0, 0.0)',
    'masked_fill_t': 'x.masked_fill(x > 0, torch.tensor(2.0))',
    'index_put': 'x.index_put([torch.tensor([0])], torch.tensor(5.0))',
    'diag_embed': 'torch.diag_embed(x)',
    'tril_idx': 'torch.tril_indices(3, 3).float()',
    'cdist': 'torch.cdist(x, x)',
    'baddbmm': 'torch.baddbmm(x.unsqueeze(0), x.unsqueeze(0), x.t().unsqueeze(0))',
    'kron': 'torch.kron(x, x)',
    'rot90': 'torch.rot90(x)',
    'unique': 'torch.unique(torch.tensor([3, 1, 3])).float()',
    'bucketize': 'torch.bucketize(x, torch.tensor([-1.0, 0.0, 1.0])).float()',
    'histc': 'torch.histc(x, 4)',
    'searchsorted': 'torch.searchsorted(torch.tensor([-1.0, 0.0, 1.0]), x).float()',
    'heaviside': 'torch.heaviside(x, torch.tensor(0.5))',
    'logit': 'torch.logit(torch.sigmoid(x))',
    'xlogy': 'torch.xlogy(x.abs(), x.abs() + 1)',
    'sinc': 'torch.sinc(x)',
    'deg2rad': 'torch.deg2rad(x)',
    'frac': 'torch.frac(x)',
    'trunc': 'torch.trunc(x)',
    'signbit': 'torch.signbit(x).float()',
    'copysign': 'torch.copysign(x, -x)',
    'nextafter': 'torch.nextafter(x, x + 1) - x',
    'float_power': 'torch.float_power(x.abs(), 2).float()',
    'fmax': 'torch.fmax(x, -x)',
    'isclose': 'torch.isclose(x, x).float()',
    'allclose': 'float(torch.allclose(x, x)) + x',
    'matrix_exp': 'torch.matrix_exp(x * 0.1)',
    'det': 'torch.det(x).unsqueeze(0)',
    'inverse': 'torch.inverse(x + 3 * torch.eye(3))',
    'pinverse': 'torch.pinverse(x)',
    'slogdet': 'torch.slogdet(x)[1].unsqueeze(0)',
    'trace': 'torch.trace(x).unsqueeze(0)',
    'linalg_solve': 'torch.linalg.solve(x + 3 * torch.eye(3), x)',
    'linalg_qr': 'torch.linalg.qr(x)[1].abs()',
    'linalg_svdvals': 'torch.linalg.svdvals(x)',
    'linalg_cholesky': 'torch.linalg.cholesky(x @ x.t() + torch.eye(3))',
    'linalg_eigvalsh': 'torch.linalg.eigvalsh(x + x.t())',
    'cross': 'torch.linalg.cross(x, x.flip(0))',
    'fft_rfft': 'torch.fft.rfft(x).abs()',
    'fft_fft': 'torch.fft.fft(x).real',
    'special_expit': 'torch.special.expit(x)',
    'special_erfc': 'torch.special.erfc(x)',
    'special_logsumexp': 'torch.special.logsumexp(x, 1)',
    'special_i0': 'torch.special.i0(x)',
    'nn_pdist': 'torch.pdist(x)',
    'glu': 'torch.nn.functional.glu(x.repeat(1, 2))',
    'unfold_t': 'x.unfold(1, 2, 1).sum(-1)',
    'stride_ops': 'x.t().contiguous().view(-1)[:3]',
    'narrow_copy': 'torch.narrow_copy(x, 1, 0, 2)',
    'split_sizes': 'torch.split(x, [1, 2], 1)[1]',
    'tensor_split': 'torch.tensor_split(x, 3, dim=1)[0]',
    'hsplit': 'torch.hsplit(x, 3)[0]',
    'vstack': 'torch.vstack([x, x])',
    'hstack': 'torch.hstack([x, x])',
    'dstack': 'torch.dstack([x, x]).sum(-1)',
    'column_stack': 'torch.column_stack([x, x])',
    'atleast_2d': 'torch.atleast_2d(x)',
    'flatten_range': 'torch.flatten(x.unsqueeze(0), 0, 1)',
    'squeeze_dims': 'x.unsqueeze(0).unsqueeze(0).squeeze([0, 1])',
    'movedim': 'torch.movedim(x, 0, 1)',
    'swapaxes': 'torch.swapaxes(x, 0, 1)',
    'swapdims': 'x.swapdims(0, 1)',
    'permute_list': 'x.permute([1, 0])',
    'expand_list': 'x[:1].expand([3, 3])',
    'new_empty': 'x.new_empty([3, 3]).fill_(1.0)',
    'new_full': 'x.new_full([3, 3], 2.0)',
    'empty_strided': 'torch.empty_strided([3, 3], [3, 1]).fill_(0.0) + x',
    'full_dtype': 'torch.full([3, 3], 2, dtype=torch.float32)',
    'arange_step': 'torch.arange(0.0, 3.0, 1.0) + x',
    'randperm_shape': 'torch.randperm(3).float().sum() * 0 + x',
    'bernoulli_shape': 'torch.bernoulli(torch.zeros(3, 3)) + x',
    'normal_shape': 'torch.normal(0.0, 1.0, [3, 3]) * 0 + x',
    'multinomial': 'torch.multinomial(torch.ones(3), 3).float().sum() * 0 + x',
    'clone_fmt': 'x.clone(memory_format=torch.contiguous_format)',
    'to_dev_dtype': "x.to('cpu', torch.float64).float()",
    'type_as': 'x.int().type_as(x)',
    'bool_ops': '(x > 0).logical_xor(x < 1).float()',
    'bitwise': '((x > 0).int() ^ 1).float()',
    'shift': '((x > 0).int() << 2).float()',
    'floor_divide_t': 'torch.floor_divide(x, 0.3)',
    'true_divide': 'torch.true_divide(x, 2)',
    'div_mode': "torch.div(x, 0.3, rounding_mode='trunc')",
    'remainder_t': 'torch.remainder(x, torch.full_like(x, 0.3))',
    'fmod_t': 'torch.fmod(x, 0.3)',
    'clip': 'torch.clip(x, -0.5, 0.5)',
    'clamp_min_t': 'x.clamp_min(0.0)',
    'nan_to_num_': 'x.clone().nan_to_num_(0.0)',
    'addmv': 'torch.addmv(x[0], x, x[1])',
    'addr': 'torch.addr(x, x[0], x[1])',
    'chain_matmul': 'torch.linalg.multi_dot([x, x, x])',
    'einsum_ell': "torch.einsum('...ij->...ji', x)",
    'tensordot': 'torch.tensordot(x, x, dims=([1], [0]))',
    'index_add': 'x.index_add(0, torch.tensor([0, 2]), x[:2])',
    'index_copy': 'x.index_copy(0, torch.tensor([0, 2]), x[:2])',
    'scatter_reduce': "x.scatter_reduce(1, torch.tensor([[0, 0, 1]] * 3), x, reduce='sum')",
    'masked_scatter': 'x.masked_scatter(x > 0, torch.zeros(9))',
    'take': 'torch.take(x, torch.tensor([0, 4]))',
    'take_along_dim': 'torch.take_along_dim(x, torch.tensor([[0], [1], [2]]), 1)',
    'gather_sparse': 'torch.gather(x, 1, torch.tensor([[0], [1], [2]]), sparse_grad=False)',
    'roll_multi': 'torch.roll(x, [1, 1], [0, 1])',
    'flipud': 'torch.flipud(x)',
    'fliplr': 'torch.fliplr(x)',
    'repeat_interleave_t': 'torch.repeat_interleave(x, torch.tensor([1, 2, 1]), dim=0)',
    'cumsum_dtype': 'torch.cumsum(x, 0, dtype=torch.float64).float()',
    'prod_dim': 'torch.prod(x, 1, keepdim=True)',
    'sum_dtype': 'torch.sum(x, dtype=torch.float64).float()',
    'mean_dims': 'torch.mean(x, [0, 1], True)',
    'max_other': 'torch.max(x, -x)',
    'min_all': 'torch.min(x)',
    'norm_p': 'torch.norm(x, p=1)',
    'frobenius': 'torch.norm(x)',
    'dist': 'torch.dist(x, -x)',
    'renorm': 'torch.renorm(x, 2, 0, 1.0)',
    'std_unbiased': 'torch.std(x, unbiased=False)',
    'median_dim': 'torch.median(x, 1)[0]',
    'mode_dim': 'torch.mode(x, 1)[0]',
    'kthvalue': 'torch.kthvalue(x, 2, 1)[0]',
    'topk_small': 'torch.topk(x, 2, largest=False)[0]',
    'msort': 'torch.msort(x)',
    'argwhere': 'torch.argwhere(x > 0).float()',
    'all_dim': 'torch.all(x > -5, 1).float()',
    'any_dim': 'torch.any(x > 0, dim=1).float()',
    'complex_abs': 'torch.view_as_real(torch.complex(x, x)).sum(-1)',
    'polar': 'torch.polar(x.abs(), x).real',
    'angle': 'torch.angle(x)',
    'conj': 'torch.conj(x)',
    'sgn': 'torch.sgn(x)',
    'positive': 'torch.positive(x)',
    'rsub': 'torch.rsub(x, 1.0)',
    'square_': 'x.clone().square_()',
    'pow_t': 'torch.pow(x.abs(), x)',
    'exp_': 'x.clone().exp_()',
    'sigmoid_': 'x.clone().sigmoid_()',
    'lerp_t': 'torch.lerp(x, -x, torch.full_like(x, 0.3))',
    'addcdiv': 'torch.addcdiv(x, x, x.abs() + 1, value=0.5)',
    'mvlgamma': 'torch.mvlgamma(x.abs() + 2, 2)',
    'polygamma': 'torch.polygamma(1, x.abs() + 1)',
    'igamma': 'torch.igamma(x.abs() + 1, x.abs() + 1)',
    'erfc': 'torch.erfc(x)',
    'logdet': 'torch.logdet(x @ x.t() + torch.eye(3))',
    'cholesky_solve': 'torch.cholesky_solve(x, torch.linalg.cholesky(x @ x.t() + torch.eye(3)))',
    'triangular_solve': 'torch.linalg.solve_triangular(torch.eye(3) + x.tril(), x, upper=False)',
    'lu': 'torch.linalg.lu_factor(x + 3 * torch.eye(3))[0]',
    'matrix_power': 'torch.linalg.matrix_power(x, 2)',
    'matrix_rank': 'torch.linalg.matrix_rank(x).float().unsqueeze(0)',
    'vander': 'torch.vander(x[0])',
    'cov': 'torch.cov(x)',
    'corrcoef': 'torch.corrcoef(x)',
    'histogram_shape': 'torch.bincount(torch.tensor([0, 1, 1])).float()',
    'block_diag': 'torch.block_diag(x, x)',
    'cartesian_prod': 'torch.cartesian_prod(x[0], x[1])',
    'combinations': 'torch.combinations(x[0])',
    'meshgrid': "torch.meshgrid([x[0], x[1]], indexing='ij')[0]",
    'broadcast_tensors': 'torch.broadcast_tensors(x, x[0])[1]',
    'result_type': 'x.to(torch.result_type(x, 1.0))',
    'can_cast': 'x + float(torch.can_cast(torch.float32, torch.int32))',
    'promote_types': 'x.to(torch.promote_types(torch.float32, torch.int64))',
    'is_complex': 'x + float(x.is_complex())',
    'numel': 'x + x.numel()',
    'size_list': 'x + float(len(x.size()))',
    'stride': 'x + float(x.stride(0))',
    'element_size': 'x + float(x.element_size())',
    'storage_offset': 'x + float(x.storage_offset())',
    'is_contiguous': 'x + float(x.is_contiguous())',
    'dim_order': 'x + float(x.ndim)',
    'item': 'x + x[0, 0].item()',
    'F_pad_replicate': "torch.nn.functional.pad(x.unsqueeze(0), [1, 1], mode='replicate')",
    'F_grid_sample': ('torch.nn.functional.grid_sample(x.view(1, 1, 3, 3), torch.zeros(1, 2,'
                      ' 2, 2), align_corners=False)'),
    'F_affine_grid': ('torch.nn.functional.affine_grid(torch.eye(2, 3).unsqueeze(0), [1, 1,'
                      ' 2, 2], align_corners=False).sum(-1)'),
    'F_pixel_shuffle': 'torch.nn.functional.pixel_shuffle(x.view(1, 9, 1, 1)[:, :4], 2)',
    'F_local_response_norm': 'torch.nn.functional.local_response_norm(x.unsqueeze(0), 2)',
    'F_kl_div': ('torch.nn.functional.kl_div(x.log_softmax(1), x.softmax(1),'
                 " reduction='batchmean').unsqueeze(0)"),
    'F_triplet': 'torch.nn.functional.triplet_margin_loss(x, x + 1, x - 1).unsqueeze(0)',
    'F_margin_ranking': ('torch.nn.functional.margin_ranking_loss(x[0], x[1],'
                         ' torch.ones(3)).unsqueeze(0)'),
    'F_cosine_embedding': ('torch.nn.functional.cosine_embedding_loss(x, x + 1,'
                           ' torch.ones(3)).unsqueeze(0)'),
    'F_hinge': 'torch.nn.functional.hinge_embedding_loss(x, torch.ones(3, 3)).unsqueeze(0)',
    'F_poisson_nll': 'torch.nn.functional.poisson_nll_loss(x, x.abs()).unsqueeze(0)',
    'F_soft_margin': 'torch.nn.functional.soft_margin_loss(x, torch.ones(3, 3)).unsqueeze(0)',
    'F_multilabel_soft_margin': ('torch.nn.functional.multilabel_soft_margin_loss(x,'
                                 ' torch.ones(3, 3)).unsqueeze(0)'),
    'F_multi_margin': ('torch.nn.functional.multi_margin_loss(x, torch.tensor([0, 1,'
                       ' 2])).unsqueeze(0)'),
    'F_ctc': ('torch.nn.functional.ctc_loss(x.unsqueeze(1).log_softmax(2),'
              ' torch.tensor([[1]]), torch.tensor([3]), torch.tensor([1])).unsqueeze(0)'),
    'F_rrelu_eval': 'torch.nn.functional.rrelu(x, training=False)',
    'F_gumbel_shape': 'torch.nn.functional.gumbel_softmax(x, tau=1.0).sum(1) * 0 + 1',
    'F_softmin': 'torch.nn.functional.softmin(x, 1)',
    'F_threshold': 'torch.nn.functional.threshold(x, 0.1, 2.0)',
    'F_logsigmoid': 'torch.nn.functional.logsigmoid(x)',
    'F_hardtanh_': 'torch.nn.functional.hardtanh(x.clone(), inplace=True)',
    'F_elu_': 'torch.nn.functional.elu(x.clone(), inplace=True)',
    'F_silu_': 'torch.nn.functional.silu(x.clone(), inplace=True)',
    'F_normalize': 'torch.nn.functional.normalize(x, p=1.0, dim=0)',
    'F_embedding_bag': ('torch.nn.functional.embedding_bag(torch.tensor([0, 1, 2]), x,'
                        ' torch.tensor([0, 1]))'),
    'F_one_hot': 'torch.nn.functional.one_hot(torch.tensor([0, 2]), 3).float()',
    'F_max_pool1d_idx': ('torch.nn.functional.max_pool1d(x.unsqueeze(0), 2,'
                         ' return_indices=True)[1].float()'),
    'F_avg_pool3d': 'torch.nn.functional.avg_pool3d(x.view(1, 1, 1, 3, 3), (1, 2, 2))',
    'F_adaptive_max3d': 'torch.nn.functional.adaptive_max_pool3d(x.view(1, 1, 1, 3, 3), 1)',
    'F_lp_pool2d': 'torch.nn.functional.lp_pool2d(x.view(1, 1, 3, 3), 2.0, 2)',
    'F_fractional_shape': ('torch.nn.functional.fractional_max_pool2d(x.view(1, 1, 3, 3), 2,'
                           ' output_size=1).sum() * 0 + x'),
    'F_interp_bicubic_aa': ('torch.nn.functional.interpolate(x.view(1, 1, 3, 3), size=[2, 2],'
                            " mode='bicubic', antialias=True)"),
    'F_channel_shuffle': 'torch.nn.functional.channel_shuffle(x.view(1, 3, 3, 1)[:, :2], 2)',
    'F_dropout1d': 'torch.nn.functional.dropout1d(x.unsqueeze(0), 0.5, training=False)',
    'F_feature_alpha': 'torch.nn.functional.feature_alpha_dropout(x, 0.5, training=False)',
    'F_instance_norm': 'torch.nn.functional.instance_norm(x.unsqueeze(0))',
    'F_layer_norm_noaffine': 'torch.nn.functional.layer_norm(x, [3])',
    'F_group_norm': 'torch.nn.functional.group_norm(x.unsqueeze(0), 3)',
    'F_rms_norm': 'torch.nn.functional.rms_norm(x, [3])',
    'F_bilinear': 'torch.nn.functional.bilinear(x, x, torch.ones(2, 3, 3))',
    'F_conv_tbc': 'torch.conv_tbc(x.unsqueeze(1), torch.ones(1, 3, 2), torch.zeros(2))',
    'F_unfold': 'torch.nn.functional.unfold(x.view(1, 1, 3, 3), 2)',
    'F_fold': 'torch.nn.functional.fold(x.view(1, 1, 9)[:, :, :4].repeat(1, 4, 1), [3, 3], 2)',
    'F_sdpa_mask': ('torch.nn.functional.scaled_dot_product_attention(x.view(1, 3, 3),'
                    ' x.view(1, 3, 3), x.view(1, 3, 3), attn_mask=torch.ones(3, 3,'
                    ' dtype=torch.bool).tril())'),
    'F_mha': ('torch.nn.functional.multi_head_attention_forward(x.view(3, 1, 3), x.view(3, 1,'
              ' 3), x.view(3, 1, 3), 3, 1, torch.eye(9, 3), torch.zeros(9), None, None,'
              ' False, 0.0, torch.eye(3), torch.zeros(3), training=False,'
              ' need_weights=False)[0]'),
    'F_hardswish': 'torch.nn.functional.hardswish(x)',
    'F_prelu': 'torch.nn.functional.prelu(x, torch.tensor([0.25]))',
    'F_celu': 'torch.nn.functional.celu(x, 0.5)',
    'F_softshrink': 'torch.nn.functional.softshrink(x, 0.2)',
    'F_pairwise': 'torch.nn.functional.pairwise_distance(x, x + 1)',
    'F_cosine_sim': 'torch.nn.functional.cosine_similarity(x, x + 1)',
    'F_pdist': 'torch.nn.functional.pdist(x)'
}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """The modules, written to a file so that torch.jit.script can read their source."""
    lines = ["import torch", ""]
    for i, expr in enumerate(EXPRESSIONS.values()):
        lines += [f"class M{i}(torch.nn.Module):", "    def forward(self, x):",
                  f"        return {expr}", ""]
    path = tmp_path_factory.mktemp("jit_ops") / "jit_ops_models_js.py"
    path.write_text("\n".join(lines))
    spec = importlib.util.spec_from_file_location("jit_ops_models_js", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {name: getattr(module, f"M{i}") for i, name in enumerate(EXPRESSIONS)}


@pytest.mark.parametrize("name", list(EXPRESSIONS))
def test_scripted_op_loads_in_ember(models, name):
    scripted = torch.jit.script(models[name]())
    buf = io.BytesIO()
    torch.jit.save(scripted, buf)
    buf.seek(0)
    torch.manual_seed(0)
    x = torch.randn(3, 3)
    want = scripted(x).detach().numpy()
    got = ember.jit.load(buf)(ember.tensor(x.numpy())).detach().numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, equal_nan=True)
