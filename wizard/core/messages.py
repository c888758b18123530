"""Every sentence template the core shows a person, in one place, grouped by where it is used.

Templates are English with ``{name}`` fields, filled with :func:`wizard.core.text.T`. Each is a
whole sentence (or a whole clause that is a param of one), so a translator never glues pieces.
:func:`wizard.core.text.catalog` lists them all: the GUI's ``.ts`` gets them under context
"core" (``python -m wizard.qt.build_translations --update``). Changing a template's English
changes its translation key: update the translation too.
"""

from __future__ import annotations

# --------------------------------------------------------------------------- shared pieces

SENTENCE = "{text}."
#: The separators of lists made with text.join: translators give their language's own ("、", "；").
LIST_SEPARATOR = ", "
CLAUSE_SEPARATOR = "; "
TWO_SENTENCES = "{first} {second}"
TWO_NAMES = "{first} and {second}"
COUNTED_NAME = "{count} x {name}"
THIS_MACHINE = "this machine"
UNKNOWN = "unknown"
UNKNOWN_VERSION = "an unknown version"

#: The plan's action kinds (SCHEMA.md) as words in sentences.
ACTION_KINDS = {
    "python_install": "installing Python",
    "driver_install": "installing the driver",
    "driver_update": "a driver update",
    "reboot": "a restart",
    "free_disk": "freeing disk space",
    "cuda_toolkit": "the CUDA toolkit",
    "enable_long_paths": "enabling long paths",
}

# --------------------------------------------------------------------------- planner: GPUs not used

GPU_NVIDIA_ARCH_UNKNOWN = ("its architecture could not be told from its name or PCI id "
                           "(install the NVIDIA driver so it can report it)")
GPU_AMD_NOT_LINUX = ("PyTorch publishes ROCm builds for Linux only; on {os} an AMD GPU cannot run "
                     "PyTorch's GPU builds")
GPU_AMD_GFX_UNKNOWN = ("its gfx architecture could not be told (install ROCm so rocm_agent_enumerator "
                       "can report it)")
GPU_XPU_OS = "XPU builds exist for Linux and Windows only"
GPU_APPLE_NOT_MACOS = "Apple GPUs are used only on macOS"
GPU_UNKNOWN_VENDOR = "unknown vendor"
GPU_NOT_USABLE = "not usable by PyTorch"
GPU_INTEL_NO_XPU = ("PyTorch's XPU build supports Intel Arc GPUs, Core Ultra processors with Arc graphics and "
                    "Data Center GPU Max, not these graphics")
GPU_ROCM_NOT_LISTED = "no ROCm build lists {gfx}"
GPU_NO_BUILD = "no PyTorch build that fits this machine carries code for it"
GPU_OTHER_VENDOR = "one PyTorch build cannot drive two GPU vendors, and this one serves the {device} GPUs"
GPU_JETSON = ("a Jetson's integrated GPU needs NVIDIA's PyTorch for JetPack: PyTorch's own aarch64 CUDA builds are "
              "made for server Arm and do not run on L4T")

# --------------------------------------------------------------------------- planner: Python and platform

PY_NONE = "no Python interpreter was found"
PY_NOT_CPYTHON = "PyTorch publishes wheels for CPython only, not {implementation}"
PY_32BIT = "the Python is 32-bit; PyTorch publishes 64-bit wheels only"
OS_32BIT = "the operating system is 32-bit"
PY_NO_WHEELS = "Python {version} has no wheels for torch {torch}."
PY_NO_WHEELS_COMPANIONS = "Python {version} has no wheels for torch {torch} with its companions."
PLATFORM_NO_WHEELS = "PyTorch publishes no wheels for {os} on {arch}"
PLATFORM_NO_WHEELS_WINDOWS_ARM = ("PyTorch publishes no wheels for {os} on {arch} (Windows on Arm has nightly "
                                  "builds only)")

# --------------------------------------------------------------------------- planner: actions

ACTION_PYTHON_INSTALL = ("Install 64-bit Python {python} (python.org or your package manager); the wizard then "
                         "creates a new environment with it. Now: {problem}")
DRIVER_WHERE_WSL = ("Update the NVIDIA driver on the Windows side (from NVIDIA or Windows Update); "
                    "never install a Linux driver inside WSL.")
DRIVER_WHERE_WINDOWS = "Install it from NVIDIA's driver download page or the NVIDIA app."
DRIVER_WHERE_LINUX = "Install it with your distribution's package manager (e.g. 'sudo ubuntu-drivers install')."
ACTION_DRIVER_MISSING = ("No NVIDIA driver is installed. {build} needs driver {min_driver} or newer "
                         "(CUDA {cuda}). {where}")
ACTION_DRIVER_MISSING_WSL = ("No NVIDIA driver is visible in WSL. {build} needs driver {min_driver} or newer "
                             "(CUDA {cuda}). {where}")
ACTION_DRIVER_UPDATE = ("Driver {version} supports CUDA up to {driver_cuda}; torch {build} needs driver "
                        "{min_driver} or newer (CUDA {cuda}). {where}")
ACTION_REBOOT_AFTER_DRIVER = "Restart the computer after the driver install so the new kernel module loads."
ACTION_REBOOT_SECURE_BOOT = ("Secure Boot is on: the driver's kernel module must be signed; enroll the key (MOK) "
                             "when the blue screen asks at the next boot.")
ACTION_REBOOT_DRIVER_LOADS = "Restart the computer so the NVIDIA driver loads."
ACTION_FREE_DISK = ("{build} needs about {need} GiB (downloads and the installed environment); only {free} GiB "
                    "are free. Free some space or choose another folder for the environment.")

FILE_LOCKED = "{path} is in use by another program and could not be changed"
FILE_LOCKED_HINT = ("close any Python or program that uses this environment (a terminal, an editor, Jupyter); if an "
                    "antivirus is scanning it, wait a moment; then try again")

# --------------------------------------------------------------------------- planner: where the environment goes

NO_BASE_PYTHON = "no Python interpreter was found to create the environment with"
NO_BASE_PYTHON_HINT = ("install Python 3.12 (on Windows: winget install -e --id Python.Python.3.12), then start "
                       "again, or pass --python PATH")

ENV_WHY_DATA_DIR = "the wizard's own folder for environments: nothing else on this computer changes"
ENV_WHY_STORE = ("Microsoft Store Python cannot write to its usual AppData folder (Windows redirects it), so "
                 "the environment goes below your user folder")
ENV_WHY_HOME_UNKNOWN = "the user folder is not known, so a short folder at the root of drive C: is used"
ENV_WHY_NOT_ASCII = ("{usual} contains characters other than plain letters, which some Python tools on Windows "
                     "mishandle, so a short folder with plain letters is used")
ENV_WHY_TOO_LONG = ("Windows limits paths to 260 characters and long paths are off here: {usual} ({length} "
                    "characters) leaves too little room for torch's files (at most {room}), so a shorter folder "
                    "is used. Enabling long paths lets the usual folder work")
ENV_PATH_TOO_LONG = ("this folder's path is {length} characters long: torch's files would reach {longest} of "
                     "the {limit} characters Windows allows while long paths are off. Choose a folder of at "
                     "most {room} characters (e.g. C:\\torch-envs\\cu126), or enable long paths")
