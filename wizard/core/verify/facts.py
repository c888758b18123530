"""The verification demo's figures in words, for both faces (the CLI's lines, the GUI's stage list).

Each is a :class:`~wizard.core.text.Text` made from a template of :mod:`wizard.core.messages`, so
the GUI shows it translated and the CLI prints the English.
"""

from __future__ import annotations

from typing import Any

from wizard.core import messages as M
from wizard.core.text import T, Text, join
from wizard.core.units import format_bytes
from wizard.core.verify.runner import StageResult

MiB = 1024 * 1024


def _value(value: Any) -> str:
    return T(M.NOT_AVAILABLE) if value is None else str(value)


def stage_facts(stage: StageResult, percent: dict[str, float | None] | None = None) -> list[Text]:
    """What a stage measured, one sentence each; empty when it did not pass or measures nothing."""
    if stage.status != "pass":
        return []
    d = stage.data
    if stage.name == "import":
        return [T(M.FACT_IMPORT, torch=_value(d.get("torch")), cuda=_value(d.get("cuda")),
                  cudnn=_value(d.get("cudnn")), seconds=_value(d.get("import_seconds")))]
    if stage.name == "devices":
        return [T(M.FACT_DEVICE, name=str(g.get("name")), cc=str(g.get("capability")),
                  memory=format_bytes(int(g.get("memory_mib") or 0) * MiB)) for g in d.get("devices", [])]
    if stage.name == "linear_regression":
        return [T(M.FACT_LINEAR, w=_value(d.get("w")), b=_value(d.get("b")), true_w=_value(d.get("true_w")),
                  true_b=_value(d.get("true_b")), first=_value(d.get("first_loss")),
                  final=_value(d.get("final_loss")), device=_value(d.get("device")))]
    if stage.name == "training":
        facts = [T(M.FACT_TRAINING, first=_value(d.get("first_loss")), final=_value(d.get("final_loss")),
                   steps=_value(d.get("steps")), rate=_value(d.get("steps_per_s")), device=_value(d.get("device")))]
        if d.get("speedup_vs_cpu"):
            facts.append(T(M.FACT_TRAINING_SPEEDUP, rate=_value(d.get("speedup_vs_cpu"))))
        return facts
    if stage.name == "throughput":
        tflops = d.get("matmul_tflops") or {}
        facts = [T(M.FACT_THROUGHPUT, fp32=_value(tflops.get("fp32")), tf32=_value(tflops.get("tf32")),
                   bf16=_value(tflops.get("bf16")), copy=_value(d.get("copy_gb_s")))]
        shown = [T(M.FACT_PEAK, value=f"{v:.0f}", what=k) for k, v in (percent or {}).items() if v is not None]
        if shown:
            facts.append(join("; ", shown))
        return facts
    if stage.name == "memory":
        return [T(M.FACT_MEMORY, total=_value(d.get("total_gib")), free=_value(d.get("free_gib")),
                  largest=_value(d.get("largest_block_gib")), freed=_value(d.get("freed_by_empty_cache_gib"))),
                T(M.FACT_MEMORY_MEANS, inference=_value(d.get("bf16_inference_params_billion")),
                  lora=_value(d.get("bf16_lora_params_billion")))]
    if stage.name == "multi_gpu":
        reduce = d.get("all_reduce")
        words = reduce if isinstance(reduce, str) else (
            f"{reduce.get('backend')}, {reduce.get('seconds')} s" if isinstance(reduce, dict) else T(M.NOT_AVAILABLE))
        return [T(M.FACT_MULTI_GPU, count=str(len(d.get("gpus", []))), all_reduce=words)]
    return []
