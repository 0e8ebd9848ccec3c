"""The CS231n names and signatures, called the way the course's code calls them.

The table below was written by hand from the official 2026 assignments (names, parameter names,
defaults and order): code written for the course runs here once ``cs231n.`` is dropped from its
imports. Extensions may only add keyword parameters after the official ones.
"""

from __future__ import annotations

import importlib
import inspect
import pickle

import numpy as np
import pytest

_ = inspect.Parameter.empty
# module, name, [(parameter, default)] in the official order (``_``: no default).
OFFICIAL = [
    ("layers", "dropout_forward", [("x", _), ("dropout_param", _)]),
    ("layers", "dropout_backward", [("dout", _), ("cache", _)]),
    ("layers", "softmax_loss", [("x", _), ("y", _)]),
    ("layers", "svm_loss", [("x", _), ("y", _)]),
    ("layers", "spatial_groupnorm_forward", [("x", _), ("gamma", _), ("beta", _), ("G", _), ("gn_param", _)]),
    ("fast_layers", "max_pool_forward_reshape", [("x", _), ("pool_param", _)]),
    ("fast_layers", "max_pool_backward_reshape", [("dout", _), ("cache", _)]),
    ("fast_layers", "max_pool_forward_im2col", [("x", _), ("pool_param", _)]),
    ("fast_layers", "max_pool_backward_im2col", [("dout", _), ("cache", _)]),
    ("im2col", "get_im2col_indices", [("x_shape", _), ("field_height", _), ("field_width", _), ("padding", 1),
                                      ("stride", 1)]),
    ("im2col", "im2col_indices", [("x", _), ("field_height", _), ("field_width", _), ("padding", 1), ("stride", 1)]),
    ("im2col", "col2im_indices", [("cols", _), ("x_shape", _), ("field_height", 3), ("field_width", 3),
                                  ("padding", 1), ("stride", 1)]),
    ("gradient_check", "eval_numerical_gradient", [("f", _), ("x", _), ("verbose", True), ("h", 1e-5)]),
    ("gradient_check", "eval_numerical_gradient_array", [("f", _), ("x", _), ("df", _), ("h", 1e-5)]),
    ("gradient_check", "eval_numerical_gradient_blobs", [("f", _), ("inputs", _), ("output", _), ("h", 1e-5)]),
    ("gradient_check", "eval_numerical_gradient_net", [("net", _), ("inputs", _), ("output", _), ("h", 1e-5)]),
    ("gradient_check", "grad_check_sparse", [("f", _), ("x", _), ("analytic_grad", _), ("num_checks", 10),
                                             ("h", 1e-5)]),
    ("data_utils", "load_pickle", [("f", _)]),
    ("data_utils", "load_CIFAR_batch", [("filename", _)]),
    ("data_utils", "load_CIFAR10", [("ROOT", _)]),
    ("data_utils", "get_CIFAR10_data", [("num_training", 49000), ("num_validation", 1000), ("num_test", 1000),
                                        ("subtract_mean", True)]),
    ("data_utils", "load_tiny_imagenet", [("path", _), ("dtype", np.float32), ("subtract_mean", True)]),
    ("data_utils", "load_models", [("models_dir", _)]),
    ("data_utils", "load_imagenet_val", [("num", None)]),
    ("vis_utils", "visualize_grid", [("Xs", _), ("ubound", 255.0), ("padding", 1)]),
    ("vis_utils", "vis_grid", [("Xs", _)]),
    ("vis_utils", "vis_nn", [("rows", _)]),
    ("classifiers.softmax", "softmax_loss_naive", [("W", _), ("X", _), ("y", _), ("reg", _)]),
    ("classifiers.softmax", "softmax_loss_vectorized", [("W", _), ("X", _), ("y", _), ("reg", _)]),
    ("classifiers.linear_svm", "svm_loss_naive", [("W", _), ("X", _), ("y", _), ("reg", _)]),
    ("classifiers.linear_svm", "svm_loss_vectorized", [("W", _), ("X", _), ("y", _), ("reg", _)]),
    ("classifiers.linear_classifier", "LinearClassifier.train",
     [("self", _), ("X", _), ("y", _), ("learning_rate", 1e-3), ("reg", 1e-5), ("num_iters", 100),
      ("batch_size", 200), ("verbose", False)]),
    ("classifiers.linear_classifier", "LinearClassifier.predict", [("self", _), ("X", _)]),
    ("classifiers.linear_classifier", "LinearClassifier.loss", [("self", _), ("X_batch", _), ("y_batch", _),
                                                                ("reg", _)]),
    ("classifiers.k_nearest_neighbor", "KNearestNeighbor.train", [("self", _), ("X", _), ("y", _)]),
    ("classifiers.k_nearest_neighbor", "KNearestNeighbor.predict", [("self", _), ("X", _), ("k", 1),
                                                                    ("num_loops", 0)]),
    ("classifiers.k_nearest_neighbor", "KNearestNeighbor.predict_labels", [("self", _), ("dists", _), ("k", 1)]),
    ("classifiers.fc_net", "TwoLayerNet.__init__",
     [("self", _), ("input_dim", 3 * 32 * 32), ("hidden_dim", 100), ("num_classes", 10), ("weight_scale", 1e-3),
      ("reg", 0.0)]),
    ("classifiers.fc_net", "FullyConnectedNet.__init__",
     [("self", _), ("hidden_dims", _), ("input_dim", 3 * 32 * 32), ("num_classes", 10), ("dropout_keep_ratio", 1),
      ("normalization", None), ("reg", 0.0), ("weight_scale", 1e-2), ("dtype", np.float32), ("seed", None)]),
    ("classifiers.cnn", "ThreeLayerConvNet.__init__",
     [("self", _), ("input_dim", (3, 32, 32)), ("num_filters", 32), ("filter_size", 7), ("hidden_dim", 100),
      ("num_classes", 10), ("weight_scale", 1e-3), ("reg", 0.0), ("dtype", np.float32)]),
    ("solver", "Solver.check_accuracy", [("self", _), ("X", _), ("y", _), ("num_samples", None),
                                         ("batch_size", 100)]),
    ("optim", "sgd", [("w", _), ("dw", _), ("config", None)]),
    ("optim", "sgd_momentum", [("w", _), ("dw", _), ("config", None)]),
    ("optim", "rmsprop", [("w", _), ("dw", _), ("config", None)]),
    ("optim", "adam", [("w", _), ("dw", _), ("config", None)]),
    # assignment 3 (2024): the recurrent layers, the captioning model, its solver and data
    ("rnn_layers", "affine_forward", [("x", _), ("w", _), ("b", _)]),
    ("rnn_layers", "affine_backward", [("dout", _), ("cache", _)]),
    ("rnn_layers", "rnn_step_forward", [("x", _), ("prev_h", _), ("Wx", _), ("Wh", _), ("b", _)]),
    ("rnn_layers", "rnn_step_backward", [("dnext_h", _), ("cache", _)]),
    ("rnn_layers", "rnn_forward", [("x", _), ("h0", _), ("Wx", _), ("Wh", _), ("b", _)]),
    ("rnn_layers", "rnn_backward", [("dh", _), ("cache", _)]),
    ("rnn_layers", "word_embedding_forward", [("x", _), ("W", _)]),
    ("rnn_layers", "word_embedding_backward", [("dout", _), ("cache", _)]),
    ("rnn_layers", "sigmoid", [("x", _)]),
    ("rnn_layers", "lstm_step_forward", [("x", _), ("prev_h", _), ("prev_c", _), ("Wx", _), ("Wh", _), ("b", _)]),
    ("rnn_layers", "lstm_step_backward", [("dnext_h", _), ("dnext_c", _), ("cache", _)]),
    ("rnn_layers", "lstm_forward", [("x", _), ("h0", _), ("Wx", _), ("Wh", _), ("b", _)]),
    ("rnn_layers", "lstm_backward", [("dh", _), ("cache", _)]),
    ("rnn_layers", "temporal_affine_forward", [("x", _), ("w", _), ("b", _)]),
    ("rnn_layers", "temporal_affine_backward", [("dout", _), ("cache", _)]),
    ("rnn_layers", "temporal_softmax_loss", [("x", _), ("y", _), ("mask", _), ("verbose", False)]),
    ("classifiers.rnn", "CaptioningRNN.__init__",
     [("self", _), ("word_to_idx", _), ("input_dim", 512), ("wordvec_dim", 128), ("hidden_dim", 128),
      ("cell_type", "rnn"), ("dtype", np.float32)]),
    ("classifiers.rnn", "CaptioningRNN.loss", [("self", _), ("features", _), ("captions", _)]),
    ("classifiers.rnn", "CaptioningRNN.sample", [("self", _), ("features", _), ("max_length", 30)]),
    ("captioning_solver", "CaptioningSolver.__init__", [("self", _), ("model", _), ("data", _)]),
    ("captioning_solver", "CaptioningSolver.train", [("self", _)]),
    # the course's base_dir default is a folder next to its file; None searches that and the usual places
    ("coco_utils", "load_coco_data", [("base_dir", None), ("max_train", None), ("pca_features", True)]),
    ("coco_utils", "decode_captions", [("captions", _), ("idx_to_word", _)]),
    ("coco_utils", "sample_coco_minibatch", [("data", _), ("batch_size", 100), ("split", "train")]),
    ("image_utils", "image_from_url", [("url", _)]),
    ("image_utils", "load_image", [("filename", _), ("size", None)]),
    ("image_utils", "blur_image", [("X", _)]),
    ("image_utils", "preprocess_image", [("img", _)]),
    ("image_utils", "deprocess_image", [("img", _), ("rescale", False)]),
    # assignment 1 (2026): image features
    ("features", "extract_features", [("imgs", _), ("feature_fns", _), ("verbose", False)]),
    ("features", "rgb2gray", [("rgb", _)]),
    ("features", "hog_feature", [("im", _)]),
    ("features", "color_histogram_hsv", [("im", _), ("nbin", 10), ("xmin", 0), ("xmax", 255), ("normalized", True)]),
]