ENV_PATH_IS_FILE = "{blocking} is a file, so the environment {prefix} cannot be made there"
ENV_PATH_IS_FILE_HINT = "choose a folder that does not exist yet (or an empty one) for the new environment"
ENV_PATH_TOO_LONG_HINT = ("choose a folder of at most {room} characters, or enable long paths as administrator: "
                          "{command}")
ACTION_ENABLE_LONG_PATHS = ("Optional: enable Windows long paths (administrator rights) so environments may "
                            "live in longer folders: {command}")

# --------------------------------------------------------------------------- planner: why not the recommended one

WHY_NOT_WORKS_NOW = "works as the machine is now, but {build} is newer; it needs: {actions}"
WHY_NOT_OTHER_CUDA = ("the same PyTorch release with CUDA {cuda}; needs driver {min_driver} or newer, and the "
                      "current driver already runs {build}")
WHY_NOT_NO_COMPANIONS = "newer, but no {names} has been published for torch {torch} yet"
WHY_NOT_OTHER_GPUS = "runs on {gpus} but not on {chosen}; use it in a separate environment for those GPUs"
WHY_NOT_CPU = "runs on the CPU only: training is many times slower"

# --------------------------------------------------------------------------- planner: explanation

EXPLAIN_GPU_NOT_USED = "{name}: not used: {reason}."
EXPLAIN_CUDA_GPU = "{name}: {architecture}, compute capability {cc}."
EXPLAIN_CUDA_GPU_INFERRED = ("{name}: {architecture}, compute capability {cc} (inferred from its name; no driver "
                             "reported it).")
EXPLAIN_DRIVER = "NVIDIA driver {version} supports CUDA up to {cuda}."
EXPLAIN_NO_DRIVER = "No NVIDIA driver is installed, so the GPU cannot be used until one is."
EXPLAIN_ARCH_LIST = "torch {torch}+{variant} carries GPU code for {archs}."
EXPLAIN_COMPAT = ("CUDA {cuda} runs on this driver through NVIDIA's minor-version compatibility "
                  "(same CUDA major).")
EXPLAIN_ROCM = "{name}: AMD {gfx}; ROCm builds are chosen by gfx architecture."
EXPLAIN_XPU = "{names}: a discrete Intel GPU gets the XPU build."
EXPLAIN_XPU_GPU = "{name}: Intel {family}; PyTorch's XPU build supports it."
EXPLAIN_CUDA_GPU_BY_ID = ("{name}: {architecture}, compute capability {cc} (inferred from its PCI id; no driver "
                          "reported it).")
EXPLAIN_JETSON_THOR = ("{name}: Jetson Thor runs JetPack 7's server-Arm (SBSA) CUDA stack, so PyTorch's own aarch64 "
                       "CUDA 13 builds, which carry sm_110, run on it.")
EXPLAIN_MPS = "Apple silicon: the default macOS build uses the GPU through Metal (MPS)."
EXPLAIN_CPU_LINUX = ("No usable GPU: the CPU build from PyTorch's CPU index (PyPI's Linux wheel would pull "
                     "gigabytes of CUDA libraries for nothing).")
EXPLAIN_CPU = "No usable GPU: the CPU build."
EXPLAIN_WINDOWS_CUDA = "Windows: PyPI's torch wheel is CPU-only, so the CUDA build comes from PyTorch's own index."
EXPLAIN_INTEL_MAC = "Intel Macs: PyTorch published its last macOS x86_64 wheels with 2.2."
EXPLAIN_NEWEST_FIT = "torch {torch} is the newest release that fits; {reasons}."
EXPLAIN_NEWEST_FIT_NO_REASON = "torch {torch} is the newest release that fits; newer releases do not fit."
NEWER_NO_PYTHON = "{torch} has no wheels for Python {python}"
NEWER_NO_COMPANIONS = "{torch} has no published {names} yet"
NEWER_GLIBC = "{torch} needs glibc {need} (this system has {have})"
NEWER_NO_ARCH = "{torch} has no build with this GPU's architecture"
NEWER_NO_DEVICE = "{torch} has no {device} build here"
EXPLAIN_DROPPED_GPUS = "No single build runs on both {chosen} and {dropped}; the plan serves {chosen}."
EXPLAIN_PYTHON_PROBLEM = "Python: {problem}; a 64-bit CPython {python} is needed."
EXPLAIN_FALLBACK_CPU = "No {device} build runs on {gpus}; falling back to the CPU build."
EXPLAIN_ASKED_CPU = "You asked for the CPU build."
EXPLAIN_DRIVER_STATUS = "NVIDIA driver: {message}"
EXPLAIN_DISK = "Disk: {free} GiB free, about {need} GiB needed."
EXPLAIN_ALREADY_INSTALLED = "torch {version} is already installed in the target environment."
EXPLAIN_RECOMMENDED = "Recommended: {build}."
EXPLAIN_RECOMMENDED_AFTER = "Recommended: {build}, after: {actions}."
UNSUPPORTED_PROBLEM = "No PyTorch build fits: {problem}."
UNSUPPORTED_GLIBC = "No PyTorch build fits: glibc {glibc} is older than any release needs (2.17)."
UNSUPPORTED_MACHINE = "No PyTorch build fits this machine ({platform}, Python {python})."

# --------------------------------------------------------------------------- planner: warnings

WARN_DRIVER_STATUS = "NVIDIA driver: {words}"
WARN_ARCH_INFERRED = ("The GPU's architecture was inferred from its name because no driver reported it; "
                      "the plan is confirmed once the driver is installed.")
WARN_PLAN_INFERRED = ("Part of what the plan relies on for {build} is inferred, not verified; the index is "
                      "checked for every wheel before anything is downloaded.")
WARN_PTX_JIT = ("The driver supports CUDA {driver_cuda} and the build uses CUDA {cuda}: it runs through "
                "minor-version compatibility, but code that JIT-compiles PTX may fail until the driver is "
                "updated.")
WARN_WSL = "WSL: the GPU driver is the Windows one; never install a Linux NVIDIA driver inside WSL."
WARN_PEP668 = ("Python {version} is managed by the operating system (PEP 668): the wizard installs into a new "
               "virtual environment and leaves the system Python untouched.")
WARN_MICROSOFT_STORE = ("Python from the Microsoft Store runs in a sandbox with redirected folders; a python.org "
                        "Python avoids path problems.")
WARN_USER_SITE = ("A torch {version} in your user site-packages would shadow the environment's; the wizard "
                  "runs Python with user site disabled.")
WARN_REPLACE_TORCH = ("The target environment already has torch {installed}: it will be replaced by {target} "
                      "(you are asked first).")
WARN_REPLACE_CPU_TORCH = ("The target environment already has a CPU-only torch {installed}: it will be replaced "
                          "by {target} (you are asked first).")
WARN_SECURE_BOOT = ("Secure Boot is on: the NVIDIA kernel module must be signed. Distribution packages do this; "
                    "you will be asked to enroll a key (MOK) at the next boot.")
