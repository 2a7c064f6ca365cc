"""Spies for the tests: record what a call does behind the caller's back."""

import pytest

torch = pytest.importorskip("torch")


class HostCopies:
    """Sizes of the torch -> numpy (``Tensor.numpy``), device -> host (``Tensor.cpu``,
    ``Tensor.to("cpu")``) and ``Tensor.tolist`` copies made while active."""

    def __init__(self, monkeypatch):
        self.sizes = []
        sizes = self.sizes
        numpy, cpu, to, tolist = (
            torch.Tensor.numpy,
            torch.Tensor.cpu,
            torch.Tensor.to,
            torch.Tensor.tolist,
        )

        def numpy_spy(self, *a, **k):
            sizes.append(self.numel())
            return numpy(self, *a, **k)

        def cpu_spy(self, *a, **k):
            if self.device.type != "cpu":
                sizes.append(self.numel())
            return cpu(self, *a, **k)

        def to_spy(self, *a, **k):
            out = to(self, *a, **k)
            if self.device.type != "cpu" and out.device.type == "cpu":
                sizes.append(self.numel())
            return out

        def tolist_spy(self, *a, **k):
            sizes.append(self.numel())
            return tolist(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, "numpy", numpy_spy)
        monkeypatch.setattr(torch.Tensor, "cpu", cpu_spy)
        monkeypatch.setattr(torch.Tensor, "to", to_spy)
        monkeypatch.setattr(torch.Tensor, "tolist", tolist_spy)