def _resolve(module, name):
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("module, name, params", OFFICIAL, ids=[f"{m}.{n}" for m, n, _ in OFFICIAL])
def test_official_signature_comes_first_with_its_defaults(module, name, params):
    sig = inspect.signature(_resolve(module, name))
    positional = [p for p in sig.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][:len(params)]
    assert [(p.name, p.default) for p in positional] == params
    extra = list(sig.parameters.values())[len(params):]
    # Additions come after, and never without a default (an official call never passes them).
    assert all(p.default is not p.empty or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in extra), extra


@pytest.mark.parametrize("module", ["classifiers.fc_net", "classifiers.cnn"])
def test_model_modules_star_export_every_layer_and_sandwich(module):
    namespace = {}
    exec(f"from {module} import *", namespace)
    for name in ("affine_forward", "affine_backward", "relu_forward", "softmax_loss", "dropout_forward",
                 "batchnorm_forward", "layernorm_backward", "conv_forward_naive", "max_pool_forward_naive",
                 "spatial_batchnorm_forward", "spatial_groupnorm_backward", "affine_relu_forward",
                 "conv_relu_pool_forward", "conv_bn_relu_backward", "conv_forward_fast", "max_pool_forward_fast"):
        assert callable(namespace.get(name)), f"{module} does not export {name}"
    assert "FullyConnectedNet" in namespace or "ThreeLayerConvNet" in namespace