WARN_LAST_BUILD = ("{names} ({architectures}): torch {torch} with CUDA {cuda} is the last PyTorch build for this GPU "
                   "generation; torch {next} and later carry no code for it.")
WARN_LAST_DRIVER_BRANCH = "NVIDIA's {branch} is its last driver branch."
WARN_PYTHON_EXPERIMENTAL = ("torch {torch} supports Python {python} only experimentally (PyTorch's release notes); "
                            "an older Python is the safer choice for this release.")
#: In a driver action's words (planner._driver_actions), for GPUs NVIDIA no longer develops drivers for.
DRIVER_BRANCH_LAST = "Choose the {branch} branch: it is the last one that supports {architectures} GPUs."
WARN_ARCH_INFERRED_BY_ID = ("The GPU's architecture was inferred from its PCI id because no driver reported it; "
                            "the plan is confirmed once the driver is installed.")
WARN_GPU_NOT_SERVED = "{name} ({architecture}) is not used: {build} has no code for it."
WARN_GPU_SEPARATE_ENV = ("To use it, install {other} (listed under the alternatives) in a separate environment and "
                         "run programs there with CUDA_DEVICE_ORDER=PCI_BUS_ID and "
                         "CUDA_VISIBLE_DEVICES={other_devices}; in this environment, the same order with "
                         "CUDA_VISIBLE_DEVICES={served_devices} keeps PyTorch on the GPUs its build serves.")
WARN_GPU_NOT_USED = "{name} is not used: {reason}."
WARN_PCI_ID_UNKNOWN = ("{name}: the wizard's GPU catalog does not know the architecture of PCI id {pci_id}, and the "
                       "name does not tell it; install the driver so it reports it, or choose a build with --variant.")
WARN_PCI_ID_UNKNOWN_NAMED = ("{name}: the wizard's GPU catalog does not know the architecture of PCI id {pci_id}; "
                             "it was taken from the name and is confirmed once the driver reports it.")
WARN_XPU_DRIVER = ("{names}: the XPU build needs Intel's GPU driver first: on Windows the Intel Arc & Iris Xe "
                   "graphics driver, on Linux the client GPU packages that Intel's 'PyTorch Prerequisites for Intel "
                   "GPUs' page lists.")
WARN_XPU_LINUX_VALIDATED = ("{name}: PyTorch's Intel GPU guide validates it on Linux from {distro} on; an older "
                            "distribution's kernel may not drive it yet.")
WARN_JETSON = ("{name}: the wizard does not install GPU PyTorch on this Jetson. PyTorch's own aarch64 CUDA builds are "
               "made for server Arm (Grace) and do not run on Jetson Linux (L4T). Install NVIDIA's PyTorch for your "
               "JetPack version instead: NVIDIA's guide 'Installing PyTorch for Jetson Platform' "
               "(https://docs.nvidia.com/deeplearning/frameworks/install-pytorch-jetson-platform/) or the l4t-pytorch "
               "container; the CPU build planned here runs meanwhile.")
WARN_AMD_WINDOWS_RDNA = ("{name} ({family}): PyTorch's own ROCm builds are for Linux only. Two routes the wizard does "
                         "not install: AMD publishes its own PyTorch wheels with ROCm for Windows for RDNA3 and RDNA4 "
                         "GPUs (see AMD's ROCm documentation; still a preview), and Microsoft's torch-directml runs an "
                         "older PyTorch on any DirectX 12 GPU, slower and with fewer operators.")
WARN_AMD_WINDOWS_OTHER = ("{name}: PyTorch's own ROCm builds are for Linux only, and AMD's PyTorch wheels for Windows "
                          "support RDNA3 and RDNA4 GPUs only. Microsoft's torch-directml runs an older PyTorch on any "
                          "DirectX 12 GPU, slower and with fewer operators; the wizard does not install it.")
WARN_HSA_OVERRIDE = ("{name} ({gfx}) is in no ROCm build's list. Unsupported by AMD and at your own risk: with "
                     "HSA_OVERRIDE_GFX_VERSION={version} set before Python starts, ROCm treats it as {target}, and "
                     "torch {torch}+{variant} may then run on it. The wizard plans without it and does not set it.")

# --------------------------------------------------------------------------- planner: GPU verdicts

VERDICT_CPU_CHOSEN = "You chose the CPU build."
VERDICT_NO_GPU_CODE = "{build} has no GPU code for it ({architecture}); see the alternatives."
VERDICT_OTHER_VENDOR = ("The build serves the {device} GPUs on this machine; one PyTorch build cannot drive two "
                        "GPU vendors.")
VERDICT_NO_CC = "{build} has no code for compute capability {cc}."
VERDICT_RUNS = "{architecture} ({code}): runs {build} {how}."
VERDICT_RUNS_INFERRED = "{architecture} ({code}) (architecture inferred from the name): runs {build} {how}."
HOW_NATIVE = "natively"
HOW_PTX = "through PTX just-in-time compilation"
HOW_NATIVE_PENDING = "natively once the driver is installed"
HOW_PTX_PENDING = "through PTX just-in-time compilation once the driver is installed"
VERDICT_ROCM = "{gfx} is in the {variant} build's architecture list."
VERDICT_XPU = "discrete Intel GPU: runs the XPU build."
VERDICT_XPU_FAMILY = "Intel {family}: runs the XPU build."
VERDICT_MPS = "Apple GPU: used through Metal (MPS)."
VERDICT_NOT_USED = "not used by the chosen build."

# --------------------------------------------------------------------------- planner: the user's choices

CHOICE_UNKNOWN_TORCH = "torch {torch} is not a release the wizard knows"
CHOICE_UNKNOWN_TORCH_HINT = "known releases: {known}; 'torch-gpu-setup data refresh' reads newer ones"
CHOICE_UNKNOWN_VARIANT = "variant '{variant}' has no builds for {platform}"
CHOICE_UNKNOWN_VARIANT_HINT = "choose one of: {known}"

# --------------------------------------------------------------------------- NVIDIA installers

MODULES_CONFLICT = ("{new} needs the open kernel modules, which do not support {old} (pre-Turing): that GPU will "
                    "not be usable with this driver.")
MODULES_PROPRIETARY = ("{old} is older than Turing: it needs the proprietary kernel modules and the R{branch} "
                       "branch, the last one that supports it.")
MODULES_OPEN = "The open kernel modules are NVIDIA's default since R560 and required for Blackwell GPUs."
# docs/SOURCES.md nvidia §4.3 (nouveau) and §4.4 (MOK) are the sources of the next notes.
NOUVEAU_REPLACED = ("nouveau (the open-source driver) is replaced: the NVIDIA packages blacklist it themselves; "
                    "the switch happens at the next restart.")
SECURE_BOOT_SIGNING = ("Secure Boot is on: the NVIDIA kernel module must be signed by a key the firmware trusts. "
                       "The wizard cannot enroll a key itself: after the install you will be asked at the next "
                       "boot (a blue MokManager screen) to enroll it with the one-time password you chose.")
