"""Evaluate a charrnn export in PyTorch: load its tensors into nn.RNN,
nn.LSTM or nn.GRU plus nn.Linear with load_state_dict, feed a text as
one-hot vectors from a zero state, and print the mean cross-entropy in nats
per character, which must be what `charrnn eval` measures.

usage: torch_eval.py MODEL.safetensors TEXT
"""
import json
import struct
import sys

import numpy as np
import torch
from torch import nn


def read_safetensors(path):
    """The tensors (as torch float32) and the metadata of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__")
    body = data[8 + n:]
    tensors = {}
    for name, e in header.items():
        assert e["dtype"] == "F32", e
        begin, end = e["data_offsets"]
        a = np.frombuffer(body[begin:end], dtype="<f4").reshape(e["shape"])
        tensors[name] = torch.from_numpy(a.copy())
    return tensors, meta


class CharModel(nn.Module):
    """A recurrent module called rnn under an nn.Linear called decoder: the
    state-dict names charrnn exports."""

    def __init__(self, cell, vocab, hidden, layers):
        super().__init__()
        kind = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = kind(input_size=vocab, hidden_size=hidden, num_layers=layers)
        self.decoder = nn.Linear(hidden, vocab)


def model_from(tensors, meta):
    vocab = len(json.loads(meta["vocab"]))
    if "U" in tensors:
        # The notebook's model: U, W, V, b, c; nn.RNN splits b in two.
        hidden = tensors["b"].shape[0]
        state = {
            "rnn.weight_ih_l0": tensors["U"], "rnn.weight_hh_l0": tensors["W"],
            "rnn.bias_ih_l0": tensors["b"], "rnn.bias_hh_l0": torch.zeros(hidden),
            "decoder.weight": tensors["V"], "decoder.bias": tensors["c"],
        }
        cell, layers = "rnn", 1
    else:
        state = tensors
        cell, layers = meta["cell"], int(meta["layers"])
        hidden = tensors["rnn.weight_hh_l0"].shape[1]
    m = CharModel(cell, vocab, hidden, layers)
    m.load_state_dict(state)  # strict: every name and shape must match
    return m


def main():
    tensors, meta = read_safetensors(sys.argv[1])
    m = model_from(tensors, meta).double()
    symbols = json.loads(meta["vocab"])
    assert meta["vocab_kind"] == "bytes"
    ids = {s: i for i, s in enumerate(symbols)}
    with open(sys.argv[2], "rb") as f:
        x = torch.tensor([ids[b] for b in f.read()])
    onehot = nn.functional.one_hot(x[:-1], len(symbols)).double().unsqueeze(1)
    with torch.no_grad():
        out, _ = m.rnn(onehot)
        logits = m.decoder(out.squeeze(1))
        loss = nn.functional.cross_entropy(logits, x[1:])
    print(f"{loss.item():.10f}")


if __name__ == "__main__":
    main()