def test_the_other_star_imports_of_the_course():
    for module, names in {"layers": ("affine_forward", "dropout_backward"),
                          "fast_layers": ("conv_forward_fast", "max_pool_forward_reshape", "max_pool_backward_im2col"),
                          "gradient_check": ("eval_numerical_gradient", "eval_numerical_gradient_blobs",
                                             "eval_numerical_gradient_net", "grad_check_sparse", "rel_error"),
                          "classifiers": ("KNearestNeighbor", "Softmax", "LinearSVM", "TwoLayerNet",
                                          "FullyConnectedNet", "ThreeLayerConvNet"),
                          "rnn_layers": ("rnn_forward", "lstm_step_backward", "sigmoid", "temporal_softmax_loss"),
                          "classifiers.rnn": ("CaptioningRNN", "word_embedding_forward", "lstm_forward")}.items():
        namespace = {}
        exec(f"from {module} import *", namespace)
        missing = [n for n in names if n not in namespace]
        assert not missing, f"from {module} import * lacks {missing}"


def test_solver_the_official_way(capsys):
    from classifiers.fc_net import FullyConnectedNet
    from solver import Solver

    np.random.seed(231)
    data = {"X_train": np.random.randn(50, 3, 2, 2), "y_train": np.random.randint(10, size=50),
            "X_val": np.random.randn(20, 3, 2, 2), "y_val": np.random.randint(10, size=20)}
    model = FullyConnectedNet([10], input_dim=12, weight_scale=5e-2)
    solver = Solver(model, data, update_rule="sgd", optim_config={"learning_rate": 1e-2}, lr_decay=0.95,
                    num_epochs=2, batch_size=25, print_every=1)
    assert solver.train() is None
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("(Iteration 1 / 4) loss: ") and out[1].startswith("(Epoch 0 / 2) train acc: ")
    assert out[-1].startswith("(Epoch 2 / 2) train acc: ") and "; val_acc: " in out[-1]
    with pytest.raises(ValueError, match='Unrecognized arguments "lr"'):
        Solver(model, data, lr=1e-3)
    with pytest.raises(ValueError, match="update rule"):
        Solver(model, data, update_rule="nope")