STEP_DRIVER_MANUAL = "Install the NVIDIA driver"
STEP_PYTHON = "Install Python {version} (64-bit)"
STEP_LONG_PATHS = "Enable long paths in Windows (optional, administrator rights)"
PYTHON_NOTE_WINDOWS_INSTALLER = ("Or the python.org installer for this user only, silently: "
                                 "python-{version}.x-amd64.exe /quiet InstallAllUsers=0 PrependPath=1")
PYTHON_NOTE_INSTALL_MANAGER = "Or the Python install manager: py install {version}"
PYTHON_NOTE_LINUX = ("Install it with your distribution's package manager (e.g. sudo apt install python{version} "
                     "python{version}-venv), or per user with uv: uv python install {version}")
PYTHON_NOTE_MACOS = "Install it from python.org, or with Homebrew: brew install python@{version}"
DISTRO_UNKNOWN = ("{distro} is not one the wizard has commands for: install the NVIDIA driver with your "
                  "distribution's package manager, or NVIDIA's CUDA repository ('nvidia-open' / 'cuda-drivers'). "
                  "The NVIDIA .run installer is an expert fallback: it bypasses the package manager and breaks on "
                  "kernel updates.")
THIS_DISTRIBUTION = "This distribution"
NO_PACKAGED_DRIVER = "No packaged driver for this GPU here."
DISTRO_UNVERIFIED = ("These commands have not yet been tried on a real {distro} system by this project: compare "
                     "them with your distribution's NVIDIA guide before running them.")
STEP_DRIVER_LINUX_OPEN = "Install the NVIDIA driver (open kernel modules) on {distro}"
STEP_DRIVER_LINUX_PROPRIETARY = "Install the NVIDIA driver (proprietary kernel modules) on {distro}"
WINDOWS_PFID_UNKNOWN = ("The wizard does not know NVIDIA's product id for {gpus}: pass --pfid (see "
                        "ZenitH-AT/nvidia-data gpu-data.json) or download the driver from {page}.")
THIS_GPU = "this GPU"
WINDOWS_SILENT_INSTALL = ("The installer runs silently with administrator rights after you confirm (a UAC prompt); "
                          "restart afterwards. NVIDIA publishes no checksum for it: the download is checked for "
                          "completeness and comes only from NVIDIA's servers over HTTPS.")
STEP_DRIVER_WINDOWS = "Install the newest NVIDIA driver for Windows"
STEP_DRIVER_WSL = "Update the NVIDIA driver on the Windows side"
WSL_DRIVER_IS_WINDOWS = ("WSL uses the Windows NVIDIA driver, mapped into Linux under /usr/lib/wsl/lib. Do not "
                         "install a Linux NVIDIA driver inside WSL: it would break GPU access.")
WSL_DRIVER_HOW = ("On Windows: open {page} (or the NVIDIA app), install the newest driver for your GPU, then run "
                  "'wsl --shutdown' and start WSL again.")
TOOLKIT_WHY = ("Only for compiling CUDA extensions against torch +{variant}: the toolkit must match its CUDA {cuda}. "
               "Running PyTorch does not need it.")
STEP_TOOLKIT = "CUDA toolkit {version}"
TOOLKIT_NO_INSTALLER = "The wizard's data has no installer for CUDA {cuda}; pick it in NVIDIA's archive."
STEP_TOOLKIT_OPTIONAL = "CUDA toolkit {version} (optional)"
TOOLKIT_PREFER_REDIST = ("Preferred: the redistributable archives (sha256-verified, no administrator rights, no "
                         "driver): 'installers --toolkit --fetch DIR' downloads them.")
TOOLKIT_FULL_INSTALLER = ("Full installer: {installer} (run with {args}; toolkit only, never its bundled "
                          "driver).")
STEP_CUDNN = "cuDNN {version} for CUDA {major} (optional)"
CUDNN_WHY = "Only for extensions that call cuDNN directly; the PyTorch wheels bring their own cuDNN."
STEP_CUDNN_UNKNOWN = "cuDNN for CUDA {major} (optional)"
CUDNN_WHY_SHORT = "Only for extensions that call cuDNN directly."
CUDNN_NO_RELEASE = "The wizard's data names no cuDNN release for CUDA {major}; the listing at {url} has the manifests."
INSTALLERS_NO_BUILD = "The plan has no build (status: {status}); nothing to install."
STEP_REBOOT = "Restart the computer"
REBOOT_MOK = ("Secure Boot: if a blue 'Perform MOK management' screen appears, choose 'Enroll MOK', then "
              "'Continue', and type the one-time password you set.")
TOOLKIT_NOT_NEEDED = ("You do not need the CUDA toolkit or cuDNN: torch +{variant} brings its own CUDA runtime and "
                      "cuDNN. Only to compile CUDA extensions: add --toolkit.")
DRIVER_ALREADY_FITS = "The NVIDIA driver already fits this build: no driver install is needed."
NOTHING_FROM_NVIDIA = "The recommended build uses the {device}: nothing from NVIDIA is needed."
STEP_CANCELLED = "cancelled: {command}"
STEP_CANCELLED_HINT = "run the remaining commands yourself"
STEP_FAILED = "'{command}' failed (exit code {code})"
STEP_FAILED_NO_PASSWORD = "the administrator password was not given"
ELEVATOR_UNTRUSTED = ("{tool} was not found in a folder on PATH that can be trusted: one in the current folder, "
                      "or reached through an empty or relative PATH entry, is never run")
ELEVATOR_UNTRUSTED_HINT = "install {tool}, or run the listed commands yourself as administrator"
STEP_FAILED_HINT = "read the output above; nothing after this command was run"
ELEVATION_DECLINED = ("Windows asked for administrator permission and it was declined, so the installer did not "
                      "run and nothing was changed.")
ELEVATION_DECLINED_HINT = ("run it again and choose Yes when Windows asks, or ask someone with an administrator "
                           "account on this computer to run it")
REBOOT_AFTER_DRIVER_WINDOWS = ("Restart the computer after the driver install so Windows uses the new driver "
                               "(the silent install does not restart by itself).")

# --------------------------------------------------------------------------- pip failures

PIP_BROKEN_DOWNLOAD = "the download broke off after {received}: the connection was closed early"
PIP_RECEIVED_BYTES = "{done} of {total} bytes"
PIP_RETRY_HINT = "check the internet connection (and proxy settings) and try again"
PIP_EXTERNALLY_MANAGED = "this Python is managed by the operating system (PEP 668); pip may not change it"
PIP_EXTERNALLY_MANAGED_HINT = "install into a virtual environment instead: torch-gpu-setup install --new-venv DIR"
PIP_HASH_MISMATCH = "a downloaded file does not match its published sha256 hash"
PIP_HASH_MISMATCH_HINT = ("the file was damaged or altered on the way (proxy, mirror, antivirus): delete the "
                          "wheelhouse copy and try again, or use another network")
PIP_DISK_FULL = "the disk is full"
# Says nothing of the build: the same words fit a CPU install (issue 15 #10).
PIP_DISK_FULL_HINT = ("pip needs room to unpack torch and its libraries: free disk space or choose an "
                      "environment on another drive, then try again")
