"""The ONNX side of ``tympan export``: the torch exporter call, the graph pass and the metadata.

Runs in a process whose Keras backend is torch (:mod:`tympan.export.onnx_export` sees to that).
A Keras model on the torch backend is a ``torch.nn.Module``; it is wrapped in one whose
``forward(waveform)`` calls it with ``training=False`` (Keras's own ``forward(*args, **kwargs)``
cannot be given a dynamic batch dimension), then exported by ``torch.onnx.export(...,
dynamo=True)`` with the batch dimension dynamic.  Augmentation layers are identities at
``training=False`` and vanish from the graph.  Keras's own ``model.export(format="onnx")``
does not work here: on torch it uses the TorchScript exporter, which has no ``rfft``.
"""

from __future__ import annotations

import json

#: The ONNX opset written when none is asked for (the ``DFT`` op of the STFT layers needs 17;
#: the dynamo exporter writes 18 and up).
DEFAULT_OPSET = 20
MIN_OPSET = 18
#: Largest batch the exported graph is declared for (the dimension is symbolic: ``batch``).
MAX_BATCH = 1 << 16


def export_model(model, samples: int, *, opset: int):
    """The ``onnx.ModelProto`` of the Keras (torch backend) ``model``: input ``waveform``
    ``(batch, samples)`` float32, output ``output``, the batch dimension dynamic."""
    import torch

    class Inference(torch.nn.Module):
        """``forward(waveform) -> model(waveform, training=False)``."""

        def __init__(self, keras_model):
            super().__init__()
            self.model = keras_model

        def forward(self, waveform):
            return self.model(waveform, training=False)

    module = Inference(model).eval()
    # batch 2, not 1: an example of batch 1 may be specialised to a constant
    example = torch.zeros((2, samples), dtype=torch.float32)
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    with torch.no_grad():
        program = torch.onnx.export(module, (example,), dynamo=True, input_names=["waveform"],
                                    output_names=["output"], dynamic_shapes=({0: batch},),
                                    opset_version=opset, verbose=False)
    program.optimize()
    return program.model_proto


def dft_in_float64(proto) -> int:
    """Run every ``DFT`` node of ``proto`` in float64 (``Cast`` before and after); returns how
    many there were.

    onnxruntime's float32 DFT is far less exact than numpy's or torch's for long, non-power-of-2
    lengths: the whole-clip ``fft`` features of a 1 s clip at 8 kHz (n = 8000) came out with an
    absolute error of 5e-3 on magnitudes up to 39, and the model's output 2e-3 away from
    Keras's; in float64 the output agrees within 2e-6.  Short STFT frames are as exact either
    way.  The cost is a little time in the DFT alone.
    """
    from onnx import TensorProto, helper

    nodes, count = [], 0
    for node in proto.graph.node:
        if node.op_type != "DFT":
            nodes.append(node)
            continue
        count += 1
        src, dst = node.input[0], node.output[0]
        nodes.append(helper.make_node("Cast", [src], [f"{src}_f64"], to=TensorProto.DOUBLE,
                                      name=f"{node.name}_to_f64"))
        node.input[0], node.output[0] = f"{src}_f64", f"{dst}_f64"
        nodes.append(node)
        nodes.append(helper.make_node("Cast", [f"{dst}_f64"], [dst], to=TensorProto.FLOAT,
                                      name=f"{node.name}_to_f32"))
    if count:  # the DFT's input and output keep their names and float32 types
        del proto.graph.node[:]
        proto.graph.node.extend(nodes)
    return count


def set_metadata(proto, entries: dict) -> None:
    """``metadata_props`` of ``proto``: each entry a string (other values as JSON)."""
    del proto.metadata_props[:]
    for key, value in entries.items():
        prop = proto.metadata_props.add()
        prop.key, prop.value = key, value if isinstance(value, str) else json.dumps(value)


def metadata(proto) -> dict[str, str]:
    """The ``metadata_props`` of ``proto`` as a dict."""
    return {p.key: p.value for p in proto.metadata_props}
