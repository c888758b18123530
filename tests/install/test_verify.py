"""The verification script and its reader: robustness, arch rules, datasheet peaks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.install.conftest import venv_py
from wizard.core.verify import verify_script
from wizard.core.verify.runner import (
    StageResult,
    VerifyParser,
    VerifyResult,
    load_gpu_peaks,
    peak_for,
    percent_of_peak,
    run_verify,
)


def test_parser_tolerates_garbage_and_collects_the_curve() -> None:
    events: list[dict[str, object]] = []
    parser = VerifyParser(events.append)
    for line in [
        "/x/torch/__init__.py:1: UserWarning: Failed to initialize NumPy",
        '{"event": "progress", "stage": "training", "step": 1, "loss": 2.3, "elapsed": 0.01}',
        '{"event": "progress", "stage": "training", "step": "bad"}',
        "[1, 2]",
        '{"event": "stage", "name": "import", "status": "pass", "seconds": 1.2, "torch": "2.13.0+cpu"}',
        '{"event": "result", "verdict": "cpu-only", "stages": [{"name": "import", "status": "pass", '
        '"torch": "2.13.0+cpu"}, {"name": "devices", "status": "skip", "reason": "no GPU"}]}',
    ]:
        parser.feed(line)
    result = parser.result(0)
    assert result.verdict == "cpu-only"
    assert [s.status for s in result.stages] == ["pass", "skip"]
    assert result.stage("import") is not None and result.stage("import").data["torch"] == "2.13.0+cpu"  # type: ignore[union-attr]
    assert [(p.step, p.loss) for p in result.training] == [(1, 2.3)]
    assert len(result.garbage) == 3 and len(events) == 3


def test_a_script_that_dies_without_a_result_is_a_failed_verdict() -> None:
    parser = VerifyParser()
    parser.feed('{"event": "stage", "name": "import", "status": "pass"}')
    parser.feed("Segmentation fault (core dumped)")
    result = parser.result(-11)
    assert result.verdict == "failed"
    assert result.stages[-1].name == "script" and "exit code -11" in result.stages[-1].reason


def test_unknown_verdict_is_failed() -> None:
    parser = VerifyParser()
    parser.feed('{"event": "result", "verdict": "great", "stages": []}')
    assert parser.result(0).verdict == "failed"


def _site_packages(prefix: Path) -> Path:
    return next((prefix / "lib").glob("python3*/site-packages"))


def test_a_torch_whose_libraries_fail_to_load_fails_import_with_a_remedy(venv: Path) -> None:
    fake = _site_packages(venv) / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise OSError('libtorch_cuda.so: cannot open shared object file')\n")
    result = run_verify(venv_py(venv))
    imp = result.stage("import")
    assert imp is not None and imp.status == "fail"
    assert "OSError" in imp.reason and "libtorch_cuda.so" in imp.reason and imp.remedy
    assert result.verdict == "failed"
    assert all(s.status == "skip" for s in result.stages if s.name != "import")


def test_a_torch_outside_the_environment_is_caught_as_shadowing(venv: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "user-site" / "torch"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text(
        "import types\n__version__ = '2.0.0+cpu'\nversion = types.SimpleNamespace(cuda=None, hip=None)\n")
    monkeypatch.setenv("PYTHONPATH", str(other.parent))
    result = run_verify(venv_py(venv))
    imp = result.stage("import")
    assert imp is not None and imp.status == "fail" and "shadows" in imp.reason
    assert imp.data["torch_file"].startswith(str(other))


def test_a_stage_that_raises_is_that_stages_failure_not_a_crash(venv: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # a torch whose cuda module is broken: import passes, devices fails with the exception's words
    fake = _site_packages(venv) / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "import types\n__version__ = '2.13.0+cu126'\nversion = types.SimpleNamespace(cuda='12.6', hip=None)\n"
        "def _boom():\n    raise RuntimeError('CUDA driver initialization failed')\n"
        "cuda = types.SimpleNamespace(is_available=_boom)\n")
    result = run_verify(venv_py(venv))
    assert result.stage("import").status == "pass"  # type: ignore[union-attr]
    devices = result.stage("devices")
    assert devices is not None and devices.status == "fail"
    assert devices.reason == "RuntimeError: CUDA driver initialization failed" and devices.remedy
    assert result.verdict == "failed" and result.returncode == 0


@pytest.mark.parametrize(("cc", "arch_list", "supported"), [
    ((8, 6), ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"], True),
    ((8, 9), ["sm_80", "sm_86"], True),  # sm_86 SASS runs on 8.9 (same major)
    ((12, 0), ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"], False),  # cu124 on an RTX 5090
    ((12, 0), ["sm_80", "sm_90", "compute_90"], True),  # PTX JIT
    ((9, 0), ["sm_90a"], True),
    ((10, 0), ["sm_90a"], False),
    ((6, 1), ["sm_75", "sm_80"], False),
])
def test_arch_rules(cc: tuple[int, int], arch_list: list[str], supported: bool) -> None:
    assert verify_script._arch_supported(cc[0], cc[1], arch_list)[0] is supported


def test_verdict_rules() -> None:
    assert verify_script.verdict_of([{"name": "devices", "status": "pass"}]) == "gpu-ok"
    assert verify_script.verdict_of([{"name": "devices", "status": "skip"},
                                     {"name": "training", "status": "pass"}]) == "cpu-only"
    assert verify_script.verdict_of([{"name": "devices", "status": "pass"},
                                     {"name": "arch", "status": "fail"}]) == "failed"


def test_every_peak_entry_has_a_source_and_known_inferred_fields() -> None:
    raw = json.loads((Path(verify_script.__file__).parents[2] / "data" / "gpu_peaks.json").read_text())
    peaks = load_gpu_peaks()
    assert len(peaks) == len(raw["gpus"]) >= 10
    for peak in peaks:
        assert peak.source and set(peak.inferred) <= {"fp32", "tf32", "bf16", "memory_gb_s"}


@pytest.mark.parametrize(("name", "peak_id"), [
    ("NVIDIA H200", "h200-sxm"), ("NVIDIA H100 80GB HBM3", "h100-sxm"), ("NVIDIA H100 PCIe", "h100-pcie"),
    ("NVIDIA A100-SXM4-80GB", "a100-sxm4-80gb"), ("NVIDIA GeForce RTX 4090", "rtx-4090"),
    ("Tesla V100-SXM2-16GB", "v100-sxm2"), ("Tesla T4", "t4"), ("NVIDIA GeForce RTX 3060", None),
])
def test_peak_lookup_by_device_name(name: str, peak_id: str | None) -> None:
    peak = peak_for(name)
    assert (peak.id if peak else None) == peak_id


def test_percent_of_peak_uses_the_table() -> None:
    h200 = peak_for("NVIDIA H200")
    assert h200 is not None and h200.fp32 and h200.bf16 and h200.memory_gb_s
    stage = StageResult("throughput", "pass", data={
        "device": "NVIDIA H200", "matmul_tflops": {"fp32": h200.fp32 / 2, "tf32": None, "bf16": h200.bf16 * 0.7},
        "copy_gb_s": h200.memory_gb_s * 0.9})
    percent = percent_of_peak(VerifyResult("gpu-ok", [stage]))
    assert percent == {"fp32": 50.0, "tf32": None, "bf16": 70.0, "memory": 90.0}
    assert percent_of_peak(VerifyResult("cpu-only", [StageResult("throughput", "skip")])) is None


class _FakeCuda:
    """The part of torch.cuda the memory stage uses, for a card with 24 GiB of which ``usable`` can be had."""

    def __init__(self, usable: int) -> None:
        self.usable = usable
        self.reserved = 0

    def empty_cache(self) -> None:
        self.reserved = 0

    def mem_get_info(self, index: int) -> tuple[int, int]:
        return 20 * 1024**3, 24 * 1024**3

    def memory_reserved(self, index: int) -> int:
        return self.reserved

    def get_device_name(self, index: int) -> str:
        return "NVIDIA GeForce RTX 4090"


class _FakeTorch:
    def __init__(self, usable: int) -> None:
        self.cuda = _FakeCuda(usable)
        self.uint8 = "uint8"

    def empty(self, size: int, dtype: object, device: str) -> object:
        if size > self.cuda.usable:
            raise RuntimeError("CUDA out of memory. Tried to allocate ...")   # torch.OutOfMemoryError's words
        self.cuda.reserved = size        # the caching allocator keeps the block reserved after del

        class Block:
            def fill_(self, value: int) -> None:
                pass
        return Block()


def test_memory_stage_finds_the_largest_block_and_says_what_it_holds() -> None:
    ctx = verify_script.Context(expect_gpu=True, quick=True)
    ctx.gpu, ctx.torch = True, _FakeTorch(usable=12 * 1024**3)   # fragmented: less than "free" says
    data = verify_script.stage_memory(ctx)
    assert data["total_gib"] == 24.0 and data["free_gib"] == 20.0
    assert 10.0 <= data["largest_block_gib"] <= 12.0           # found by stepping down from 90% of free
    assert data["freed_by_empty_cache_gib"] > 0             # the allocator gave the tries back
    # bf16: 2 bytes a weight; x1.2 for inference, x1.5 for LoRA (the rules of thumb in verify_script)
    largest = data["largest_block_gib"] * 1024**3
    assert data["bf16_inference_params_billion"] == pytest.approx(largest / 2 / 1.2 / 1e9, abs=0.15)
    assert data["bf16_lora_params_billion"] < data["bf16_inference_params_billion"]


def test_memory_stage_is_skipped_on_the_cpu_with_its_reason() -> None:
    ctx = verify_script.Context(expect_gpu=False, quick=True)
    ctx.torch = _FakeTorch(usable=0)
    record = verify_script.run_stage("memory", ctx)
    assert record["status"] == "skip" and record["reason"] == "no GPU: there is no GPU memory to measure"


def test_the_figures_of_each_stage_in_words() -> None:
    from wizard.core.verify.facts import stage_facts

    linear = StageResult("linear_regression", "pass", data={"w": 2.9996, "b": 2.001, "true_w": 3.0, "true_b": 2.0,
                                                            "first_loss": 4.1, "final_loss": 0.0001, "device": "cpu"})
    assert stage_facts(linear) == ["learned w = 2.9996, b = 2.001 (the true line: w = 3.0, b = 2.0); "
                                   "loss 4.1 → 0.0001, on cpu"]
    memory = StageResult("memory", "pass", data={"total_gib": 24.0, "free_gib": 22.5, "largest_block_gib": 21.8,
                                                 "freed_by_empty_cache_gib": 0.5, "bf16_inference_params_billion": 9.7,
                                                 "bf16_lora_params_billion": 7.8})
    assert "about 9.7 billion parameters in bf16" in stage_facts(memory)[1]
    assert stage_facts(StageResult("memory", "skip", reason="no GPU")) == []
