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
  text_embedder.onnx           small BERT-like sentence embedder (vocab 256,
                               hidden 32, 2 layers, 2 heads, 64 positions,
                               2 token types), exported as Hugging Face models
                               are: inputs input_ids, attention_mask,
                               token_type_ids (int64 [batch, sequence]),
                               outputs sentence_embedding [batch, 32] (masked
                               mean pooling, L2-normalized, as
                               sentence-transformers) and last_hidden_state
                               [batch, sequence, 32]. Attention adds
                               (1 - mask) * float32-min to its scores, so pads
                               get no weight: a text's embedding is the same
                               alone and right-padded in any batch (up to
                               float rounding, about 6e-8). Positions are
                               absolute (0..sequence-1), as in BERT, so *left*
                               padding moves the real tokens to other
                               positions and changes the embedding: it is a
                               right-padding model, like BERT's tokenizer.
  text_embedder_quantized.onnx the same model after the graph surgery that
                               onnxruntime's quantize_dynamic makes (done here
                               with python3-onnx only; onnxruntime's Python
                               package is not on Debian): every MatMul with a
                               weight becomes DynamicQuantizeLinear on the
                               activation (uint8), an int8 per-tensor weight,
                               MatMulInteger, Cast and a Mul by the two
                               scales. DynamicQuantizeLinear takes one scale
                               over the whole tensor, batch and pad positions
                               included, so every embedding depends on its
                               batch-mates and its pads (about 1e-3), by design.

It also writes the transformers.js example's two local model folders,
examples/transformers-js/models/tiny-bert/ and tiny-bert-unmasked/: config.json,
a hand-written WordPiece tokenizer.json (vocab 140), tokenizer_config.json and
onnx/model.onnx, a BERT-like encoder (hidden 32, 2 layers, 2 heads) with inputs
input_ids, attention_mask, token_type_ids and output last_hidden_state
[batch, sequence, 32] (the pipeline pools). The unmasked variant has the same
weights but its attention ignores the mask, so pads leak into every text.
tiny-bert also gets onnx/model_quantized.onnx (what transformers.js loads for
dtype 'q8'): quantize_dynamic_matmuls' rewrite of its MatMuls.