PIP_TLS = "the secure connection to the package index failed (TLS certificate not trusted)"
PIP_TLS_HINT = ("a company proxy may inspect TLS: set pip's 'cert' (PIP_CERT or pip.conf) to your organisation's "
                "CA bundle, or ask IT for it")
PIP_PROXY = "the proxy refused or could not forward the connection"
PIP_PROXY_HINT = "check the proxy address and credentials (HTTPS_PROXY, or 'proxy' in pip.conf)"
PIP_NETWORK = "the package index could not be reached, or the connection broke during a download"
PIP_NETWORK_HINT = ("check the internet connection (and proxy settings) and try again; a download that broke off "
                    "is retried from the start")
PIP_PERMISSION = "pip may not write to this environment (permission denied)"
PIP_PERMISSION_HINT = ("choose an environment you own (torch-gpu-setup install --new-venv DIR), or close programs "
                       "that use it (on Windows a running Python keeps torch's DLLs locked)")
PIP_CONFLICT = "the requested packages conflict with each other or with a constraint"
PIP_CONFLICT_HINT = ("a constraints file (PIP_CONSTRAINT, 'constraint' in pip.conf, or "
                     "torch-gpu-setup-constraints.txt in the environment) may pin another torch: remove it or "
                     "choose a matching version")
PIP_NO_MATCH = "no wheel of the requested version exists for this Python and platform on the index"
PIP_NO_MATCH_FOR = "no wheel for {requirement} on the index for this Python and platform"
PIP_NO_MATCH_HINT = ("check the torch version, the variant and the Python version (torch has no wheels for very "
                     "new or very old Pythons); run `torch-gpu-setup plan` to see what is available")
PIP_FAILED = "pip failed (exit code {code})"
PIP_SAID = "pip stopped with this error: {error}"
PIP_INVALID_WHEEL = "a downloaded package file is damaged (it is not a valid wheel)"
PIP_INVALID_WHEEL_HINT = ("the server or a proxy sent a broken file (it was deleted): try again, or choose "
                          "another mirror")
PIP_UNKNOWN_HINT = "see the details below, or run pip yourself with -v"

# --------------------------------------------------------------------------- detection: the NVIDIA driver's state
# (wizard/core/detect: DriverStatus message and hint; docs/SOURCES.md nvidia §1.4, §4.3, §4.4 are the sources)

DRV_OK = "NVIDIA driver {version} is working."
DRV_OK_CUDA = "NVIDIA driver {version} is working (supports CUDA up to {cuda})."
DRV_RESTART_HINT = "Restart the computer."
DRV_REINSTALL_HINT = "Restart the computer; if the error stays, reinstall the NVIDIA driver."
DRV_MISMATCH = "The NVIDIA driver was updated but the old version is still running."
DRV_MISMATCH_HINT = "Restart the computer to finish the driver update."
DRV_NOT_LOADED = "The NVIDIA driver is installed but not loaded."
DRV_NOT_LOADED_HINT = ("Restart the computer; if that does not help, Secure Boot may have rejected the driver "
                       "or the open-source nouveau driver may be using the card.")
DRV_NOUVEAU = ("The NVIDIA driver is installed but not loaded: the open-source nouveau driver is using "
               "the card.")
DRV_NOUVEAU_HINT = "Disable nouveau (blacklist it and rebuild the initramfs), then restart the computer."
DRV_SECURE_BOOT = ("The NVIDIA driver is installed but not loaded: Secure Boot is on and probably refused "
                   "the driver's unsigned kernel module.")
DRV_SECURE_BOOT_HINT = ("Enroll the driver's signing key (mokutil --import, then 'Enroll MOK' at the next boot) "
                        "or use your distribution's signed driver packages, then restart.")
DRV_RESTART_PENDING = "The NVIDIA driver is installed but not loaded: a restart is probably pending after the install."
DRV_NO_PERMISSION = "This program is not allowed to talk to the NVIDIA driver."
DRV_NO_PERMISSION_HINT = "Run it as a user with access to the GPU devices."
DRV_NO_PERMISSION_NVML_HINT = ("Run it as a user with access to the GPU (on Linux: the video/render group, or "
                               "outside the container or sandbox).")
DRV_OS_BLOCKED = "The operating system blocked access to the GPU (container or sandbox limits)."
DRV_OS_BLOCKED_HINT = "Run the wizard outside the container or sandbox, or give it access to the GPU devices."
DRV_GPU_LOST = "A GPU stopped responding (it has fallen off the bus)."
DRV_GPU_LOST_HINT = "Shut the computer down, check the card's seating and power cables, then start it again."
DRV_NO_POWER = "A GPU reports that its external power cables are not properly attached."
DRV_NO_POWER_HINT = "Shut down and connect the PCIe power cables to the card."
DRV_RESET_REQUIRED = "A GPU needs a reset before it can be used."
DRV_NO_LIBRARY = "No NVIDIA driver is installed (the NVML library was not found)."
DRV_NO_LIBRARY_HINT = "Install the NVIDIA driver for your graphics card."
DRV_NVML_ERROR = "The NVIDIA driver answered with an error: {error}."
DRV_BINDING_BROKEN = "The NVML Python binding (nvidia-ml-py) could not be imported: {error}."
DRV_BINDING_BROKEN_HINT = "Reinstall torch-gpu-setup."
DRV_TIMEOUT = "The NVIDIA driver did not answer within {seconds} seconds."
DRV_TIMEOUT_HINT = "A GPU may be hung or lost: restart the computer."
DRV_SMI_FAILED = "nvidia-smi failed: {reason}."
DRV_SMI_GARBLED = "nvidia-smi ran but its output could not be understood."
DRV_SMI_GARBLED_HINT = "Restart the computer; if this stays, reinstall the NVIDIA driver."
DRV_UNFINISHED = "The NVIDIA driver check did not finish."
DRV_MACOS = "macOS has no NVIDIA driver; PyTorch uses Apple's GPU (MPS)."
DRV_WSL_NONE = "WSL sees no NVIDIA driver."
DRV_WSL_NONE_HINT = ("Install or update the NVIDIA driver on Windows (never a Linux driver inside WSL), "
                     "then restart WSL with 'wsl --shutdown'.")
DRV_NONE_NO_GPU = "No NVIDIA driver is installed, and no NVIDIA GPU was found."
DRV_NONE_NO_GPU_HINT = "No NVIDIA driver is needed on this machine."
DRV_NONE_WITH_GPU = "An NVIDIA GPU is present but no NVIDIA driver is installed."
DRV_NONE_WITH_GPU_HINT = "Install the NVIDIA driver for this card."

# --------------------------------------------------------------------------- detection: notes

NOTE_GAVE_UP = "Gave up waiting for {what}."
NOTE_COULD_NOT_DETECT = "Could not detect {what}: {error}."
#: What a detection source looks for, as the {what} of the two notes above.
DETECT_WHAT = {
    "pythons": "the Python interpreters",
    "nvidia": "the NVIDIA driver",
    "pci": "the PCI devices",
    "adapters": "the display adapters",
    "disk": "free disk space",
}
NOTE_NVML_FELL_BACK = "NVML failed ({message}); the facts come from nvidia-smi."
NOTE_KERNEL_MODULE = "The loaded NVIDIA kernel module is version {version}."
NOTE_ARCH_GUESS = ("{name}: no driver reports its compute capability; from {basis} it is probably "
                   "{architecture} (compute capability {cc}).")