def test_dropout_the_official_way():
    from classifiers.fc_net import dropout_backward, dropout_forward

    np.random.seed(231)
    x = np.random.randn(500, 500) + 10
    for p in (0.25, 0.4, 0.7):
        out, _ = dropout_forward(x, {"mode": "train", "p": p})
        out_test, _ = dropout_forward(x, {"mode": "test", "p": p})
        assert abs(x.mean() - out.mean()) < 0.05 and out_test.mean() == pytest.approx(x.mean())
        assert np.mean(out == 0) == pytest.approx(1 - p, abs=0.01)
    dropout_param = {"mode": "train", "p": 0.2, "seed": 123}
    out, cache = dropout_forward(x[:10, :10], dropout_param)
    param_in_cache, mask = cache
    assert param_in_cache == dropout_param and mask.shape == (10, 10)
    np.testing.assert_array_equal(dropout_backward(np.ones((10, 10)), cache), mask)


def test_models_the_official_way():
    from classifiers.cnn import ThreeLayerConvNet
    from classifiers.fc_net import FullyConnectedNet, TwoLayerNet

    np.random.seed(231)
    N, D, H1, H2, C = 2, 15, 20, 30, 10
    X, y = np.random.randn(N, D), np.random.randint(C, size=(N,))
    for reg in (0, 3.14):
        model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, reg=reg, weight_scale=5e-2,
                                  dtype=np.float64)
        loss, grads = model.loss(X, y)
        assert sorted(grads) == sorted(model.params)
    model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, weight_scale=5e-2, dtype=np.float64,
                              dropout_keep_ratio=0.5, seed=123)
    assert model.loss(X, y)[0] == model.loss(X, y)[0]  # seeded dropout: one mask
    model = TwoLayerNet(input_dim=D, hidden_dim=50, num_classes=7, weight_scale=1e-3)
    assert abs(model.params["W1"].std() - 1e-3) < 1e-4
    cnn = ThreeLayerConvNet(input_dim=(3, 16, 16), dtype=np.float64)
    scores = cnn.loss(np.random.randn(2, 3, 16, 16))
    assert scores.shape == (2, 10)


def test_knn_and_linear_classifier_the_official_way():
    from classifiers import KNearestNeighbor, LinearSVM, Softmax

    np.random.seed(0)
    X, y = np.random.randn(40, 6), np.random.randint(3, size=40)
    knn = KNearestNeighbor()
    knn.train(X, y)
    dists = knn.compute_distances_two_loops(X[:5])
    assert dists.shape == (5, 40) and np.all(knn.predict_labels(dists, k=1) == y[:5])
    assert knn.predict(X[:5], k=1, num_loops=1).shape == (5,)
    with pytest.raises(ValueError, match="Invalid value 3 for num_loops"):
        knn.predict(X, num_loops=3)
    for cls in (LinearSVM, Softmax):
        hist = cls().train(X, y, learning_rate=1e-3, reg=2.5e4 * 1e-6, num_iters=3, verbose=False)
        assert len(hist) == 3


def test_blob_helpers_the_official_way():
    from gradient_check import eval_numerical_gradient_blobs

    class Blob:
        def __init__(self, vals, diffs):
            self.vals, self.diffs = vals, diffs

    x = Blob(np.array([1.0, 2.0]), np.zeros(2))
    out = Blob(np.zeros(2), np.ones(2))

    def square(x_blob, out_blob):
        out_blob.vals = x_blob.vals ** 2  # the course's f may rebind vals instead of writing into them

    (dx,) = eval_numerical_gradient_blobs(square, (x,), out)
    np.testing.assert_allclose(dx, [2.0, 4.0], rtol=1e-8)


def test_load_pickle_the_official_way(tmp_path):
    from data_utils import load_pickle

    with open(tmp_path / "f", "wb") as fh:
        pickle.dump({"model": [1, 2], "x": np.arange(3)}, fh)
    with open(tmp_path / "f", "rb") as fh:
        d = load_pickle(fh)
    assert d["model"] == [1, 2]
