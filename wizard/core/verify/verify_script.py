"""Prove that torch works in THIS interpreter: run by the target environment's Python.

Standard library and torch only (it runs inside the user's environment, not the wizard's).
Prints one JSON object per line:

* ``{"event": "start", ...}`` once;
* ``{"event": "stage_start", "stage": NAME}`` and ``{"event": "stage", "name": NAME,
  "status": "pass"|"fail"|"skip", "reason": ..., "remedy": ..., ...}`` per stage;
* ``{"event": "progress", "stage": "training", "step": N, "loss": X, "elapsed": S}`` while training;
* last: ``{"event": "result", "verdict": "gpu-ok"|"cpu-only"|"failed", "stages": [...]}``.

Any exception inside a stage becomes that stage's ``fail`` with a reason and a remedy; the
script itself never ends with a traceback. Usage: ``python verify_script.py [--expect-gpu]
[--quick]``.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

STAGES = ("import", "devices", "arch", "kernels", "precision", "linear_regression", "training",
          "throughput", "memory", "multi_gpu")
GPU_STAGES = ("devices", "arch", "kernels", "precision", "throughput", "memory", "multi_gpu")

# What GPU memory holds, in rules of thumb (estimates, marked so in the output): a bf16 weight is
# 2 bytes; inference needs about 1.2x the weights (activations, KV cache of a short context);
# LoRA fine-tuning keeps the frozen bf16 weights and adds adapters, their optimizer state and the
# activations, about 1.5x the weights for short sequences with gradient checkpointing (Hugging
# Face, "Model training anatomy": https://huggingface.co/docs/transformers/model_memory_anatomy;
# LoRA: https://arxiv.org/abs/2106.09685).
BF16_BYTES = 2
INFERENCE_OVERHEAD = 1.2
LORA_OVERHEAD = 1.5

# Relative error limits (Frobenius norm of the difference over the norm of the float64 reference)
# for a K=256 reduction. Unit roundoff u: fp32 2^-24 ~ 6e-8, tf32/fp16 2^-11 ~ 4.9e-4, bf16 2^-8
# ~ 3.9e-3 (IEEE 754 / "bfloat16" formats); accumulated error grows about sqrt(K)*u = 16u.
# Limits leave a further 10x margin over 16u so that only broken kernels fail.
REL_ERROR_LIMITS = {"float32": 1e-4, "float16": 1e-2, "bfloat16": 8e-2}

# The CPU path has to stay short (< ~20 s on 2 cores including import), the GPU one < 60 s.
TRAIN_STEPS_GPU = 300
TRAIN_STEPS_CPU = 120


def emit(obj: dict[str, Any]) -> None:
    """Print one JSON line and flush (the wizard reads it live)."""
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()


class Words(str):
    """An English sentence that remembers its template and params, so the wizard can translate it
    (the templates are listed in wizard/core/messages.py VERIFY_TEXTS; this file runs without it)."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Words:
        self = super().__new__(cls, template.format(**params))
        self.template = template
        self.params = params
        return self


def W(template: str, **params: Any) -> Words:
    """``template`` filled with ``params``, translatable by the wizard."""
    return Words(template, **params)


def _words_json(value: Any) -> Any:
    """A Words as ``{"template": ..., "params": {...}}`` (nested ones too), for the wizard."""
    if isinstance(value, Words):
        return {"template": value.template, "params": {k: _words_json(v) for k, v in value.params.items()}}
    return value