The image and transformer models: input named ``input`` with a dynamic first
(batch) axis, one output with a dynamic first axis. All models: opset 14.
"""

import copy
import hashlib
import json
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


# --------------------------------------------------------------------------
# (d)/(e) small BERT-like sentence embedder, and its dynamically quantized copy
# --------------------------------------------------------------------------
TEXT_SEED = 4321
TEXT_VOCAB = 256
TEXT_HIDDEN = 32
TEXT_LAYERS = 2
TEXT_HEADS = 2
TEXT_FFN = 64
TEXT_MAX_POSITIONS = 64
TEXT_TYPES = 2


class BertSelfAttention(nn.Module):
    """Multi-head self-attention; `mask_add` is the additive mask [batch, 1, 1, seq]."""

    def __init__(self, hidden, heads):
        super().__init__()
        self.heads = heads
        self.head_dim = hidden // heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.dense = nn.Linear(hidden, hidden)

    def split(self, x):                        # [b, s, h] -> [b, heads, s, head_dim]
        return x.view(x.size(0), x.size(1), self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x, mask_add):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / (self.head_dim ** 0.5)
        probs = torch.softmax(scores + mask_add, dim=-1)
        ctx = torch.matmul(probs, v).transpose(1, 2)
        ctx = ctx.reshape(x.size(0), x.size(1), self.heads * self.head_dim)
        return self.dense(ctx)


class BertLayer(nn.Module):
    """Post-LayerNorm encoder layer as in BERT: attention, then a GELU feed-forward."""

    def __init__(self, hidden, heads, ffn):
        super().__init__()
        self.attention = BertSelfAttention(hidden, heads)
        self.attention_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.intermediate = nn.Linear(hidden, ffn)
        self.output = nn.Linear(ffn, hidden)
        self.output_norm = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x, mask_add):
        x = self.attention_norm(x + self.attention(x, mask_add))
        return self.output_norm(x + self.output(F.gelu(self.intermediate(x))))


class SentenceEmbedder(nn.Module):
    """BERT-like encoder + sentence-transformers pooling (masked mean, then L2 norm)."""

    def __init__(self):
        super().__init__()
        self.word_embeddings = nn.Embedding(TEXT_VOCAB, TEXT_HIDDEN, padding_idx=0)
        self.position_embeddings = nn.Embedding(TEXT_MAX_POSITIONS, TEXT_HIDDEN)
        self.token_type_embeddings = nn.Embedding(TEXT_TYPES, TEXT_HIDDEN)
        self.embeddings_norm = nn.LayerNorm(TEXT_HIDDEN, eps=1e-12)
        self.layers = nn.ModuleList(
            [BertLayer(TEXT_HIDDEN, TEXT_HEADS, TEXT_FFN) for _ in range(TEXT_LAYERS)])
        # As in Hugging Face BERT: positions are a slice of a stored 0..max-1 row.
        self.register_buffer("position_ids",
                             torch.arange(TEXT_MAX_POSITIONS).unsqueeze(0), persistent=False)

    def forward(self, input_ids, attention_mask, token_type_ids):
        positions = self.position_ids[:, :input_ids.size(1)]
        x = (self.word_embeddings(input_ids) + self.position_embeddings(positions)
             + self.token_type_embeddings(token_type_ids))
        x = self.embeddings_norm(x)
        # Hugging Face's extended attention mask: 0 on real tokens, the float32 minimum on
        # pads, added to the attention scores so pads get no weight.
        mask = attention_mask.to(x.dtype)
        mask_add = (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, mask_add)
        m = mask.unsqueeze(-1)
        pooled = (x * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)
        return F.normalize(pooled, p=2.0, dim=1), x


def build_text_embedder():
    # Its own seed, set after the other models are exported, so adding it changed none of them.
    torch.manual_seed(TEXT_SEED)
    model = SentenceEmbedder()
    # Untrained, but not near-identity: random LayerNorm affines.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    model.eval()
    return model


def text_dummy():
    """A batch of 2 padded texts (lengths 8 and 5) to trace with."""
    g = torch.Generator().manual_seed(TEXT_SEED)
    ids = torch.randint(1, TEXT_VOCAB, (2, 8), generator=g)
    mask = torch.ones(2, 8, dtype=torch.int64)
    mask[1, 5:] = 0
    ids = ids * mask
    types = torch.zeros(2, 8, dtype=torch.int64)
    return ids, mask, types


def export_text_embedder(model, path):
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["sentence_embedding"] = {0: "batch"}
    axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
    with torch.no_grad():
        torch.onnx.export(
            model,
            text_dummy(),
            path,
            export_params=True,
            opset_version=OPSET,
            training=torch.onnx.TrainingMode.EVAL,
            input_names=names,
            output_names=["sentence_embedding", "last_hidden_state"],
            dynamic_axes=axes,
        )
    # The exporter names the embedding width symbolically ('Div..._dim_1'); it is fixed.
    m = onnx.load(path)
    for out in m.graph.output:
        dims = out.type.tensor_type.shape.dim
        last = dims[len(dims) - 1]
        if last.dim_param:
            last.Clear()
            last.dim_value = TEXT_HIDDEN
    onnx.save(m, path)


def quantize_dynamic_matmuls(src, dst):
    """Rewrite every MatMul with a float weight initializer as onnxruntime's quantize_dynamic
    does (weight_type int8, per tensor, symmetric), with python3-onnx only:

        DynamicQuantizeLinear(x) -> x_q (uint8), x_scale, x_zero_point
        MatMulInteger(x_q, W_quantized (int8), x_zero_point, W_zero_point (0)) -> int32
        Cast(to float) -> Mul(., x_scale * W_scale)        (the bias Add stays as it is)

    DynamicQuantizeLinear picks one scale and zero point from the min and max of the whole
    activation tensor, every sample and pad position of the batch included.
    """
    import numpy as np
    from onnx import helper, numpy_helper, TensorProto

    m = onnx.load(src)
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    new_nodes, new_inits, done = [], [], 0
    for node in g.node:
        w = inits.get(node.input[1]) if node.op_type == "MatMul" else None
        if w is None or w.data_type != TensorProto.FLOAT:
            new_nodes.append(node)
            continue
        x, wname, y = node.input[0], node.input[1], node.output[0]
        base = node.name or ("MatMul_%d" % done)
        wf = numpy_helper.to_array(w).astype(np.float32)
        absmax = float(np.abs(wf).max())
        scale = np.float32(absmax / 127.0 if absmax > 0 else 1.0)
        wq = np.clip(np.rint(wf / scale), -127, 127).astype(np.int8)
        new_inits += [
            numpy_helper.from_array(wq, wname + "_quantized"),
            numpy_helper.from_array(np.array(scale, dtype=np.float32), wname + "_scale"),
            numpy_helper.from_array(np.array(0, dtype=np.int8), wname + "_zero_point"),
        ]
        xq, xs, xz = x + "_quantized", x + "_scale", x + "_zero_point"
        if not any(xq in n.output for n in new_nodes):
            # One DynamicQuantizeLinear per activation, shared by the MatMuls that read it
            # (query, key and value read the same hidden state), as quantize_dynamic does.
            new_nodes.append(helper.make_node("DynamicQuantizeLinear", [x], [xq, xs, xz],
                                              name=x + "_QuantizeLinear"))
        mm = y + "_output_quantized"
        new_nodes += [
            helper.make_node("MatMulInteger", [xq, wname + "_quantized", xz, wname + "_zero_point"],
                             [mm], name=base + "_quant"),
            helper.make_node("Cast", [mm], [mm + "_cast_output"], to=TensorProto.FLOAT,
                             name=base + "_quant_output_quantized_cast"),
            helper.make_node("Mul", [xs, wname + "_scale"], [y + "_scales_mul"],
                             name=base + "_quant_scales_mul"),
            helper.make_node("Mul", [mm + "_cast_output", y + "_scales_mul"], [y],
                             name=base + "_quant_output_scale_mul"),
        ]
        done += 1
    if done == 0:
        raise RuntimeError("%s: no MatMul with a float weight to quantize" % src)
    used = {i for n in new_nodes for i in n.input}
    kept = [i for i in g.initializer if i.name in used]
    del g.node[:]
    g.node.extend(new_nodes)
    del g.initializer[:]
    g.initializer.extend(kept + new_inits)
    m.producer_name = "batchproof export_models.py (quantize_dynamic-style graph surgery)"
    onnx.save(m, dst)
    print("  quantized %d MatMuls" % done)


def export_text_models(paths):
    text = build_text_embedder()
    p = os.path.join(OUT_DIR, "text_embedder.onnx")
    print("exporting %s" % p)
    export_text_embedder(text, p)
    check(p)
    paths.append(p)

    q = os.path.join(OUT_DIR, "text_embedder_quantized.onnx")
    print("quantizing %s" % q)
    quantize_dynamic_matmuls(p, q)
    check(q)
    paths.append(q)


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

    # (d)/(e) text embedder and its dynamically quantized copy.
    export_text_models(paths)

    # (f)/(g) the transformers.js example's tiny BERT folders.
    export_transformers_js_models(paths)

    print()
    print("torch %s, onnx %s" % (torch.__version__, onnx.__version__))
    for p in paths:
        print("sha256 %s  %s" % (sha256(p), os.path.relpath(p, os.path.dirname(HERE))))



# --------------------------------------------------------------------------
# (f)/(g) tiny BERT folders for the transformers.js example
# --------------------------------------------------------------------------
# examples/transformers-js/models/<name>/ as transformers.js loads a local model: config.json,
# tokenizer.json (a hand-written WordPiece vocabulary), tokenizer_config.json and
# onnx/model.onnx with Hugging Face's inputs (input_ids, attention_mask, token_type_ids, int64
# [batch, sequence]) and output last_hidden_state [batch, sequence, 32]; the pipeline pools.
#   tiny-bert           attention adds (1 - mask) * float32-min: pads get no weight.
#   tiny-bert-unmasked  the same weights, but attention ignores the mask (the input is still
#                       declared and read): every token attends to the pads, so a text's
#                       embedding depends on how far its batch-mates make the pipeline pad it.
JS_SEED = 2468
JS_DIR = os.path.join(HERE, "transformers-js", "models")
JS_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
JS_WORDS = (
    "the a an and or of to in on with for is are be not into over other about from by it "
    "this that what how when all no hello world quick brown fox jump over lazy dog batch "
    "invariance matter pad token mask must leak sentence embed model small text search rank "
    "cluster attention hide split word piece un same alone answer size run rerun"
).split()
JS_PIECES = "##s ##ing ##ding ##ed ##izer ##believ ##able ##er ##ly ##es".split()


def js_vocab():
    """[PAD]=0 and the other specials, punctuation, letters and ##letters (so any word of
    a-z splits into known pieces, as in BERT), then whole words and ##subwords. Digits and
    other characters are left out: they become [UNK]."""
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    tokens = JS_SPECIAL + list(".,!?'-:;()") + letters + ["##" + c for c in letters]
    for t in JS_WORDS + JS_PIECES:
        if t not in tokens:
            tokens.append(t)
    return tokens


def js_tokenizer_json(vocab):
    special = {t: {"id": t, "ids": [vocab.index(t)], "tokens": [t]} for t in ("[CLS]", "[SEP]")}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for i, t in enumerate(vocab) if t in JS_SPECIAL
        ],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": special,
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100,
                  "vocab": {t: i for i, t in enumerate(vocab)}},
    }


def js_config(vocab):
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": len(vocab),
        "hidden_size": TEXT_HIDDEN,
        "num_hidden_layers": TEXT_LAYERS,
        "num_attention_heads": TEXT_HEADS,
        "intermediate_size": TEXT_FFN,
        "hidden_act": "gelu",
        "max_position_embeddings": TEXT_MAX_POSITIONS,
        "type_vocab_size": TEXT_TYPES,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
    }


def js_tokenizer_config():
    return {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": True,
        "model_max_length": TEXT_MAX_POSITIONS,
        "padding_side": "right",
        "pad_token": "[PAD]",
        "unk_token": "[UNK]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "mask_token": "[MASK]",
        "clean_up_tokenization_spaces": True,
    }


class TinyBert(nn.Module):
    """The text embedder's encoder without its pooling: outputs last_hidden_state only."""

    def __init__(self, vocab_size):
        super().__init__()
        self.honour_mask = True
        self.word_embeddings = nn.Embedding(vocab_size, TEXT_HIDDEN, padding_idx=0)
        self.position_embeddings = nn.Embedding(TEXT_MAX_POSITIONS, TEXT_HIDDEN)
        self.token_type_embeddings = nn.Embedding(TEXT_TYPES, TEXT_HIDDEN)
        self.embeddings_norm = nn.LayerNorm(TEXT_HIDDEN, eps=1e-12)
        self.layers = nn.ModuleList(
            [BertLayer(TEXT_HIDDEN, TEXT_HEADS, TEXT_FFN) for _ in range(TEXT_LAYERS)])
        self.register_buffer("position_ids",
                             torch.arange(TEXT_MAX_POSITIONS).unsqueeze(0), persistent=False)

    def forward(self, input_ids, attention_mask, token_type_ids):
        positions = self.position_ids[:, :input_ids.size(1)]
        x = (self.word_embeddings(input_ids) + self.position_embeddings(positions)
             + self.token_type_embeddings(token_type_ids))
        x = self.embeddings_norm(x)
        mask = attention_mask.to(x.dtype)[:, None, None, :]
        if self.honour_mask:
            mask_add = (1.0 - mask) * torch.finfo(torch.float32).min
        else:
            # Reads the mask (so the exporter keeps the input) and adds nothing: the bug of
            # an attention that forgot its mask.
            mask_add = mask * 0.0
        for layer in self.layers:
            x = layer(x, mask_add)
        return x


