"""Where PyTorch wheels are published: the official index and known mirrors (plain data).

Kept apart from :mod:`wizard.core.fetch.net` (which loads requests) so that showing the choices costs
nothing at start-up; ``wizard.core.fetch.net`` re-exports these names.
"""

from __future__ import annotations

from dataclasses import dataclass

# The official PyTorch wheel indexes: https://download.pytorch.org/whl/<variant>/<project>/ (PEP 503
# HTML, docs/SOURCES.md torch-matrix §4.1/§4.2).
OFFICIAL_INDEX = "https://download.pytorch.org/whl"

@dataclass(frozen=True)
class MirrorPreset:
    """A place that publishes PyTorch wheels, and which URL pattern it uses.

    ``kind`` is ``"index"`` (PEP 503: ``<base>/<variant>/<project>/``, pip ``--index-url``) or
    ``"find-links"`` (one flat page per variant listing every file, pip ``--find-links``).
    """

    name: str
    base: str
    kind: str
    description: str
    source: str

    def variant_url(self, variant: str) -> str:
        """The index (or flat page) URL for one variant such as ``cu126`` or ``cpu``."""
        return f"{self.base.rstrip('/')}/{variant}/"


MIRROR_PRESETS: dict[str, MirrorPreset] = {
    "official": MirrorPreset(
        "official", OFFICIAL_INDEX, "index",
        "download.pytorch.org (PyTorch's own index, behind Cloudflare)",
        "docs/SOURCES.md torch-matrix §4.1 (test-infra get_base_download_url_for_repo)",
    ),
    "aliyun": MirrorPreset(
        "aliyun", "https://mirrors.aliyun.com/pytorch-wheels", "find-links",
        "Alibaba Cloud mirror (mainland China): flat directory per variant, use as find-links",
        "mirror's own usage notes (pip install ... -f https://mirrors.aliyun.com/pytorch-wheels/cu121); "
        "not re-verified from this sandbox",
    ),
    "sjtu": MirrorPreset(
        "sjtu", "https://mirror.sjtu.edu.cn/pytorch-wheels", "find-links",
        "Shanghai Jiao Tong University mirror (mainland China): flat directory per variant",
        "mirror help page (pytorch-wheels, used with -f); not re-verified from this sandbox",
    ),
    "nju": MirrorPreset(
        "nju", "https://mirror.nju.edu.cn/pytorch/whl", "index",
        "Nanjing University mirror (mainland China): a copy of download.pytorch.org/whl, PEP 503 layout",
        "mirror help page (--index-url https://mirror.nju.edu.cn/pytorch/whl/cu121); "
        "not re-verified from this sandbox",
    ),
}
