"""semitensor from torch: same functions, torch tensors in and out, autograd through them.

Run: python examples/torch_usage.py   (needs torch; uses a GPU when one is available)
"""

import os
import tempfile

import torch

import semitensor as st

SMALL = os.environ.get("SEMITENSOR_EXAMPLE_SMALL") == "1"
device = "cuda" if torch.cuda.is_available() else "cpu"
torch.manual_seed(0)

# 1. The STP on torch tensors: the result stays on the device, gradients flow.
A = torch.randn(3, 4, dtype=torch.float64, device=device, requires_grad=True)
B = torch.randn(2, 5, dtype=torch.float64, device=device)
C = st.stp(A, B)  # (A ⊗ I_1)(B ⊗ I_2): 3 × 10
C.square().sum().backward()
definition = A @ torch.kron(B, torch.eye(2, dtype=B.dtype, device=device))  # n=4, p=2
print(
    "stp:",
    tuple(C.shape),
    C.device,
    "| equals the definition:",
    torch.allclose(C, definition),
    "| grad of A:",
    tuple(A.grad.shape),
)

# 2. A decomposition of a torch tensor returns torch tensors on the same device.
size = 8 if SMALL else 32
i = torch.linspace(0, 1, size, dtype=torch.float64, device=device)
X = torch.sin(6 * i[:, None, None] + 3 * i[None, :, None] - 4 * i[None, None, :])
dec = st.sttu_decompose(X, ranks=[4, 4, 4], t=2)
print(
    "sttu_decompose:",
    type(dec.core).__name__,
    dec.core.device,
    "ranks",
    dec.ranks,
    f"rel. error {dec.info.rel_error:.2e}",
)

# 3. A loss with no closed form, minimised by torch: fill in X from 40% of its entries
# (tensor completion). to_tensor is differentiable, so any torch optimiser works.
mask = torch.rand(X.shape, device=device) < 0.4
start = st.sttu_decompose(torch.where(mask, X, 0.0), ranks=[4, 4, 4], t=2)
core = start.core.clone().requires_grad_()
factors = [u.clone().requires_grad_() for u in start.factors]
opt = torch.optim.Adam([core, *factors], lr=2e-2)
n_steps = 100 if SMALL else 500
for _ in range(n_steps):
    opt.zero_grad()
    approx = st.STTuTensor(core, factors, t=2).to_tensor()
    loss = (approx - X)[mask].square().sum() / X[mask].square().sum()
    loss.backward()
    opt.step()
with torch.no_grad():
    err = torch.linalg.norm(approx - X) / torch.linalg.norm(X)
print(
    f"completion from 40% of the entries, {n_steps} Adam steps: rel. error on all "
    f"entries {err.item():.2e}"
)

# 4. Save and load: the file holds numpy arrays; like= puts them back on a device.
path = os.path.join(tempfile.mkdtemp(), "dec.npz")
st.save(dec, path)
back = st.load(path, like=X)
print(
    "loaded:",
    type(back.core).__name__,
    back.core.device,
    "| same tensor:",
    torch.allclose(back.to_tensor(), dec.to_tensor()),
)