class StageFailed(Exception):
    """A stage's own verdict of failure, with the words for a person."""

    def __init__(self, reason: str, remedy: str = "", **data: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.remedy = remedy
        self.data = data


class Skip(Exception):
    """A stage that does not apply here."""

    def __init__(self, reason: str, remedy: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.remedy = remedy


class Context:
    """What earlier stages learned, for the later ones."""

    def __init__(self, expect_gpu: bool, quick: bool) -> None:
        self.expect_gpu = expect_gpu
        self.quick = quick
        self.torch: Any = None
        self.gpu = False
        self.device_count = 0
        self.backend = "cpu"  # "cuda" | "rocm" | "cpu"


def _rel_error(result: Any, reference: Any) -> float:
    diff = (result.double().cpu() - reference).norm().item()
    ref = reference.norm().item()
    return float(diff / ref if ref else diff)


def _round3(value: float) -> float | str:
    return float(f"{value:.3g}") if math.isfinite(value) else str(value)


def _sync(torch: Any) -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


# ---------------------------------------------------------------- stages


def stage_import(ctx: Context) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        import torch  # type: ignore[import-not-found]
    except Exception as exc:  # ImportError, OSError from a missing DLL, ...
        raise StageFailed(
            W("import torch failed: {error}", error=f"{type(exc).__name__}: {exc}"),
            W("reinstall torch in this environment (torch-gpu-setup install); on Windows install the "
              "Microsoft Visual C++ Redistributable if a DLL failed to load"),
        ) from exc
    ctx.torch = torch
    seconds = time.perf_counter() - start
    cudnn = None
    try:
        if torch.backends.cudnn.is_available():
            cudnn = torch.backends.cudnn.version()
    except Exception:
        cudnn = None
    torch_file = os.path.realpath(torch.__file__)
    prefix = os.path.realpath(sys.prefix)
    inside = torch_file.startswith(prefix + os.sep)
    data = {
        "import_seconds": round(seconds, 3),
        "torch": torch.__version__,
        "cuda": getattr(torch.version, "cuda", None),
        "cudnn": cudnn,
        "hip": getattr(torch.version, "hip", None),
        "torch_file": torch_file,
        "prefix": prefix,
        "python": sys.version.split()[0],
    }
    if not inside:
        raise StageFailed(
            W("torch is imported from {file}, outside this environment ({prefix}): another torch shadows it",
              file=torch_file, prefix=prefix),
            W("uninstall the other torch (often in the user site: python -m pip uninstall torch outside "
              "the environment) or unset PYTHONPATH"),
            **data,
        )
    return data


def stage_devices(ctx: Context) -> dict[str, Any]:
    torch = ctx.torch
    built_for = f"ROCm {torch.version.hip}" if getattr(torch.version, "hip", None) else (
        f"CUDA {torch.version.cuda}" if torch.version.cuda else None)
    if not torch.cuda.is_available():
        if built_for is None:
            reason = W("this is a CPU-only build of torch ({torch})", torch=torch.__version__)
            remedy = W("install a CUDA build: torch-gpu-setup plan shows the right one")
        else:
            reason = W("torch (built for {built_for}) sees no GPU", built_for=built_for)
            remedy = W("check the GPU driver (nvidia-smi) and CUDA_VISIBLE_DEVICES")
        if ctx.expect_gpu:
            raise StageFailed(reason, remedy)
        raise Skip(W("no GPU: {reason}", reason=reason), remedy)
    ctx.gpu = True
    ctx.backend = "rocm" if getattr(torch.version, "hip", None) else "cuda"
    ctx.device_count = torch.cuda.device_count()
    devices = []
    for index in range(ctx.device_count):
        props = torch.cuda.get_device_properties(index)
        devices.append({
            "index": index,
            "name": props.name,
            "capability": f"{props.major}.{props.minor}",
            "memory_mib": int(props.total_memory // (1024 * 1024)),
            "multiprocessors": props.multi_processor_count,
            "gcn_arch": getattr(props, "gcnArchName", None),
        })
    return {"count": ctx.device_count, "devices": devices, "built_for": built_for}


def _arch_supported(major: int, minor: int, arch_list: list[str]) -> tuple[bool, str | None]:
    """Does a CUDA build with these arch entries run on compute capability major.minor?

    Rules from the CUDA C++ Programming Guide, "Binary Compatibility" / "PTX Compatibility": a
    cubin for X.y runs on X.z with z >= y (same major only); PTX for compute_XY is JIT-compiled
    for any equal or newer capability. Arch-specific targets (sm_90a) match only themselves.
    """
    have = major * 10 + minor
    for entry in arch_list:
        kind, _, number = entry.partition("_")
        digits = "".join(ch for ch in number if ch.isdigit())
        if not digits or (number.endswith(("a", "f")) and int(digits) != have):
            continue
        value = int(digits)
        if kind == "sm" and value // 10 == major and value <= have:
            return True, entry
        if kind == "compute" and value <= have:
            return True, entry + " (PTX, JIT-compiled at first use)"
    return False, None


def stage_arch(ctx: Context) -> dict[str, Any]:
    torch = ctx.torch
    if not ctx.gpu:
        raise Skip(W("no GPU"))
    arch_list = list(torch.cuda.get_arch_list())
    results = []
    failures = []
    for index in range(ctx.device_count):
        props = torch.cuda.get_device_properties(index)
        if ctx.backend == "rocm":
            gfx = (getattr(props, "gcnArchName", "") or "").split(":")[0]
            ok, via = gfx in arch_list, gfx
            needed = gfx
        else:
            ok, via = _arch_supported(props.major, props.minor, arch_list)
            needed = f"sm_{props.major}{props.minor}"
        results.append({"index": index, "name": props.name, "needs": needed, "supported": ok, "via": via})
        if not ok:
            failures.append(f"{props.name} ({needed})")
    data = {"arch_list": arch_list, "gpus": results}
    if failures:
        raise StageFailed(
            W("this torch build ({torch}) has no kernels for {gpus}; it lists {arch_list}",
              torch=torch.__version__, gpus=", ".join(failures), arch_list=" ".join(arch_list)),
            W("install a build whose arch list includes {needed} (for new GPUs a newer CUDA variant, e.g. cu128 "
              "or later for Blackwell): torch-gpu-setup plan names it", needed=failures[0].split("(")[-1][:-1]),
            **data,
        )
    return data


def _matmul_check(torch: Any, device: str, dtype_name: str, size: int = 256) -> float:
    dtype = getattr(torch, dtype_name)
    a = torch.randn(size, size, dtype=torch.float64)
    b = torch.randn(size, size, dtype=torch.float64)
    reference = a @ b
    result = a.to(device=device, dtype=dtype) @ b.to(device=device, dtype=dtype)
    _sync(torch)
    return _rel_error(result, reference)


def stage_kernels(ctx: Context) -> dict[str, Any]:
    torch = ctx.torch
    if not ctx.gpu:
        raise Skip(W("no GPU"))
    device = "cuda:0"
    # fp32 must be compared as true fp32: TF32 would round to 10 mantissa bits.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(int(time.time()))  # fresh inputs every run, never zeros
    checks: list[dict[str, Any]] = []
    dtypes = ["float32", "float16"] + (["bfloat16"] if torch.cuda.is_bf16_supported() else [])
    for name in dtypes:
        error = _matmul_check(torch, device, name)
        checks.append({"op": "matmul", "dtype": name, "rel_error": error, "limit": REL_ERROR_LIMITS[name]})
    # conv2d through cuDNN (MIOpen on ROCm), float32
    x = torch.randn(8, 16, 32, 32, dtype=torch.float64)
    w = torch.randn(32, 16, 3, 3, dtype=torch.float64)
    reference = torch.nn.functional.conv2d(x, w, padding=1)
    result = torch.nn.functional.conv2d(x.float().to(device), w.float().to(device), padding=1)
    checks.append({"op": "conv2d", "dtype": "float32", "rel_error": _rel_error(result, reference),
                   "limit": REL_ERROR_LIMITS["float32"]})
    # backward pass of a small MLP: gradients against float64 on the CPU
    inputs = torch.randn(64, 32, dtype=torch.float64)
    w1 = torch.randn(32, 64, dtype=torch.float64) / 8
    w2 = torch.randn(64, 1, dtype=torch.float64) / 8

    def grads(dev: str, dtype: Any) -> tuple[Any, Any]:
        p1 = w1.to(dev, dtype).requires_grad_(True)
        p2 = w2.to(dev, dtype).requires_grad_(True)
        out = torch.tanh(inputs.to(dev, dtype) @ p1) @ p2
        (out ** 2).mean().backward()
        return p1.grad, p2.grad

    ref1, ref2 = grads("cpu", torch.float64)
    got1, got2 = grads(device, torch.float32)
    for label, got, ref in (("backward.w1", got1, ref1), ("backward.w2", got2, ref2)):
        checks.append({"op": label, "dtype": "float32", "rel_error": _rel_error(got, ref),
                       "limit": REL_ERROR_LIMITS["float32"]})
    bad = [c for c in checks if not (c["rel_error"] <= c["limit"])]  # NaN fails too
    for c in checks:
        c["rel_error"] = _round3(c["rel_error"])
    if bad:
        raise StageFailed(
            W("wrong results on the GPU: {checks}",
              checks=", ".join(f"{c['op']} {c['dtype']} error {c['rel_error']} > {c['limit']}" for c in bad)),
            W("the build may not match the GPU or the driver is faulty: update the driver, then reinstall"),
            checks=checks,
        )
    return {"checks": checks}


def stage_precision(ctx: Context) -> dict[str, Any]:
    torch = ctx.torch
    if not ctx.gpu:
        raise Skip(W("no GPU"))
    layer = torch.nn.Linear(128, 128).to("cuda:0")
    x = torch.randn(64, 128, device="cuda:0")
    reference = layer(x).double()
    results: list[dict[str, Any]] = []
    candidates = [("float16", torch.float16, True),
                  ("bfloat16", torch.bfloat16, torch.cuda.is_bf16_supported())]
    for name, dtype, supported in candidates:
        if not supported:
            results.append({"dtype": name, "status": "skip", "reason": "not supported by this GPU"})
            continue
        with torch.autocast(device_type="cuda", dtype=dtype):
            out = layer(x)
        error = _rel_error(out, reference.cpu())
        ok = out.dtype == dtype and math.isfinite(error) and error <= REL_ERROR_LIMITS[name]
        results.append({"dtype": name, "status": "pass" if ok else "fail", "rel_error": _round3(error),
                        "output_dtype": str(out.dtype)})
    if any(r["status"] == "fail" for r in results):
        raise StageFailed(W("autocast gave wrong results"), W("update the GPU driver"), autocast=results)
    return {"autocast": results}


def _device(ctx: Context) -> str:
    return "cuda:0" if ctx.gpu else "cpu"


def stage_linear_regression(ctx: Context) -> dict[str, Any]:
    torch = ctx.torch
    device = _device(ctx)
    true_w, true_b = 3.0, 2.0
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(256, 1, generator=generator) * 2 - 1
    y = true_w * x + true_b + 0.01 * torch.randn(256, 1, generator=generator)
    x, y = x.to(device), y.to(device)
    model = torch.nn.Linear(1, 1).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = torch.nn.MSELoss()
    first = final = float("nan")
    for step in range(500):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        if step == 0:
            first = loss.item()
    final = loss.item()
    w, b = model.weight.item(), model.bias.item()
    data = {"device": device, "w": round(w, 4), "b": round(b, 4), "true_w": true_w, "true_b": true_b,
            "first_loss": round(first, 5), "final_loss": round(final, 6)}
    # Tolerance 0.05: the noise (sigma 0.01 over 256 points) moves the least-squares w, b by ~1e-3.
    if not (final < first / 10 and abs(w - true_w) < 0.05 and abs(b - true_b) < 0.05):
        raise StageFailed(W("the model did not learn y = 3x + 2 (w={w}, b={b})", w=f"{w:.3f}", b=f"{b:.3f}"),
                          W("the device computes wrong results: update the driver, reinstall torch"), **data)
    return data


def _make_mlp(torch: Any) -> Any:
    return torch.nn.Sequential(
        torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    )


def _train(
    torch: Any, device: str, steps: int, stream: bool = False, batch: int = 512
) -> tuple[list[float], float]:
    generator = torch.Generator().manual_seed(1)
    teacher = torch.randn(64, 10, generator=generator)
    inputs = torch.randn(batch * 8, 64, generator=generator)
    labels = (inputs @ teacher).argmax(dim=1)
    inputs, labels = inputs.to(device), labels.to(device)
    torch.manual_seed(2)
    model = _make_mlp(torch).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    losses = []
    start = time.perf_counter()
    every = max(1, steps // 30)
    for step in range(1, steps + 1):
        lo = (step * batch) % inputs.shape[0]
        xb, yb = inputs[lo:lo + batch], labels[lo:lo + batch]
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        if stream and (step % every == 0 or step == 1 or step == steps):
            value = loss.item()  # synchronises, only every few steps
            losses.append(value)
            emit({"event": "progress", "stage": "training", "step": step, "steps": steps,
                  "loss": round(value, 5), "elapsed": round(time.perf_counter() - start, 3)})
    _sync(torch)
    elapsed = time.perf_counter() - start
    return losses, elapsed


def stage_training(ctx: Context) -> dict[str, Any]:
    torch = ctx.torch
    device = _device(ctx)
    steps = TRAIN_STEPS_GPU if ctx.gpu else TRAIN_STEPS_CPU
    if ctx.quick:
        steps = steps // 3
    if ctx.gpu:
        _train(torch, device, 5)  # warm-up: CUDA context, cuBLAS handles, kernel selection
    losses, elapsed = _train(torch, device, steps, stream=True)
    data = {"device": device, "steps": steps, "seconds": round(elapsed, 3),
            "steps_per_s": round(steps / elapsed, 1), "first_loss": round(losses[0], 4),
            "final_loss": round(losses[-1], 4)}
    if ctx.gpu:
        cpu_steps = max(10, steps // 10)
        _, cpu_elapsed = _train(torch, "cpu", cpu_steps)
        data["cpu_steps_per_s"] = round(cpu_steps / cpu_elapsed, 1)
        data["speedup_vs_cpu"] = round((steps / elapsed) / (cpu_steps / cpu_elapsed), 2)
    if not (math.isfinite(losses[-1]) and losses[-1] < 0.7 * losses[0]):
        raise StageFailed(W("the loss did not fall ({first} -> {last})", first=f"{losses[0]:.4f}",
                            last=f"{losses[-1]:.4f}"),
                          W("the device computes wrong results: update the driver, reinstall torch"), **data)
    return data


def _time_cuda(torch: Any, fn: Callable[[], Any], iterations: int) -> float:
    fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iterations):
        fn()
    end.record()
    torch.cuda.synchronize()
    return float(start.elapsed_time(end)) / 1000.0 / iterations


def stage_throughput(ctx: Context) -> dict[str, Any]:
    torch = ctx.torch
    if not ctx.gpu:
        raise Skip(W("no GPU"))
    device = "cuda:0"
    free, _total = torch.cuda.mem_get_info(0)
    n = 8192 if free > 4 * 1024 ** 3 else 4096
    iterations = 5 if ctx.quick else 20
    matmul: dict[str, float | None] = {}
    for label, dtype, tf32 in (("fp32", torch.float32, False), ("tf32", torch.float32, True),
                               ("bf16", torch.bfloat16, False)):
        if dtype is torch.bfloat16 and not torch.cuda.is_bf16_supported():
            matmul[label] = None
            continue
        torch.backends.cuda.matmul.allow_tf32 = tf32
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        seconds = _time_cuda(torch, functools.partial(torch.matmul, a, b), iterations)
        matmul[label] = round(2 * n ** 3 / seconds / 1e12, 2)  # 2 n^3 flops per n x n matmul
        del a, b
    torch.backends.cuda.matmul.allow_tf32 = False
    size_bytes = min(1024 ** 3, free // 4)
    src = torch.empty(size_bytes // 4, dtype=torch.float32, device=device).normal_()
    dst = torch.empty_like(src)
    seconds = _time_cuda(torch, functools.partial(dst.copy_, src), iterations)
    # read + write, as CUDA samples' bandwidthTest counts device-to-device copies
    copy_gbs = round(2 * src.numel() * 4 / seconds / 1e9, 1)
    del src, dst
    torch.cuda.empty_cache()
    return {"device": torch.cuda.get_device_name(0), "matrix_size": n, "matmul_tflops": matmul,
            "copy_gb_s": copy_gbs}


def stage_memory(ctx: Context) -> dict[str, Any]:
    torch = ctx.torch
    if not ctx.gpu:
        raise Skip(W("no GPU: there is no GPU memory to measure"))
    device = "cuda:0"
    torch.cuda.empty_cache()
    free, total = torch.cuda.mem_get_info(0)
    # The largest block that can be had in one piece: from 90% of the free memory down in steps of
    # 10% (a fragmented or shared card gives less than "free" says). Each try is freed at once.
    largest, size, tries = 0, int(free * 0.9), 0
    while size > 0 and tries < 12:
        tries += 1
        try:
            block = torch.empty(size, dtype=torch.uint8, device=device)
            block.fill_(1)   # touch it: some drivers commit memory lazily
            del block
            largest = size
            break
        except RuntimeError:   # torch.cuda.OutOfMemoryError is a RuntimeError
            size = int(size * 0.9)
    reserved = torch.cuda.memory_reserved(0)
    torch.cuda.empty_cache()
    freed = reserved - torch.cuda.memory_reserved(0)
    gib = 1024 ** 3
    inference_b = largest / BF16_BYTES / INFERENCE_OVERHEAD / 1e9
    lora_b = largest / BF16_BYTES / LORA_OVERHEAD / 1e9
    data = {"device": torch.cuda.get_device_name(0), "total_gib": round(total / gib, 1),
            "free_gib": round(free / gib, 1), "largest_block_gib": round(largest / gib, 1),
            "freed_by_empty_cache_gib": round(freed / gib, 2),
            "bf16_inference_params_billion": round(inference_b, 1),
            "bf16_lora_params_billion": round(lora_b, 1), "estimates": "rules of thumb (see verify_script)"}
    if largest == 0:
        raise StageFailed(W("no block of GPU memory could be allocated"), W("close programs that use the GPU"),
                          **data)
    return data


def _all_reduce_worker(rank: int, world_size: int, init_file: str, backend: str) -> None:
    import torch  # type: ignore[import-not-found]
    import torch.distributed as dist  # type: ignore[import-not-found]

    dist.init_process_group(backend, init_method="file://" + init_file, rank=rank, world_size=world_size)
    torch.cuda.set_device(rank)
    tensor = torch.full((1024,), float(rank + 1), device=f"cuda:{rank}")
    dist.all_reduce(tensor)
    expected = world_size * (world_size + 1) / 2
    if not torch.allclose(tensor, torch.full_like(tensor, expected)):
        raise RuntimeError(f"all_reduce gave {tensor[0].item()}, expected {expected}")
    dist.destroy_process_group()


def stage_multi_gpu(ctx: Context) -> dict[str, Any]:
    torch = ctx.torch
    if not ctx.gpu:
        raise Skip(W("no GPU"))
    per_gpu = []
    for index in range(ctx.device_count):
        error = _matmul_check(torch, f"cuda:{index}", "float32", size=128)
        per_gpu.append({"index": index, "name": torch.cuda.get_device_name(index),
                        "rel_error": _round3(error), "ok": error <= REL_ERROR_LIMITS["float32"]})
    data: dict[str, Any] = {"gpus": per_gpu}
    bad = [g for g in per_gpu if not g["ok"]]
    if bad:
        raise StageFailed(W("wrong results on GPU {gpus}", gpus=", ".join(str(g["index"]) for g in bad)),
                          W("check that GPU (nvidia-smi -q) and its driver"), **data)
    if ctx.device_count < 2:
        data["all_reduce"] = "not needed: one GPU"
        return data
    import tempfile

    import torch.distributed as dist  # type: ignore[import-not-found]
    import torch.multiprocessing as mp  # type: ignore[import-not-found]

    backend = "nccl" if dist.is_nccl_available() else "gloo"
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        mp.spawn(_all_reduce_worker, args=(ctx.device_count, os.path.join(tmp, "init"), backend),
                 nprocs=ctx.device_count, join=True)
        data["all_reduce"] = {"backend": backend, "world_size": ctx.device_count,
                              "seconds": round(time.perf_counter() - start, 2)}
    return data


STAGE_FUNCTIONS = {
    "import": stage_import, "devices": stage_devices, "arch": stage_arch, "kernels": stage_kernels,
    "precision": stage_precision, "linear_regression": stage_linear_regression,
    "training": stage_training, "throughput": stage_throughput, "memory": stage_memory,
    "multi_gpu": stage_multi_gpu,
}


def run_stage(name: str, ctx: Context) -> dict[str, Any]:
    """Run one stage; every outcome becomes a stage record, never an exception."""
    emit({"event": "stage_start", "stage": name})
    start = time.perf_counter()
    record: dict[str, Any] = {"name": name}
    try:
        if ctx.torch is None and name != "import":
            raise Skip(W("torch did not import"), W("see the import stage"))
        record.update(STAGE_FUNCTIONS[name](ctx) or {})
        record["status"] = "pass"
    except Skip as skip:
        record.update({"status": "skip", "reason": skip.reason, "remedy": skip.remedy})
    except StageFailed as failed:
        record.update(failed.data)
        record.update({"status": "fail", "reason": failed.reason, "remedy": failed.remedy})
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        reason = f"{type(exc).__name__}: {first_line}"
        remedy = W("see the details; update the GPU driver and reinstall torch if it persists")
        if "out of memory" in str(exc).lower():
            remedy = W("close other programs that use the GPU and run verify again")
        record.update({"status": "fail", "reason": reason, "remedy": remedy,
                       "traceback": traceback.format_exc(limit=4)[-2000:]})
    record["seconds"] = round(time.perf_counter() - start, 3)
    for key in ("reason", "remedy"):   # the words' templates too, so the wizard shows them translated
        if isinstance(record.get(key), Words):
            record[f"{key}_words"] = _words_json(record[key])
    emit(dict(record, event="stage"))
    return record


def verdict_of(records: list[dict[str, Any]]) -> str:
    """gpu-ok when every stage passed on a GPU, cpu-only when no GPU stage ran, else failed."""
    if any(r["status"] == "fail" for r in records):
        return "failed"
    ran_on_gpu = any(r["name"] == "devices" and r["status"] == "pass" for r in records)
    return "gpu-ok" if ran_on_gpu else "cpu-only"


def main(argv: list[str]) -> int:
    ctx = Context(expect_gpu="--expect-gpu" in argv, quick="--quick" in argv)
    emit({"event": "start", "python": sys.executable, "stages": list(STAGES), "pid": os.getpid()})
    records = []
    for name in STAGES:
        records.append(run_stage(name, ctx))
    emit({"event": "result", "verdict": verdict_of(records), "stages": records})
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