#: What the GPU catalog recognised a card by (gpu_catalog.NvidiaGuess.basis), as {basis} above.
GUESS_BASIS = {
    "name": "its name",
    "chip code": "its chip code",
    "PCI device id": "its PCI device id",
}
NOTE_CHIP_NAME = "Could not read the chip name: {reason}."
NOTE_JETSON = "{model}: a Jetson module, Jetson Linux (L4T) release {l4t}."
NOTE_WINDOWS_DRIVER = "Windows lists NVIDIA driver {version} for {adapter}."
NOTE_DISK_UNKNOWN = "Free space for the {label} folder ({path}) is unknown: {error}."
NOTE_NVML_NO_CUDA = "NVML could not say which CUDA version the driver supports ({error})."
NOTE_NVML_GPU_UNREADABLE = "GPU {index} could not be read through NVML ({error})."
NOTE_SMI_OUTPUT = "nvidia-smi output: {problem}"
NOTE_PYTHON_UNUSABLE = "Python at {path} is not usable: {reason}."
NOTE_PYTHON_OWN_ENV = "Skipped the wizard's own environment ({path})."
NOTE_PYTHON_NONE = "No usable 64-bit CPython was found; a Python must be installed first."
NOTE_OS_UNKNOWN = "Unrecognised operating system '{system}'; treated as Linux."
NOTE_NO_OS_RELEASE = "No /etc/os-release: the Linux distribution is unknown."
NOTE_NO_ADAPTERS = "Could not list display adapters: {reason}."
NOTE_ADAPTERS_UNREADABLE = "Could not read the display adapter list from PowerShell ({error})."

# --------------------------------------------------------------------------- the install flow (install/flow.py)

FLOW_PREPARE = "Checking the environment"
FLOW_DOWNLOAD = "Downloading the packages"
FLOW_CHECK_FOLDER = "Checking the wheels in {folder}"
FLOW_CHECK_SOURCE = "Looking up {requirements} at {source}"
FLOW_DOWNLOADING = "Downloading {count} file(s), {size}"
FLOW_CREATE_VENV = "Creating the environment {prefix}"
FLOW_PROVIDE_PIP = "Putting pip {version} into the new environment"
FLOW_RESOLVE = "pip chooses the other packages while the big ones are unpacked"
FLOW_UNPACK = "Unpacking {count} packages ({size}) with {workers} threads"
FLOW_COMPILE = "Compiling bytecode with {workers} processes"
FLOW_FAST_FALLBACK = "The fast installer cannot install these files ({why}); pip installs them"
FLOW_SNAPSHOT = "Recording a snapshot of the environment"
FLOW_PIP = "Installing {requirements} with pip"
FLOW_PINS = "Pinning the installed build"
FLOW_VERIFY = "Verifying: running the demo in the new environment"
FLOW_INSTALLED = "PyTorch is installed in {prefix}."
FLOW_ROLLBACK = "Rolling back the last install of {python}"
FLOW_UNDO = "Putting the environment back as it was"
FLOW_UNDONE_REMOVED = "The new environment {prefix} was removed."
FLOW_UNDONE_REMOVED_KEPT = ("The new environment {prefix} was removed; {count} files you had added to it "
                            "were moved to {kept}.")
PIP_PROVIDE_FAILED = "pip could not be put into the new environment {prefix} ({error})"
PIP_PROVIDE_FAILED_HINT = ("on Debian/Ubuntu install the venv module (sudo apt install python3-venv); elsewhere "
                           "check that this Python includes ensurepip, then try again")
FLOW_HALF_MADE_REMADE = ("{prefix} was left half-made by an earlier install that was stopped; it is made again "
                         "from scratch")
FLOW_HALF_MADE_REMADE_KEPT = ("{prefix} was left half-made by an earlier install that was stopped; it is made again "
                              "from scratch, and {count} files you had added to it were moved to {kept}")
FLOW_HALF_MADE = ("{prefix} was created by an earlier install that did not finish: if this one fails too, or "
                  "is rolled back, the environment is removed")
FLOW_UNDONE_RESTORED = "The environment was put back: {what}."
FLOW_NOTHING_CHANGED = "Nothing was changed."
FLOW_ROLLBACK_FAILED = ("Putting the environment back failed: {error}. Run torch-gpu-setup rollback --python "
                        "{python}.")
FLOW_CANCELLED = "The installation was cancelled."
FLOW_FAILED_HINT = "{hint}. {undone}"
FLOW_DOWNLOAD_CANCELLED_HINT = ("Nothing was changed; what was downloaded is kept, and the next try resumes "
                                "where this one stopped.")
FLOW_TIMED_OUT = "The installation did not finish in time."
FLOW_NEEDS_CONSENT = "{prefix} already has {what}"
FLOW_NEEDS_CONSENT_HINT = ("Replacing them needs your consent (--yes, or the box on the Environment page); the "
                           "environment is snapshotted first and can be rolled back.")
FLOW_PARENT_NOT_WRITABLE = ("The folder for the new environment {prefix} cannot be made: {parent} is not a folder "
                            "you may write to.")
FLOW_PARENT_NOT_WRITABLE_HINT = "Choose a folder in your home directory, or one you may write to."
FLOW_FOLDER_MISSING = "{folder} has no wheel of {requirement} for Python {python}."
FLOW_FOLDER_MISSING_HINT = ("Put the wheel for this Python there (torch-gpu-setup fetch can download it), or "
                            "choose another source.")
#: What pip is doing now, from its output lines (pip_runner.read_line).
PIP_STEPS = {
    "collecting": "pip: collecting {name}",
    "downloading": "pip: downloading {name}",
    "installing": "pip: installing {name}",
}

# --------------------------------------------------------------------------- verification figures (verify/facts.py)

FACT_IMPORT = "torch {torch} (CUDA {cuda}, cuDNN {cudnn}) imported in {seconds} s"
FACT_DEVICE = "{name}: compute capability {cc}, {memory} of memory"
FACT_LINEAR = ("learned w = {w}, b = {b} (the true line: w = {true_w}, b = {true_b}); loss {first} → {final}, "
               "on {device}")
FACT_TRAINING = "loss {first} → {final} in {steps} steps, {rate} steps/s on {device}"
FACT_TRAINING_SPEEDUP = "{rate}x the speed of the processor"
FACT_THROUGHPUT = "matrix multiply {fp32} TFLOP/s (fp32), {tf32} (tf32), {bf16} (bf16); memory copy {copy} GB/s"
FACT_PEAK = "{value}% of the datasheet peak ({what})"
FACT_MEMORY = ("{total} GiB in all, {free} GiB free; the largest block in one piece: {largest} GiB; "
               "empty_cache() gave back {freed} GiB")
FACT_MEMORY_MEANS = ("Enough for a model of about {inference} billion parameters in bf16, or to fine-tune one "
                     "of about {lora} billion with LoRA (estimates).")
FACT_MULTI_GPU = "{count} GPU(s) compute correctly; all_reduce: {all_reduce}"
NOT_AVAILABLE = "n/a"

