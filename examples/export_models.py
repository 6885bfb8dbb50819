"""Export the small example ONNX models used by batchproof's examples and tests.

How to run (Debian/Ubuntu, no pip needed):

    apt-get install python3-torch python3-onnx
    /usr/bin/python3 examples/export_models.py

Tested with torch 1.13 and onnx 1.12. The script is deterministic: every run
seeds torch with a fixed seed, builds the same weights and rewrites the same
files in examples/models/ (it prints the sha256 of each file at the end so
re-runs can be compared). Exported files:

  embedding_cnn.onnx           DenseNet-style embedding CNN, BatchNorm in
                               inference mode (running statistics). Output of
                               a sample must not depend on its batch-mates.
  transformer_encoder.onnx     small nn.TransformerEncoder, mean-pooled over
                               the sequence. Batch-independent in theory; may
                               show tiny floating point drift across batch
                               sizes because kernels pick different blockings.
  embedding_cnn_train_bn.onnx  the same CNN (same weights) exported with
                               BatchNorm in *training* mode: ONNX
                               BatchNormalization runs with training_mode=1
                               and normalizes with batch statistics, so a
                               sample's output depends on its batch-mates.
                               This is the classic "forgot model.eval()" bug.

All models: input named ``input`` with a dynamic first (batch) axis, one
output with a dynamic first axis, opset 14.
"""

import copy
import hashlib
import os
import sys
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

import onnx

SEED = 1234
OPSET = 14
HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "models")


# --------------------------------------------------------------------------
# (a)/(c) DenseNet-style embedding CNN
# --------------------------------------------------------------------------
class DenseLayer(nn.Module):
    """BN -> ReLU -> 3x3 conv producing `growth` channels, concatenated."""

    def __init__(self, in_ch, growth):
        super().__init__()
        self.bn = nn.BatchNorm2d(in_ch)
        self.conv = nn.Conv2d(in_ch, growth, kernel_size=3, padding=1, bias=False)

    def forward(self, x):
        y = self.conv(F.relu(self.bn(x)))
        return torch.cat([x, y], dim=1)


class DenseBlock(nn.Sequential):
    def __init__(self, in_ch, growth, n_layers):
        layers = []
        for i in range(n_layers):
            layers.append(DenseLayer(in_ch + i * growth, growth))
        super().__init__(*layers)
        self.out_ch = in_ch + n_layers * growth


class Transition(nn.Module):
    """BN -> ReLU -> 1x1 conv -> 2x2 average pool."""

    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.bn = nn.BatchNorm2d(in_ch)
        self.conv = nn.Conv2d(in_ch, out_ch, kernel_size=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)

    def forward(self, x):
        return self.pool(self.conv(F.relu(self.bn(x))))


class EmbeddingCNN(nn.Module):
    def __init__(self, embed_dim=64, growth=12):
        super().__init__()
        self.stem = nn.Conv2d(3, 24, kernel_size=3, padding=1, bias=False)
        self.block1 = DenseBlock(24, growth, 3)          # 24 -> 60
        self.trans1 = Transition(self.block1.out_ch, 32)  # 32x32 -> 16x16
        self.block2 = DenseBlock(32, growth, 3)          # 32 -> 68
        self.trans2 = Transition(self.block2.out_ch, 48)  # 16x16 -> 8x8
        self.block3 = DenseBlock(48, growth, 2)          # 48 -> 72
        self.bn_final = nn.BatchNorm2d(self.block3.out_ch)
        self.fc = nn.Linear(self.block3.out_ch, embed_dim)

    def forward(self, x):
        x = self.stem(x)
        x = self.trans1(self.block1(x))
        x = self.trans2(self.block2(x))
        x = F.relu(self.bn_final(self.block3(x)))
        x = x.mean(dim=(2, 3))                 # global average pool -> [N, C]
        x = self.fc(x)                         # [N, embed_dim]
        norm = torch.sqrt((x * x).sum(dim=1, keepdim=True)).clamp_min(1e-12)
        return x / norm                        # L2-normalized embedding


