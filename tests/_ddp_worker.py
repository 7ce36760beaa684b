"""Worker for tests/test_torch.py::test_ddp_gloo_two_ranks_uneven (not collected by pytest).

Usage: python _ddp_worker.py RANK WORLD OUTDIR. With WORLD = 2 it joins a gloo group on
127.0.0.1 (MASTER_PORT from the environment) and takes an uneven share of one fixed global
batch; with WORLD = 1 it runs alone on the whole batch. It writes what the test compares:
losses and statistics, parameter gradients after DDP's averaging, and the directions used.
"""

import sys

import numpy as np

N_TOTAL, SPLIT, D_IN, D_OUT = 300, 110, 6, 8


def main(rank: int, world: int, outdir: str) -> None:
    import torch  # here, not at module top: doctest collection must not need torch

    import normtest.torch as nt

    torch.set_num_threads(1)
    if world > 1:
        torch.distributed.init_process_group("gloo", rank=rank, world_size=world)
    gen = torch.Generator().manual_seed(123)
    X_all = torch.rand(N_TOTAL, D_IN, generator=gen, dtype=torch.float64) * 4 - 2
    X = X_all if world == 1 else (X_all[:SPLIT] if rank == 0 else X_all[SPLIT:])

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(D_IN, 16), torch.nn.Tanh(), torch.nn.Linear(16, D_OUT)).double()
    model = torch.nn.parallel.DistributedDataParallel(net) if world > 1 else net

    loss_fn = nt.SIGReg(n_slices=32, seed=11)
    # ranks start from different steps: the call must agree on the largest (4)
    loss_fn.step.fill_(4 if world == 1 or rank == 0 else 2)
    out = {}

    directions = loss_fn.current_directions(D_OUT, "cpu") if world == 1 or rank == 0 else None
    Y = model(X)
    loss = loss_fn(Y)
    loss.backward()
    out["loss"] = loss.detach().numpy()
    if directions is None:  # rank 1 started at step 2: the directions it used are those of step 4
        probe = nt.SIGReg(n_slices=32, seed=11)
        probe.step.fill_(4)
        directions = probe.current_directions(D_OUT, "cpu")
    out["dir_sigreg"] = directions.numpy()
    out["step_after"] = np.array(int(loss_fn.step))
    for name, p in net.named_parameters():
        out["grad_" + name.replace(".", "_")] = p.grad.detach().numpy().copy()
    out["grad_w"] = net[0].weight.grad.detach().numpy().copy()

    # functional forms on the (detached) outputs: global statistics across ranks
    Yd = Y.detach()
    A = nt.draw_directions(D_OUT, 10, rng=5, dtype=torch.float64)
    out["dir_functional"] = A.numpy()
    out["stat_sliced_auto"] = nt.sliced_epps_pulley(Yd, directions=A).numpy()
    out["stat_sliced_std"] = nt.sliced_epps_pulley(Yd, directions=A, standardize=True,
                                                   quadrature="lejepa", reduction="none").numpy()
    out["stat_ep"] = nt.epps_pulley(Yd[:, :3]).numpy()
    # gradient of a global standardised statistic through DDP-free autograd: sum over ranks
    Yg = Yd.clone().requires_grad_(True)
    s = nt.sliced_epps_pulley(Yg, directions=A, standardize=True, quadrature="lejepa")
    s.backward()
    gY = Yg.grad
    if world > 1:  # autograd all-reduce SUMs the W equal upstream gradients: average like DDP does
        gY = gY / world
        rows = [torch.zeros(SPLIT, D_OUT, dtype=torch.float64), torch.zeros(N_TOTAL - SPLIT, D_OUT,
                                                                           dtype=torch.float64)]
        mine = torch.zeros(N_TOTAL, D_OUT, dtype=torch.float64)
        if rank == 0:
            mine[:SPLIT] = gY
        else:
            mine[SPLIT:] = gY
        torch.distributed.all_reduce(mine)
        gY = mine
        del rows
    out["grad_std_rows"] = gY.numpy()

    # negative control: local statistic only (what a missing/discarded all-reduce gives)
    net.zero_grad()
    loss_local = nt.SIGReg(n_slices=32, seed=11, distributed=False)
    loss_local.step.fill_(4)
    loss_local(model(X)).backward()
    out["naive_grad_w"] = net[0].weight.grad.detach().numpy().copy()

    np.savez(f"{outdir}/rank{rank}_of{world}.npz", **out)
    if world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