# --------------------------------------------------------------------------- network failures (fetch/net.py)

NET_TLS = "TLS interception: the certificate presented for {host}{who} is not trusted by this computer"
NET_TLS_ISSUER = " issued by '{issuer}'"
NET_TLS_HINT = ("a firewall or proxy is probably inspecting HTTPS; ask IT for its root certificate and install it "
                "in the system store, or point PIP_CERT at it (verification stays on)")
NET_PROXY = "the proxy {proxy} could not be used to reach {host}"
NET_PROXY_REFUSED = "the proxy {proxy} could not be used to reach {host}: connection refused"
NET_PROXY_FROM_ENV = "(from the environment)"
NET_PROXY_HINT = "check the proxy address and port (HTTPS_PROXY / HTTP_PROXY or the wizard's proxy setting)"
NET_DNS = "DNS failure: the name {host} could not be resolved"
NET_DNS_HINT = "check the internet connection, the spelling of the index URL, or the DNS / proxy settings"
NET_REFUSED = "connection refused by {host}: nothing is listening at {url}"
NET_REFUSED_HINT = "check the host and port of the index URL; a firewall may be rejecting the connection"
NET_TIMEOUT = "timeout: {host} did not answer in time"
NET_TIMEOUT_HINT = "the link may be slow or stalled; try again, or choose a mirror closer to you"
NET_TLS_FAILED = "the secure connection to {host} failed"
NET_TRY_LATER = "try again later"
NET_LOST = "the connection to {host} was lost ({error})"
NET_LOST_HINT = "check the internet connection and try again; downloads resume where they stopped"
NET_PROXY_AUTH = "proxy authentication required (407): {proxy} refused the request"
NET_THE_PROXY = "the proxy"
NET_PROXY_AUTH_HINT = ("put the user name and password in the proxy URL (http://user:password@host:port) or ask IT; "
                       "they are never written to logs")
NET_NOT_FOUND = "{what}not found at the index (404): {url}"
NET_NOT_FOUND_HINT = "check the index URL and the variant; the release may not exist for this variant"
NET_FORBIDDEN = "{what}access denied ({status}) at {url}"
NET_FORBIDDEN_HINT = "the index or mirror refuses this request; try the official index or another mirror"
NET_SERVER = "server error ({status} {reason}) at {url}"
NET_SERVER_HINT = "the index is having trouble; try again in a few minutes or use a mirror"
NET_HTTP = "{what}HTTP {status} {reason} at {url}"
#: What was asked for, in the sentences above ("{what}"): a file name stays as it is.
NET_TOO_SLOW = "{what}came too slowly from {host}: {received} in {seconds} s, and it is not finished"
NET_TOO_SLOW_HINT = "the server or a proxy is trickling data; try again later, or choose a mirror closer to you"
NET_TOO_BIG = "{what}from {host} is larger than {limit}; it was not read"
NET_TOO_BIG_HINT = "this is not a package index page; check the index URL"
NET_WHAT_INDEX_PAGE = "index page "
NET_WHAT_PACKAGE_INDEX = "the package index "
NET_WHAT_METADATA = "metadata of {file} "
NET_WHAT_WHEEL = "wheel "
NET_WHAT_DRIVER_LOOKUP = "the NVIDIA driver lookup "

# --------------------------------------------------------------------------- verification (verify_script.py)

#: Every sentence the verification script writes with W(...): it runs in the target environment without
#: the wizard, so it carries its own copies; tests/install/test_verify.py keeps the two lists equal.
VERIFY_TEXTS = (
    'torch is imported from {file}, outside this environment ({prefix}): another torch shadows it',
    ('uninstall the other torch (often in the user site: python -m pip uninstall torch outside the '
     'environment) or unset PYTHONPATH'),
    'this is a CPU-only build of torch ({torch})',
    'install a CUDA build: torch-gpu-setup plan shows the right one',
    'torch (built for {built_for}) sees no GPU',
    'check the GPU driver (nvidia-smi) and CUDA_VISIBLE_DEVICES',
    'no GPU: {reason}',
    'no GPU',
    'this torch build ({torch}) has no kernels for {gpus}; it lists {arch_list}',
    ('install a build whose arch list includes {needed} (for new GPUs a newer CUDA variant, e.g. cu128 or '
     'later for Blackwell): torch-gpu-setup plan names it'),
    'wrong results on the GPU: {checks}',
    'the build may not match the GPU or the driver is faulty: update the driver, then reinstall',
    'autocast gave wrong results',
    'update the GPU driver',
    'the model did not learn y = 3x + 2 (w={w}, b={b})',
    'the device computes wrong results: update the driver, reinstall torch',
    'the loss did not fall ({first} -> {last})',
    'no GPU: there is no GPU memory to measure',
    'no block of GPU memory could be allocated',
    'close programs that use the GPU',
    'wrong results on GPU {gpus}',
    'check that GPU (nvidia-smi -q) and its driver',
    'see the details; update the GPU driver and reinstall torch if it persists',
    'import torch failed: {error}',
    ('reinstall torch in this environment (torch-gpu-setup install); on Windows install the Microsoft '
     'Visual C++ Redistributable if a DLL failed to load'),
    'torch did not import',
    'see the import stage',
    'close other programs that use the GPU and run verify again',
)

# --------------------------------------------------------------------------- the doctor (core/doctor)
# Each finding's message and fix; README "Doctor" names the error text each code explains.

DOCTOR_NO_TORCH = "PyTorch is not installed in this environment."
DOCTOR_NO_TORCH_FIX = "Install {build} into this environment."
DOCTOR_BROKEN_IMPORT = "import torch fails because {cause}."
DOCTOR_BROKEN_IMPORT_UNKNOWN = "import torch fails: {error}"
DOCTOR_CAUSE_CUDNN = "the cuDNN library of this CUDA build is missing ({library})"
DOCTOR_CAUSE_CUDA_LIB = "a CUDA library of this build is missing ({library})"
DOCTOR_CAUSE_DLL = "a DLL failed to load (usually the Microsoft Visual C++ Redistributable is missing)"
DOCTOR_CAUSE_NUMPY = "NumPy is of another ABI than the one this torch was built for"
DOCTOR_CAUSE_SYMBOL = "torch's libraries do not match each other (a mixed or half-finished install)"
DOCTOR_NUMPY_WARNING = "torch imports, but NumPy is of another ABI than the one this torch was built for."
DOCTOR_FIX_REINSTALL = "Reinstall the build planned for this machine, {build}, into this environment."
DOCTOR_FIX_VCREDIST = ("Install the Microsoft Visual C++ Redistributable (x64), then reinstall {build} if "
                       "import torch still fails.")
DOCTOR_FIX_NUMPY = "Install a NumPy this torch was built for (pip install \"numpy<2\"), or reinstall {build}."
DOCTOR_CPU_BUILD = ("torch {version} is a CPU-only build, but this machine has {gpus}: "
                    "torch.cuda.is_available() is False.")
DOCTOR_FIX_GPU_BUILD = "Install {build}, which uses the GPU."
DOCTOR_ARCH_NOT_COMPILED = ("torch {version} has no code for {gpu} ({code}): it stops with \"no kernel image "
                            "is available for execution on the device\".")