def build_cnn():
    model = EmbeddingCNN()
    # Give BatchNorm non-trivial running statistics and affine parameters:
    # a few forward passes in train mode on shifted/scaled random data, plus
    # random gamma/beta so the layers are not near-identity.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    model.train()
    with torch.no_grad():
        for _ in range(5):
            x = torch.randn(16, 3, 32, 32) * 1.7 + 0.3
            model(x)
    model.eval()
    return model


# --------------------------------------------------------------------------
# (b) small Transformer encoder, mean-pooled over the sequence
# --------------------------------------------------------------------------
class PooledTransformer(nn.Module):
    def __init__(self, d_model=64, nhead=4, num_layers=2, dim_feedforward=128):
        super().__init__()
        layer = nn.TransformerEncoderLayer(
            d_model=d_model,
            nhead=nhead,
            dim_feedforward=dim_feedforward,
            dropout=0.0,
            batch_first=True,
        )
        # enable_nested_tensor only matters with a padding mask; keep it off.
        self.encoder = nn.TransformerEncoder(layer, num_layers=num_layers,
                                             enable_nested_tensor=False)

    def forward(self, x):                      # x: [N, seq, d_model]
        return self.encoder(x).mean(dim=1)     # [N, d_model]


def build_transformer():
    model = PooledTransformer()
    model.eval()
    return model


# --------------------------------------------------------------------------
# export helpers
# --------------------------------------------------------------------------
def export(model, dummy, path, output_name, dynamic_axes, training):
    # The exporter in torch 1.13 traces the model. With gradients enabled and
    # parameters that require grad, nn.TransformerEncoderLayer skips its fused
    # "fast path" (aten::_transformer_encoder_layer_fwd, which has no ONNX
    # symbolic), so export under enable_grad().
    with torch.enable_grad():
        torch.onnx.export(
            model,
            (dummy,),
            path,
            export_params=True,
            opset_version=OPSET,
            do_constant_folding=False,
            training=training,
            input_names=["input"],
            output_names=[output_name],
            dynamic_axes=dynamic_axes,
        )


def keep_only_output(path, output_name):
    """Drop any extra graph outputs (e.g. BN running mean/var in training mode)."""
    m = onnx.load(path)
    outs = [o for o in m.graph.output if o.name == output_name]
    if len(outs) != 1:
        raise RuntimeError("output %r not found in %s" % (output_name, path))
    if len(m.graph.output) != 1:
        dropped = [o.name for o in m.graph.output if o.name != output_name]
        print("  stripping extra graph outputs: %s" % ", ".join(dropped))
        del m.graph.output[:]
        m.graph.output.extend(outs)
        onnx.save(m, path)


def restore_initializers(path, module):
    """Overwrite initializers with the module's original parameters/buffers.

    Tracing in training mode runs forward passes that update BatchNorm
    running_mean/running_var of the traced module, and the exporter stores
    those updated buffers. Put back the original values so the training-mode
    file carries exactly the same tensors as the eval-mode file. (With
    training_mode=1 the running stats do not affect the output anyway.)
    """
    from onnx import numpy_helper
    state = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
    m = onnx.load(path)
    replaced = 0
    for i, init in enumerate(m.graph.initializer):
        if init.name in state:
            new = numpy_helper.from_array(state[init.name], init.name)
            if new.SerializeToString() != init.SerializeToString():
                m.graph.initializer[i].CopyFrom(new)
                replaced += 1
    if replaced:
        print("  restored %d initializers to their pre-export values" % replaced)
        onnx.save(m, path)


def same_initializers(path_a, path_b):
    from onnx import numpy_helper
    a = {i.name: numpy_helper.to_array(i) for i in onnx.load(path_a).graph.initializer}
    b = {i.name: numpy_helper.to_array(i) for i in onnx.load(path_b).graph.initializer}
    if set(a) != set(b):
        return False
    return all(a[k].dtype == b[k].dtype and a[k].shape == b[k].shape
               and (a[k] == b[k]).all() for k in a)


def op_counts(model):
    counts = {}
    for n in model.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return counts