def export_tiny_bert(model, vocab, path):
    g = torch.Generator().manual_seed(JS_SEED)
    ids = torch.randint(len(JS_SPECIAL), len(vocab), (2, 8), generator=g)
    mask = torch.ones(2, 8, dtype=torch.int64)
    mask[1, 5:] = 0
    dummy = (ids * mask, mask, torch.zeros(2, 8, dtype=torch.int64))
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "sequence"} for n in names + ["last_hidden_state"]}
    with torch.no_grad():
        torch.onnx.export(model, dummy, path, export_params=True, opset_version=OPSET,
                          training=torch.onnx.TrainingMode.EVAL, input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes=axes)
    m = onnx.load(path)
    if [i.name for i in m.graph.input] != names:
        raise RuntimeError("%s: inputs %s, expected %s" % (path, [i.name for i in m.graph.input], names))
    onnx.save(m, path)


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2, ensure_ascii=False)
        f.write("\n")


def export_transformers_js_models(paths):
    vocab = js_vocab()
    # Its own seed, set after every other model is exported, so adding it changed none of them.
    torch.manual_seed(JS_SEED)
    model = TinyBert(len(vocab))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    model.eval()
    for name, honour in (("tiny-bert", True), ("tiny-bert-unmasked", False)):
        folder = os.path.join(JS_DIR, name)
        os.makedirs(os.path.join(folder, "onnx"), exist_ok=True)
        write_json(os.path.join(folder, "config.json"), js_config(vocab))
        write_json(os.path.join(folder, "tokenizer.json"), js_tokenizer_json(vocab))
        write_json(os.path.join(folder, "tokenizer_config.json"), js_tokenizer_config())
        model.honour_mask = honour
        p = os.path.join(folder, "onnx", "model.onnx")
        print("exporting %s (vocab %d)" % (p, len(vocab)))
        export_tiny_bert(model, vocab, p)
        check(p)
        paths.append(p)
        if honour:
            # dtype 'q8' loads onnx/model_quantized.onnx: transformers.js' 8-bit models.
            q = os.path.join(folder, "onnx", "model_quantized.onnx")
            print("quantizing %s" % q)
            quantize_dynamic_matmuls(p, q)
            check(q)
            paths.append(q)


if __name__ == "__main__":
    sys.exit(main())