DOCTOR_ARCH_NOT_COMPILED_ROCM = ("torch {version} has no code for {gpu} ({code}): it stops with \"HIP error: "
                                 "invalid device function\" or \"Unable to find code object for all current devices\".")
DOCTOR_FIX_ARCH = "Install {build}, which has code for {code}."
DOCTOR_FIX_ARCH_CPU = "No current PyTorch build has code for {code}: install {build}, which runs on the processor."
DOCTOR_DRIVER_TOO_OLD = ("torch {version} is built with CUDA {cuda}, which needs NVIDIA driver {min_driver} or "
                         "newer; this driver is {driver}.")
DOCTOR_FIX_BUILD_FOR_DRIVER = "Install {build}, which runs with this driver."
DOCTOR_NO_DRIVER = "torch {version} is a CUDA build, but no NVIDIA driver works on this machine: {status}"
DOCTOR_NO_DRIVER_STATUS = "no driver was found"
DOCTOR_WRONG_VENDOR = "torch {version} is a {kind} build, but this machine's GPU is {gpus}."
DOCTOR_FIX_VENDOR = "Install {build}, the build for this GPU."
DOCTOR_MISMATCHED = "{name} {have} was built for torch {wanted}, but torch {torch} is installed."
DOCTOR_MISMATCHED_IMPORT = "{name} does not load with this torch: {error}"
DOCTOR_FIX_COMPANIONS = "Reinstall torch and its companions together: {requirements}."
DOCTOR_SHADOWED = "Python imports torch from {origin}, not from the environment's package."
DOCTOR_SHADOWED_FIX = "Rename or remove {origin}: it hides the installed torch. Then run the doctor again."
DOCTOR_PYTHON_NO_WHEELS = "No PyTorch release publishes wheels for Python {version}."
DOCTOR_PYTHON_OLD = ("Python {version} gets no current PyTorch: the newest release with wheels for it is "
                     "torch {torch}.")
DOCTOR_PYTHON_NOT_64 = "PyTorch publishes wheels for 64-bit CPython only; this Python is {what}."
DOCTOR_FIX_PYTHON = "Install Python {python} and create the environment with it."
DOCTOR_PINNED = "torch-gpu-setup pinned this environment's build: {pins}."
DOCTOR_PINNED_FIX = ("A plain pip install cannot replace it; torch-gpu-setup install or doctor --fix releases "
                     "the pins while it works.")
DOCTOR_CUDA_UNAVAILABLE = "torch.cuda.is_available() is False although the build is for CUDA {cuda}: {why}"
DOCTOR_CUDA_UNAVAILABLE_WHY = "no reason was given"
DOCTOR_FIX_CHECK_DRIVER = "Check the driver with nvidia-smi, restart the computer, then run the doctor again."
DOCTOR_GPU_OP_FAILED = "A small operation on the GPU failed: {error}"
DOCTOR_HEALTHY = "No problem found: torch {version} fits this machine."
DOCTOR_GPU_PROBES_SKIPPED = ("The GPU was not tried: the machine is described by a profile, not present; the "
                             "diagnosis rests on the build's facts.")
DOCTOR_FIX_NONE = "No reinstall is needed."
DOCTOR_FIX_INSTALL = "Fix: install {build} into this environment."
DOCTOR_FIX_ACTIONS_FIRST = "Fix: {actions} first, then install {build} into this environment."
DOCTOR_FIX_ACTIONS_ONLY = "Fix: {actions}; the installed {build} then runs as it is."
DOCTOR_FIX_BLOCKED = "The fix needs {actions} first; do that, then run torch-gpu-setup doctor --fix again."
DOCTOR_CHECKING = "Looking at the PyTorch of {python}"
DOCTOR_NOT_AVAILABLE = "Not available in this torch: {what}."
DOCTOR_NOT_AN_ENVIRONMENT = "{path} is a folder but not a virtual or conda environment"
DOCTOR_NOT_AN_ENVIRONMENT_HINT = "give the environment's folder (it holds pyvenv.cfg) or its python"
DOCTOR_CANCELLED = "the check was cancelled"
DOCTOR_NOTHING_CHANGED = "nothing was changed"
DOCTOR_TIMED_OUT = "the check did not finish within {seconds} s"
DOCTOR_TIMED_OUT_HINT = ("import torch hangs in this environment: a GPU that hangs often needs a driver update or "
                         "a restart")
DOCTOR_NOTHING_TO_FIX = "there is nothing to install: no finding calls for a reinstall"

# --------------------------------------------------------------------------- interpreter probe (python_probe.py)

PROBE_TIMEOUT = "did not answer within {seconds} seconds"
PROBE_NOT_PY3 = "is not Python 3 (it rejects the -I option)"
PROBE_FAILED = "failed to run: {why}"
PROBE_NOTHING = "printed nothing"
PROBE_GARBLED = "gave an answer that could not be understood ({error})"
PROBE_UNUSABLE = "could not inspect the Python interpreter {python}: it {why}"
PROBE_UNUSABLE_HINT = "check that the path names a working Python 3 interpreter (python --version)"
PROBE_NOT_ON_PATH = "no Python interpreter named {python} on PATH"
PROBE_NOT_ON_PATH_HINT = "give the full path with --python"
PROBE_NO_FILE = "no Python interpreter at {python}"
PROBE_NO_FILE_HINT = "check the path given with --python"

# --------------------------------------------------------------------------- rollback (install/snapshots.py)

ROLLBACK_DELETED = "deleted {prefix} (the wizard created it)"
ROLLBACK_GONE = "{prefix} was already gone"
ROLLBACK_MATCHES = "{prefix} already matches the snapshot of {taken_at}"
ROLLBACK_RESTORED = "restored {prefix} to the snapshot of {taken_at}: removed {removed}, reinstalled {reinstalled}"
ROLLBACK_DELETED_KEPT = ("deleted {prefix} (the wizard created it); {count} files you had added to it were moved "
                         "to {kept}")
ROLLBACK_KEEP_FAILED = ("could not move your files out of {prefix} ({error}); nothing was deleted ({moved} "
                        "already moved to {kept})")
ROLLBACK_KEEP_FAILED_HINT = ("allow writing next to the environment's folder or make room there, then run "
                             "torch-gpu-setup rollback again")
ROLLBACK_DELETE_FAILED = "could not delete {prefix} completely: {error}"
ROLLBACK_DELETE_FAILED_HINT = ("close programs that use files in it (a terminal or an editor opened there), then run "
                               "torch-gpu-setup rollback again")

# --------------------------------------------------------------------------- one run per environment (envlock.py)

LOCK_BUSY = "{prefix} is being changed by {who}; nothing was done"
LOCK_OWNER = "another torch-gpu-setup run ({purpose}, process {pid}, since {since})"
LOCK_SOMEONE = "another torch-gpu-setup run"
LOCK_BUSY_HINT = "wait until it has finished, then try again"
LOCK_BUSY_FINISHING_HINT = ("that run has ended, but programs it started are still stopping; try again in a few "
                            "seconds")