def check(path, expect_bn_training=None):
    m = onnx.load(path)
    onnx.checker.check_model(m)
    counts = op_counts(m)
    bn = [n for n in m.graph.node if n.op_type == "BatchNormalization"]
    if expect_bn_training is not None:
        if not bn:
            raise RuntimeError("%s: no BatchNormalization nodes" % path)
        for n in bn:
            tm = 0
            for a in n.attribute:
                if a.name == "training_mode":
                    tm = onnx.helper.get_attribute_value(a)
            if bool(tm) != expect_bn_training:
                raise RuntimeError("%s: BatchNormalization %s training_mode=%s"
                                   % (path, n.name, tm))
    if any(op.startswith("ATen") or op == "ATen" for op in counts):
        raise RuntimeError("%s contains ATen fallback ops: %s" % (path, counts))
    size = os.path.getsize(path)
    if size >= 2 * 1024 * 1024:
        raise RuntimeError("%s is too large (%d bytes)" % (path, size))

    def shape(vi):
        dims = []
        for d in vi.type.tensor_type.shape.dim:
            dims.append(d.dim_param if d.dim_param else d.dim_value)
        return dims

    print("  %s: %d bytes, opset %d" % (os.path.basename(path), size,
                                        m.opset_import[0].version))
    for i in m.graph.input:
        print("    input  %s %s" % (i.name, shape(i)))
    for o in m.graph.output:
        print("    output %s %s" % (o.name, shape(o)))
    print("    ops: %s" % ", ".join("%s x%d" % kv for kv in sorted(counts.items())))
    return m


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def main():
    # Training-mode export warns once per BatchNorm that it drops the
    # num_batches_tracked update; that is expected (ONNX inference only).
    warnings.filterwarnings("ignore", message="ONNX Preprocess - Removing mutation")
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)

    cnn = build_cnn()
    transformer = build_transformer()

    cnn_dummy = torch.randn(2, 3, 32, 32)
    tr_dummy = torch.randn(2, 16, 64)

    paths = []

    # (a) CNN, BatchNorm in inference mode, kept unfused.
    p = os.path.join(OUT_DIR, "embedding_cnn.onnx")
    print("exporting %s" % p)
    export(copy.deepcopy(cnn), cnn_dummy, p, "embedding",
           {"input": {0: "batch"}, "embedding": {0: "batch"}},
           torch.onnx.TrainingMode.EVAL)
    keep_only_output(p, "embedding")
    check(p, expect_bn_training=False)
    paths.append(p)

    # (b) Transformer encoder.
    p = os.path.join(OUT_DIR, "transformer_encoder.onnx")
    print("exporting %s" % p)
    export(transformer, tr_dummy, p, "output",
           {"input": {0: "batch", 1: "seq"}, "output": {0: "batch"}},
           torch.onnx.TrainingMode.EVAL)
    keep_only_output(p, "output")
    check(p)
    paths.append(p)

    # (c) Same CNN weights, BatchNorm in training mode (batch statistics).
    # Export a copy: tracing in training mode updates the running stats of the
    # module it traces, and we do not want to disturb `cnn`.
    p = os.path.join(OUT_DIR, "embedding_cnn_train_bn.onnx")
    print("exporting %s" % p)
    export(copy.deepcopy(cnn), cnn_dummy, p, "embedding",
           {"input": {0: "batch"}, "embedding": {0: "batch"}},
           torch.onnx.TrainingMode.TRAINING)
    keep_only_output(p, "embedding")
    restore_initializers(p, cnn)
    check(p, expect_bn_training=True)
    if not same_initializers(paths[0], p):
        raise RuntimeError("train-BN CNN does not carry the eval CNN's weights")
    print("    same initializers as %s" % os.path.basename(paths[0]))
    paths.append(p)

    print()
    print("torch %s, onnx %s" % (torch.__version__, onnx.__version__))
    for p in paths:
        print("sha256 %s  %s" % (sha256(p), os.path.relpath(p, os.path.dirname(HERE))))


if __name__ == "__main__":
    sys.exit(main())
