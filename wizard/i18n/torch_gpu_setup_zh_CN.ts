<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>ActionsPage</name>
    <message>
        <location filename="../qt/pages/actions.py" line="251"/>
        <source>Driver and tools</source>
        <translation>驱动和工具</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="253"/>
        <location filename="../qt/pages/actions.py" line="353"/>
        <source>Update the driver</source>
        <translation>更新驱动</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="256"/>
        <source>Keep the driver as it is</source>
        <translation>保持现有驱动</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="254"/>
        <source>&amp;Update the driver, then use the recommended build</source>
        <translation>更新驱动，然后使用推荐的版本(&amp;U)</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="237"/>
        <location filename="../qt/pages/actions.py" line="257"/>
        <source>Use the newest build that &amp;works without it</source>
        <translation>使用无需更新即可运行的最新版本(&amp;W)</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="185"/>
        <source>&amp;Copy command</source>
        <translation>复制命令(&amp;C)</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="305"/>
        <source>&amp;Run it now…</source>
        <translation>立即运行(&amp;R)…</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="305"/>
        <source>&amp;Open the download page</source>
        <translation>打开下载页面(&amp;O)</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="187"/>
        <source>Show how to get the CUDA &amp;toolkit (only to compile CUDA extensions)</source>
        <translation>显示如何获取 CUDA 工具包（仅编译 CUDA 扩展时需要）(&amp;T)</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="188"/>
        <source>PyTorch brings its own CUDA libraries; the toolkit is only needed to compile extensions. Download it from {0}.</source>
        <translation>PyTorch 自带所需的 CUDA 库；只有编译扩展时才需要工具包。下载地址：{0}。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="260"/>
        <source>After a driver update: restart the computer, then start this wizard again. It remembers your choices and checks the driver again.</source>
        <translation>更新驱动后：请重启电脑，然后再次打开本向导。向导会记住您的选择，并重新检查驱动。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="307"/>
        <location filename="../qt/pages/actions.py" line="312"/>
        <source>Not available for a simulated machine.</source>
        <translation>模拟的机器无法使用此功能。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="258"/>
        <source>{0} works with the driver you have now.</source>
        <translation>{0} 可以在您现有的驱动上运行。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="186"/>
        <source>Check &amp;again</source>
        <translation>重新检查(&amp;A)</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="197"/>
        <source>Python first</source>
        <translation>先安装 Python</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="198"/>
        <source>The recommended build needs another Python. Choose one of the two ways.</source>
        <translation>推荐的版本需要另一个 Python。请从下面两种方式中选择一种。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="199"/>
        <source>Install Python {0}</source>
        <translation>安装 Python {0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="200"/>
        <source>&amp;Install Python {0}, then use the recommended build</source>
        <translation>安装 Python {0}，然后使用推荐的版本(&amp;I)</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="201"/>
        <source>Press Run it now to install Python {0} for you with winget (no administrator rights), or download it from python.org and tick &quot;Add python.exe to PATH&quot;. Then press Check again.</source>
        <translation>点击“立即运行”，用 winget 为您安装 Python {0}（不需要管理员权限）；或者从 python.org 下载并勾选“Add python.exe to PATH”。然后点击“重新检查”。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="204"/>
        <source>Download Python {0} (64-bit) from python.org and install it; on Windows tick &quot;Add python.exe to PATH&quot;. Then press Check again.</source>
        <translation>从 python.org 下载并安装 Python {0}（64 位）；在 Windows 上请勾选“Add python.exe to PATH”。然后点击“重新检查”。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="206"/>
        <source>Keep the Python you have</source>
        <translation>保留现有的 Python</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="207"/>
        <source>Use the newest build that &amp;works with it</source>
        <translation>使用能在它上面运行的最新版本(&amp;W)</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="208"/>
        <source>{0} works with the Python you have now.</source>
        <translation>{0} 可以在您现有的 Python 上运行。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="209"/>
        <source>No build works with the Python you have: install Python {0}.</source>
        <translation>没有版本能在您现有的 Python 上运行：请安装 Python {0}。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="210"/>
        <source>After installing Python: press Check again, or start this wizard again.</source>
        <translation>安装 Python 后：点击“重新检查”，或重新打开本向导。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="211"/>
        <source>Open the Python &amp;download page</source>
        <translation>打开 Python 下载页面(&amp;D)</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="215"/>
        <location filename="../qt/pages/actions.py" line="217"/>
        <source>Free disk space</source>
        <translation>释放磁盘空间</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="216"/>
        <source>The recommended build needs more free disk space. Choose one of the two ways.</source>
        <translation>推荐的版本需要更多可用磁盘空间。请从下面两种方式中选择一种。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="218"/>
        <source>&amp;Free space, then use the recommended build</source>
        <translation>释放空间，然后使用推荐的版本(&amp;F)</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="219"/>
        <source>PyTorch goes into {0}. Delete what you no longer need on that disk (or choose a folder on a bigger disk on the Environment page), then press Check again.</source>
        <translation>PyTorch 将安装到 {0}。请删除该磁盘上不再需要的内容（或在“环境”页上选择更大磁盘上的文件夹），然后点击“重新检查”。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="222"/>
        <source>Keep the disk as it is</source>
        <translation>保持磁盘现状</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="223"/>
        <source>Use the newest build that &amp;fits</source>
        <translation>使用放得下的最新版本(&amp;F)</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="224"/>
        <source>{0} fits in the space you have now.</source>
        <translation>{0} 可以放进您现有的空间。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="225"/>
        <source>No build fits in the space you have.</source>
        <translation>没有版本能放进您现有的空间。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="226"/>
        <source>After freeing space: press Check again.</source>
        <translation>释放空间后：点击“重新检查”。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="227"/>
        <source>Open the &amp;folder</source>
        <translation>打开文件夹(&amp;F)</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="231"/>
        <source>Restart first</source>
        <translation>先重启电脑</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="232"/>
        <source>The new driver is installed but not running yet. Choose one of the two ways.</source>
        <translation>新驱动已安装，但尚未运行。请从下面两种方式中选择一种。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="233"/>
        <source>Restart the computer</source>
        <translation>重启电脑</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="234"/>
        <source>&amp;Restart, then use the recommended build</source>
        <translation>重启，然后使用推荐的版本(&amp;R)</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="235"/>
        <source>Save your work, restart the computer, then start this wizard again.</source>
        <translation>请保存工作，重启电脑，然后再次打开本向导。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="236"/>
        <source>Do not restart now</source>
        <translation>现在不重启</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="238"/>
        <source>{0} works without the restart.</source>
        <translation>{0} 无需重启即可运行。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="239"/>
        <source>No build works before the restart.</source>
        <translation>重启之前没有可用的版本。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="240"/>
        <source>It remembers your choices and checks the driver again.</source>
        <translation>向导会记住您的选择，并重新检查驱动。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="245"/>
        <source>Nothing more is needed</source>
        <translation>无需其他操作</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="246"/>
        <source>The recommended build runs on this computer as it is now.</source>
        <translation>推荐的版本可以直接在这台电脑上运行。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="247"/>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="247"/>
        <source>&amp;Use the recommended build</source>
        <translation>使用推荐的版本(&amp;U)</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="252"/>
        <source>The recommended build needs a newer NVIDIA driver. Choose one of the two ways.</source>
        <translation>推荐的版本需要更新的 NVIDIA 驱动。请从下面两种方式中选择一种。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="259"/>
        <source>No build works without the update.</source>
        <translation>不更新驱动就没有可用的版本。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="351"/>
        <source>Install Python</source>
        <translation>安装 Python</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="351"/>
        <source>Run this command?</source>
        <translation>要运行这条命令吗？</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="354"/>
        <source>Run these commands with administrator rights?</source>
        <translation>以管理员权限运行这些命令吗？</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="358"/>
        <source>The command cannot be run from here.</source>
        <translation>无法在这里运行此命令。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="359"/>
        <source>Run it in a terminal: {0}</source>
        <translation>请在终端中运行：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="372"/>
        <source>Python is installed. Checking the computer again…</source>
        <translation>Python 已安装。正在重新检查这台电脑…</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="375"/>
        <source>Done. Restart the computer so the new driver loads.</source>
        <translation>完成。请重启电脑以加载新驱动。</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="381"/>
        <source>The Python install failed: {0}</source>
        <translation>Python 安装失败：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/actions.py" line="383"/>
        <source>The driver command failed: {0}</source>
        <translation>驱动命令执行失败：{0}</translation>
    </message>
</context>
<context>
    <name>BuildPage</name>
    <message>
        <location filename="../qt/pages/build.py" line="130"/>
        <source>The PyTorch build</source>
        <translation>PyTorch 版本</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="131"/>
        <source>The recommended build is chosen for your cards, driver and Python.</source>
        <translation>推荐的版本是根据您的显卡、驱动和 Python 选出的。</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="132"/>
        <source>&amp;Advanced choices</source>
        <translation>高级选项(&amp;A)</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="133"/>
        <source>&amp;Torch version:</source>
        <translation>Torch 版本(&amp;T)：</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="133"/>
        <source>&amp;Variant:</source>
        <translation>变体(&amp;V)：</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="133"/>
        <source>Download &amp;from:</source>
        <translation>下载来源(&amp;F)：</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="134"/>
        <source>&amp;Proxy:</source>
        <translation>代理(&amp;P)：</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="134"/>
        <source>Other &amp;source (URL or folder):</source>
        <translation>其他来源（网址或文件夹）(&amp;S)：</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="137"/>
        <source>Automatic (newest that fits)</source>
        <translation>自动（选择适用的最新版本）</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="138"/>
        <source>Automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="139"/>
        <source>PyTorch&apos;s own server (download.pytorch.org)</source>
        <translation>PyTorch 官方服务器（download.pytorch.org）</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="140"/>
        <source>Alibaba Cloud mirror (mainland China)</source>
        <translation>阿里云镜像（中国大陆）</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="141"/>
        <source>Shanghai Jiao Tong University mirror (mainland China)</source>
        <translation>上海交通大学镜像（中国大陆）</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="142"/>
        <source>Nanjing University mirror (mainland China)</source>
        <translation>南京大学镜像（中国大陆）</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="146"/>
        <source>Another server, or a folder of wheels (below)</source>
        <translation>其他服务器，或存放 wheel 文件的文件夹（见下方）</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="147"/>
        <source>Also install torch&amp;vision (images)</source>
        <translation>同时安装 torchvision（图像）(&amp;V)</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="148"/>
        <source>Also install torch&amp;audio (sound)</source>
        <translation>同时安装 torchaudio（音频）(&amp;A)</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="179"/>
        <source>Something must be done first (see below): install another Python.</source>
        <translation>需要先完成一项操作（见下方）：安装另一个 Python。</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="180"/>
        <source>Something must be done first (see below): free disk space.</source>
        <translation>需要先完成一项操作（见下方）：释放磁盘空间。</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="181"/>
        <source>Something must be done first (see below): update the NVIDIA driver.</source>
        <translation>需要先完成一项操作（见下方）：更新 NVIDIA 驱动。</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="182"/>
        <source>Something must be done first (see below): restart the computer.</source>
        <translation>需要先完成一项操作（见下方）：重启电脑。</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="184"/>
        <source>Something must be done first (see below).</source>
        <translation>需要先完成一项操作（见下方）。</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="186"/>
        <source>Ready: this build runs on your computer as it is.</source>
        <translation>就绪：此版本可以直接在您的电脑上运行。</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="187"/>
        <source>No PyTorch build fits this computer.</source>
        <translation>没有适合这台电脑的 PyTorch 版本。</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="197"/>
        <source>Planning…</source>
        <translation>正在规划…</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="205"/>
        <source>Why</source>
        <translation>原因</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="216"/>
        <source>uses your NVIDIA card (CUDA)</source>
        <translation>使用您的 NVIDIA 显卡（CUDA）</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="217"/>
        <source>uses your AMD card (ROCm)</source>
        <translation>使用您的 AMD 显卡（ROCm）</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="218"/>
        <source>uses your Intel card (XPU)</source>
        <translation>使用您的 Intel 显卡（XPU）</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="219"/>
        <source>uses the Apple GPU (MPS)</source>
        <translation>使用 Apple GPU（MPS）</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="220"/>
        <source>runs on the processor only (no GPU)</source>
        <translation>仅在处理器上运行（不使用 GPU）</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="226"/>
        <source>Recommended: {0}</source>
        <translation>推荐：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="231"/>
        <source>Packages: {0}</source>
        <translation>软件包：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="232"/>
        <source>From: {0}</source>
        <translation>来源：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="234"/>
        <source>Why not first: {0}</source>
        <translation>为何不作首选：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="236"/>
        <source>Needs first: {0}</source>
        <translation>需要先：{0}</translation>
    </message>
</context>
<context>
    <name>DoctorPage</name>
    <message>
        <location filename="../qt/pages/doctor.py" line="128"/>
        <source>Choose the environment&apos;s folder</source>
        <translation>选择环境所在的文件夹</translation>
    </message>
    <message>
        <location filename="../qt/pages/doctor.py" line="133"/>
        <source>Choose the Python interpreter</source>
        <translation>选择 Python 解释器</translation>
    </message>
    <message>
        <location filename="../qt/pages/doctor.py" line="159"/>
        <source>Checking {0}…</source>
        <translation>正在检查 {0}…</translation>
    </message>
    <message>
        <location filename="../qt/pages/doctor.py" line="184"/>
        <source>no torch</source>
        <translation>未安装 torch</translation>
    </message>
    <message>
        <location filename="../qt/pages/doctor.py" line="193"/>
        <source>Checked {0}.</source>
        <translation>已检查 {0}。</translation>
    </message>
    <message>
        <location filename="../qt/pages/doctor.py" line="221"/>
        <source>Recommended next step:</source>
        <translation>建议的下一步：</translation>
    </message>
    <message>
        <location filename="../qt/pages/doctor.py" line="223"/>
        <source>Next shows the installation into this same environment; a snapshot is taken first, so it can be rolled back.</source>
        <translation>“下一步”将展示向同一环境的安装；安装前会先拍快照，因此可以回滚。</translation>
    </message>
    <message>
        <location filename="../qt/pages/doctor.py" line="228"/>
        <source>Check an existing environment</source>
        <translation>检查现有环境</translation>
    </message>
    <message>
        <location filename="../qt/pages/doctor.py" line="229"/>
        <source>The wizard looks at the PyTorch installed in an environment and says what is wrong and how to fix it.</source>
        <translation>向导会检查环境中已安装的 PyTorch，说明问题所在以及修复方法。</translation>
    </message>
    <message>
        <location filename="../qt/pages/doctor.py" line="231"/>
        <source>Pick a Python found on this computer, or choose an environment folder or an interpreter, then press Check.</source>
        <translation>从本机找到的 Python 中选择一个，或选择环境文件夹或解释器，然后点击“检查”。</translation>
    </message>
    <message>
        <location filename="../qt/pages/doctor.py" line="233"/>
        <source>Environment folder or Python interpreter</source>
        <translation>环境文件夹或 Python 解释器</translation>
    </message>
    <message>
        <location filename="../qt/pages/doctor.py" line="234"/>
        <source>&amp;Folder…</source>
        <translation>文件夹(&amp;F)…</translation>
    </message>
    <message>
        <location filename="../qt/pages/doctor.py" line="235"/>
        <source>&amp;Interpreter…</source>
        <translation>解释器(&amp;I)…</translation>
    </message>
    <message>
        <location filename="../qt/pages/doctor.py" line="236"/>
        <source>&amp;Check</source>
        <translation>检查(&amp;C)</translation>
    </message>
</context>
<context>
    <name>EnvironmentPage</name>
    <message>
        <location filename="../qt/pages/environment.py" line="110"/>
        <source>Python {0} (simulated machine)</source>
        <translation>Python {0}（模拟的机器）</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="152"/>
        <source>Where should PyTorch go?</source>
        <translation>PyTorch 安装到哪里？</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="153"/>
        <source>A new, separate environment is safest: nothing else on this computer changes.</source>
        <translation>新建一个独立的环境最安全：电脑上的其他内容都不会改变。</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="154"/>
        <source>Create a &amp;new environment (recommended)</source>
        <translation>新建环境（推荐）(&amp;N)</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="155"/>
        <source>Use an &amp;existing virtual or conda environment</source>
        <translation>使用现有的虚拟环境或 conda 环境(&amp;E)</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="156"/>
        <source>Use a Python &amp;interpreter directly</source>
        <translation>直接使用某个 Python 解释器(&amp;I)</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="158"/>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="159"/>
        <source>Folder for the new environment</source>
        <translation>新环境所在的文件夹</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="160"/>
        <source>Folder of the environment</source>
        <translation>环境所在的文件夹</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="161"/>
        <source>Path of python or python.exe</source>
        <translation>python 或 python.exe 的路径</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="162"/>
        <source>&amp;Python used to create it:</source>
        <translation>用于创建环境的 Python(&amp;P)：</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="163"/>
        <source>&amp;Replace them (a snapshot is taken first; you can roll back)</source>
        <translation>替换它们（会先保存快照，可以回滚）(&amp;R)</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="164"/>
        <source>Enable &amp;long paths (administrator)…</source>
        <translation>启用长路径（需要管理员权限）(&amp;L)…</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="199"/>
        <source>Choose a Python interpreter</source>
        <translation>选择 Python 解释器</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="201"/>
        <source>Choose a folder</source>
        <translation>选择文件夹</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="247"/>
        <source>This environment could not be read: {0}</source>
        <translation>无法读取此环境：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="264"/>
        <source>This folder will not work: {0}</source>
        <translation>这个文件夹不可用：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="266"/>
        <source>No Python on this computer can run PyTorch; the next pages say which one to install.</source>
        <translation>这台电脑上没有能运行 PyTorch 的 Python；后面的页面会说明应安装哪个版本。</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="269"/>
        <source>PyTorch publishes no wheels for this Python: choose another one.</source>
        <translation>PyTorch 没有为这个 Python 发布 wheel：请选择另一个。</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="271"/>
        <source>A new environment is created at the path above; if the install fails or is cancelled, it is removed again.</source>
        <translation>将在上面的路径新建环境；如果安装失败或被取消，它会被删除。</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="274"/>
        <source>Why this folder: {0}.</source>
        <translation>为什么是这个文件夹：{0}。</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="279"/>
        <source>Reading the environment…</source>
        <translation>正在读取环境…</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="281"/>
        <source>This environment already has: {0}. They will be replaced by {1}.</source>
        <translation>此环境中已有：{0}。它们将被替换为 {1}。</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="284"/>
        <source>This environment already has torch {0}; it is kept.</source>
        <translation>此环境中已有 torch {0}，将予以保留。</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="287"/>
        <source>No torch in this environment yet; other packages are left as they are.</source>
        <translation>此环境中还没有 torch；其他软件包保持不变。</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="295"/>
        <source>Not available for a simulated machine.</source>
        <translation>模拟的机器无法使用此功能。</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="313"/>
        <source>Enable long paths</source>
        <translation>启用长路径</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="313"/>
        <source>Run this command with administrator rights?</source>
        <translation>要以管理员权限运行这条命令吗？</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="326"/>
        <source>Long paths are on. Checking the computer again…</source>
        <translation>长路径已启用。正在重新检查这台电脑…</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="333"/>
        <source>Long paths were not enabled: {0}</source>
        <translation>长路径未能启用：{0}</translation>
    </message>
</context>
<context>
    <name>ErrorPanel</name>
    <message>
        <location filename="../qt/pages/base.py" line="93"/>
        <source>Show &amp;details</source>
        <translation>显示详细信息(&amp;D)</translation>
    </message>
</context>
<context>
    <name>Errors</name>
    <message>
        <location filename="../qt/errors.py" line="48"/>
        <source>The computer ran out of memory.</source>
        <translation>电脑内存不足。</translation>
    </message>
    <message>
        <location filename="../qt/errors.py" line="49"/>
        <source>Close other programs and try again.</source>
        <translation>请关闭其他程序后重试。</translation>
    </message>
    <message>
        <location filename="../qt/errors.py" line="51"/>
        <source>A file or folder could not be used: {0}</source>
        <translation>无法使用某个文件或文件夹：{0}</translation>
    </message>
    <message>
        <location filename="../qt/errors.py" line="53"/>
        <source>Check the path and that you may write there, then try again.</source>
        <translation>请检查路径以及您是否有写入权限，然后重试。</translation>
    </message>
    <message>
        <location filename="../qt/errors.py" line="57"/>
        <source>Something unexpected went wrong inside the wizard.</source>
        <translation>向导内部出现了意外错误。</translation>
    </message>
    <message>
        <location filename="../qt/errors.py" line="58"/>
        <source>Please save a diagnostics report on the last page and send it to your helpdesk.</source>
        <translation>请在最后一页保存诊断报告，并发送给技术支持。</translation>
    </message>
    <message>
        <location filename="../qt/errors.py" line="66"/>
        <source>Problem</source>
        <translation>问题</translation>
    </message>
</context>
<context>
    <name>FinishPage</name>
    <message>
        <location filename="../qt/pages/finish.py" line="63"/>
        <source>Finished</source>
        <translation>完成</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="64"/>
        <source>What happened, and how to start.</source>
        <translation>结果如何，以及如何开始使用。</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="65"/>
        <source>&amp;Save diagnostics report…</source>
        <translation>保存诊断报告(&amp;S)…</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="66"/>
        <source>&amp;Copy for helpdesk</source>
        <translation>复制给技术支持(&amp;C)</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="67"/>
        <source>&amp;Roll back…</source>
        <translation>回滚(&amp;R)…</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="73"/>
        <source>This was a simulation of “{0}”: nothing was installed.</source>
        <translation>这是对“{0}”的模拟：没有安装任何内容。</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="77"/>
        <source>The installation was rolled back.</source>
        <translation>安装已撤销。</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="79"/>
        <source>PyTorch was not installed.</source>
        <translation>PyTorch 没有安装。</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="81"/>
        <source>PyTorch is installed, but the demo did not finish.</source>
        <translation>PyTorch 已安装，但演示没有运行完。</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="83"/>
        <source>PyTorch works on your GPU.</source>
        <translation>PyTorch 已经可以在您的 GPU 上运行。</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="84"/>
        <source>PyTorch works, on the processor (CPU) only.</source>
        <translation>PyTorch 可以运行，但只使用处理器（CPU）。</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="85"/>
        <source>PyTorch is installed, but the demo found a problem (see the Verify page).</source>
        <translation>PyTorch 已安装，但演示发现了问题（请查看验证页面）。</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="94"/>
        <source>&lt;b&gt;To use it&lt;/b&gt;, open a terminal and activate the environment:&lt;br&gt;&lt;code&gt;{0}&lt;/code&gt;&lt;br&gt;then run this first program:</source>
        <translation>&lt;b&gt;使用方法&lt;/b&gt;：打开终端并激活环境：&lt;br&gt;&lt;code&gt;{0}&lt;/code&gt;&lt;br&gt;然后运行这个入门程序：</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="98"/>
        <source>A first program to run once PyTorch is installed:</source>
        <translation>PyTorch 安装好之后可以运行的入门程序：</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="122"/>
        <source>Save diagnostics report</source>
        <translation>保存诊断报告</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="131"/>
        <source>Saved {0} and {1}.</source>
        <translation>已保存 {0} 和 {1}。</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="139"/>
        <source>Copied. Paste it into your message to the helpdesk.</source>
        <translation>已复制。请把它粘贴到发给技术支持的消息中。</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="143"/>
        <source>Roll back</source>
        <translation>回滚</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="144"/>
        <source>Undo this installation?</source>
        <translation>要撤销这次安装吗？</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="145"/>
        <source>A new environment is deleted; an existing one returns to its snapshot.</source>
        <translation>新建的环境会被删除；已有的环境会恢复到快照时的状态。</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="159"/>
        <source>Rolling back…</source>
        <translation>正在撤销…</translation>
    </message>
</context>
<context>
    <name>InstallJob</name>
    <message>
        <location filename="../qt/adapters.py" line="148"/>
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
</context>
<context>
    <name>InstallPage</name>
    <message>
        <location filename="../qt/pages/install.py" line="125"/>
        <source>Installing</source>
        <extracomment>The install flow&apos;s steps this page shows (wizard.core.events.INSTALL_STEPS; verify has its own page).</extracomment>
        <translation>正在安装</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="126"/>
        <source>Downloading and installing PyTorch. You can cancel; everything is then undone.</source>
        <translation>正在下载并安装 PyTorch。您可以随时取消，所有改动都会被撤销。</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="127"/>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="127"/>
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="127"/>
        <source>Progress</source>
        <translation>进度</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="128"/>
        <source>Speed / time left</source>
        <translation>速度 / 剩余时间</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="129"/>
        <source>Show &amp;log</source>
        <translation>显示日志(&amp;L)</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="130"/>
        <source>Try &amp;again</source>
        <translation>重试(&amp;A)</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="139"/>
        <source>Check the environment</source>
        <translation>检查环境</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="140"/>
        <source>Create the environment</source>
        <translation>创建环境</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="139"/>
        <source>Download</source>
        <translation>下载</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="131"/>
        <source>&lt; &amp;Change the choices</source>
        <translation>&lt; 修改选择(&amp;C)</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="132"/>
        <source>Find the &amp;fastest mirror</source>
        <translation>查找最快的镜像(&amp;F)</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="134"/>
        <location filename="../qt/pages/install.py" line="310"/>
        <source>&amp;Use {0} and try again</source>
        <translation>使用{0}并重试(&amp;U)</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="135"/>
        <source>pip is downloading: %p%</source>
        <translation>pip 正在下载：%p%</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="140"/>
        <source>Snapshot</source>
        <translation>快照</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="141"/>
        <source>Install with pip</source>
        <translation>用 pip 安装</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="141"/>
        <source>Pin the build</source>
        <translation>锁定版本</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="216"/>
        <source>done</source>
        <translation>完成</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="237"/>
        <source>PyTorch is installed. Next: prove that it works.</source>
        <translation>PyTorch 已安装。下一步：验证它能正常工作。</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="245"/>
        <source>The installation did not finish.</source>
        <translation>安装没有完成。</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="250"/>
        <source>The download server could not be reached from here. A mirror closer to you may work (in mainland China: usually faster).</source>
        <translation>无法从这里连接下载服务器。离您更近的镜像可能可用（在中国大陆通常更快）。</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="259"/>
        <source>Cancelled. {0}</source>
        <translation>已取消。{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="275"/>
        <source>PyTorch&apos;s own server</source>
        <translation>PyTorch 官方服务器</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="275"/>
        <source>the Alibaba Cloud mirror</source>
        <translation>阿里云镜像</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="276"/>
        <source>the Shanghai Jiao Tong University mirror</source>
        <translation>上海交通大学镜像</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="277"/>
        <source>the Nanjing University mirror</source>
        <translation>南京大学镜像</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="286"/>
        <source>Asking each mirror…</source>
        <translation>正在逐个询问镜像…</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="303"/>
        <source>{0}: answered in {1:.2f} s</source>
        <translation>{0}：{1:.2f} 秒内响应</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="304"/>
        <source>{0}: no answer</source>
        <translation>{0}：无响应</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="307"/>
        <source>No mirror answered.</source>
        <translation>没有镜像响应。</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="321"/>
        <source>Simulated machine: nothing is installed. These commands would run:</source>
        <translation>模拟的机器：不会安装任何内容。实际会运行以下命令：</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="334"/>
        <source>simulated</source>
        <translation>模拟</translation>
    </message>
</context>
<context>
    <name>SetupWizard</name>
    <message>
        <location filename="../qt/wizard.py" line="104"/>
        <source>PyTorch GPU setup</source>
        <translation>PyTorch GPU 安装向导</translation>
    </message>
    <message>
        <location filename="../qt/wizard.py" line="105"/>
        <source>&amp;Next &gt;</source>
        <translation>下一步(&amp;N) &gt;</translation>
    </message>
    <message>
        <location filename="../qt/wizard.py" line="106"/>
        <source>&lt; &amp;Back</source>
        <translation>&lt; 上一步(&amp;B)</translation>
    </message>
    <message>
        <location filename="../qt/wizard.py" line="107"/>
        <location filename="../qt/wizard.py" line="147"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../qt/wizard.py" line="108"/>
        <source>&amp;Finish</source>
        <translation>完成(&amp;F)</translation>
    </message>
    <message>
        <location filename="../qt/wizard.py" line="141"/>
        <source>Stop the installation?</source>
        <translation>要停止安装吗？</translation>
    </message>
    <message>
        <location filename="../qt/wizard.py" line="142"/>
        <source>Everything done so far is undone: a new environment is deleted, an existing one is put back as it was.</source>
        <translation>到目前为止的所有改动都会被撤销：新建的环境会被删除，已有的环境会恢复原样。</translation>
    </message>
    <message>
        <location filename="../qt/wizard.py" line="145"/>
        <source>Stop the demo?</source>
        <translation>要停止演示吗？</translation>
    </message>
    <message>
        <location filename="../qt/wizard.py" line="146"/>
        <source>PyTorch stays installed.</source>
        <translation>PyTorch 会保持已安装状态。</translation>
    </message>
</context>
<context>
    <name>SummaryPage</name>
    <message>
        <location filename="../qt/pages/summary.py" line="78"/>
        <source>install Python {0}</source>
        <translation>安装 Python {0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="78"/>
        <source>free disk space</source>
        <translation>释放磁盘空间</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="79"/>
        <source>update the NVIDIA driver</source>
        <translation>更新 NVIDIA 驱动</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="79"/>
        <source>restart the computer</source>
        <translation>重启电脑</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="82"/>
        <source>do what the build needs</source>
        <translation>完成该版本所需的操作</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="85"/>
        <source>Install is off: first {0} (the previous page says how).</source>
        <translation>安装暂不可用：请先{0}（上一页有说明）。</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="86"/>
        <source>Install is off: first {0} (the previous page says how), or go Back and choose {1}, which works as this computer is now.</source>
        <translation>安装暂不可用：请先{0}（上一页有说明），或返回上一步选择 {1}，它可以直接在这台电脑上运行。</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="91"/>
        <source>Ready to install</source>
        <translation>准备安装</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="92"/>
        <source>Check what will happen, then press Install.</source>
        <translation>请确认将要进行的操作，然后点击“安装”。</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="93"/>
        <source>&amp;Install</source>
        <translation>安装(&amp;I)</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="94"/>
        <source>Save as &amp;answer file…</source>
        <translation>另存为应答文件(&amp;A)…</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="95"/>
        <source>Use these settings on other machines: torch-gpu-setup install --unattended --answers FILE</source>
        <translation>在其他计算机上使用这些设置：torch-gpu-setup install --unattended --answers FILE</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="104"/>
        <source>Save answer file</source>
        <translation>保存应答文件</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="106"/>
        <source>Answer files (*.toml)</source>
        <translation>应答文件 (*.toml)</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="114"/>
        <source>Saved {0}. On another machine: torch-gpu-setup install --unattended --answers {1}</source>
        <translation>已保存 {0}。在另一台计算机上运行：torch-gpu-setup install --unattended --answers {1}</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="121"/>
        <source>No build is selected.</source>
        <translation>没有选择任何版本。</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="127"/>
        <source>a new environment at {0}</source>
        <translation>位于 {0} 的新环境</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="128"/>
        <source>the existing environment {0}</source>
        <translation>现有环境 {0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="129"/>
        <source>the Python interpreter {0}</source>
        <translation>Python 解释器 {0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="132"/>
        <source>Install &lt;b&gt;{0}&lt;/b&gt; into {1}.</source>
        <translation>将 &lt;b&gt;{0}&lt;/b&gt; 安装到{1}。</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="133"/>
        <source>Packages: {0}</source>
        <translation>软件包：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="134"/>
        <source>Download from: {0}</source>
        <translation>下载来源：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="135"/>
        <source>Download about {0:.1f} GB; about {1:.0f} GB of disk needed in all.</source>
        <translation>需下载约 {0:.1f} GB；总共约需 {1:.0f} GB 磁盘空间。</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="136"/>
        <source>Then run a short training demo to prove that it works.</source>
        <translation>然后运行一个简短的训练演示，验证它能正常工作。</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="139"/>
        <source>Replace: {0} (a snapshot is taken first).</source>
        <translation>替换：{0}（会先保存快照）。</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="142"/>
        <source>Use the proxy you entered.</source>
        <translation>使用您填写的代理。</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="144"/>
        <source>&lt;b&gt;Simulated machine:&lt;/b&gt; nothing will be installed; the next pages show what would happen.</source>
        <translation>&lt;b&gt;模拟的机器：&lt;/b&gt;不会安装任何内容；后面的页面会展示实际会发生什么。</translation>
    </message>
</context>
<context>
    <name>SystemPage</name>
    <message>
        <location filename="../qt/pages/system.py" line="56"/>
        <source>System check</source>
        <translation>系统检查</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="57"/>
        <source>What this computer has, and whether PyTorch can use it.</source>
        <translation>这台电脑有哪些硬件，以及 PyTorch 能否使用它们。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="61"/>
        <source>Checking this computer: graphics cards, driver, Python…</source>
        <translation>正在检查这台电脑：显卡、驱动、Python…</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="63"/>
        <source>Choosing the right PyTorch build…</source>
        <translation>正在选择合适的 PyTorch 版本…</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="65"/>
        <source>Checking that the download server can be reached…</source>
        <translation>正在检查能否连接下载服务器…</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="82"/>
        <source>Simulated machine: “{0}”</source>
        <translation>模拟的机器：“{0}”</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="85"/>
        <source>No graphics card was found. PyTorch will use the processor (CPU).</source>
        <translation>没有找到显卡。PyTorch 将使用处理器（CPU）。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="101"/>
        <source>✔ PyTorch can use this card.</source>
        <translation>✔ PyTorch 可以使用这块显卡。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="102"/>
        <source>✘ PyTorch will not use this card.</source>
        <translation>✘ PyTorch 不会使用这块显卡。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="109"/>
        <source>Architecture: {0}</source>
        <translation>架构：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="111"/>
        <source>Compute capability: {0}</source>
        <translation>计算能力：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="113"/>
        <source>GPU target: {0}</source>
        <translation>GPU 目标：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="115"/>
        <source>Memory: {0:.1f} GB</source>
        <translation>显存：{0:.1f} GB</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="117"/>
        <source>Integrated graphics</source>
        <translation>集成显卡</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="125"/>
        <source>Driver</source>
        <translation>驱动</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="129"/>
        <source>NVIDIA driver {0}</source>
        <translation>NVIDIA 驱动 {0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="131"/>
        <source>(supports CUDA up to {0})</source>
        <translation>（最高支持 CUDA {0}）</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="135"/>
        <source>The driver is working.</source>
        <translation>驱动工作正常。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="136"/>
        <source>No NVIDIA driver is installed.</source>
        <translation>没有安装 NVIDIA 驱动。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="137"/>
        <source>The driver is installed but not running.</source>
        <translation>驱动已安装，但没有运行。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="138"/>
        <source>The driver and its libraries do not match (usually after an update without a restart).</source>
        <translation>驱动与其库文件版本不一致（通常是更新后没有重启）。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="140"/>
        <source>The driver refused access to the card.</source>
        <translation>驱动拒绝访问显卡。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="141"/>
        <source>The card stopped answering the driver.</source>
        <translation>显卡不再响应驱动。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="142"/>
        <source>The driver reported an error.</source>
        <translation>驱动报告了一个错误。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="143"/>
        <source>No NVIDIA driver is needed here.</source>
        <translation>这里不需要 NVIDIA 驱动。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="154"/>
        <location filename="../qt/pages/system.py" line="211"/>
        <source>What to do: {0}</source>
        <translation>处理方法：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="162"/>
        <source>Python</source>
        <translation>Python</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="166"/>
        <source>No Python was found. Install Python 3.12 from python.org first.</source>
        <translation>没有找到 Python。请先从 python.org 安装 Python 3.12。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="170"/>
        <source>used for the new environment</source>
        <translation>用于创建新环境</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="172"/>
        <source>has torch {0}</source>
        <translation>已装有 torch {0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="174"/>
        <source>managed by the operating system: it will not be changed</source>
        <translation>由操作系统管理：不会被改动</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="181"/>
        <source>Notes from the system check</source>
        <translation>系统检查的说明</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="190"/>
        <source>Ready to install?</source>
        <translation>可以安装了吗？</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="195"/>
        <source>Disk: {0:.0f} GB free, about {1:.0f} GB needed.</source>
        <translation>磁盘：可用 {0:.0f} GB，约需 {1:.0f} GB。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="197"/>
        <source>Free some space or choose an environment folder on another drive.</source>
        <translation>请释放一些空间，或把环境放到其他磁盘上。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="200"/>
        <source>ℹ Your Python is managed by the operating system; the wizard installs into a new environment instead and leaves it alone.</source>
        <translation>ℹ 您的 Python 由操作系统管理；向导会改为安装到新环境中，不会改动它。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="204"/>
        <source>Network: not checked for a simulated machine.</source>
        <translation>网络：模拟的机器不检查网络。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="207"/>
        <source>✔ Network: the download server {0} answers.</source>
        <translation>✔ 网络：下载服务器 {0} 可以访问。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="209"/>
        <source>✘ Network: {0}</source>
        <translation>✘ 网络：{0}</translation>
    </message>
</context>
<context>
    <name>VerifyPage</name>
    <message>
        <location filename="../qt/pages/verify.py" line="94"/>
        <source>PyTorch imports</source>
        <translation>PyTorch 能够导入</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="94"/>
        <source>The GPU is visible</source>
        <translation>GPU 可见</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="95"/>
        <source>The build supports this GPU</source>
        <translation>此版本支持这块 GPU</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="95"/>
        <source>Computations are correct</source>
        <translation>计算结果正确</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="96"/>
        <source>Half and bfloat16 precision</source>
        <translation>半精度和 bfloat16 精度</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="96"/>
        <source>A first model learns</source>
        <translation>第一个模型能够学习</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="97"/>
        <source>A small network trains</source>
        <translation>小型网络能够训练</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="97"/>
        <source>Speed against the datasheet</source>
        <translation>速度与规格参数对比</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="98"/>
        <source>Several GPUs work together</source>
        <translation>多块 GPU 协同工作</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="98"/>
        <source>GPU memory</source>
        <translation>GPU 显存</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="103"/>
        <source>Proving that it works</source>
        <translation>验证能否正常工作</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="106"/>
        <source>A short demo runs in the new environment: it trains a small network on the processor (this build uses no GPU).</source>
        <translation>在新环境中运行一个简短的演示：在处理器上训练一个小型网络（此版本不使用 GPU）。</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="109"/>
        <source>A short demo runs in the new environment: it trains a small network on the GPU.</source>
        <translation>将在新环境中运行一个简短的演示：在 GPU 上训练一个小型网络。</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="110"/>
        <source>training loss, falling as the network learns</source>
        <translation>训练损失，随网络学习而下降</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="111"/>
        <source>training step</source>
        <translation>训练步数</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="112"/>
        <source>loss</source>
        <translation>损失</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="140"/>
        <source>Simulated machine: nothing was installed, so nothing is verified.</source>
        <translation>模拟的机器：没有安装任何内容，因此不做验证。</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="215"/>
        <source>The demo was stopped.</source>
        <translation>演示已停止。</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="216"/>
        <source>PyTorch stays installed; run torch-gpu-setup verify later.</source>
        <translation>PyTorch 仍保持安装；稍后可运行 torch-gpu-setup verify。</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="226"/>
        <source>Ran on the processor: no GPU speed to measure.</source>
        <translation>在处理器上运行：没有 GPU 速度可测。</translation>
    </message>
</context>
<context>
    <name>WelcomePage</name>
    <message>
        <location filename="../qt/pages/welcome.py" line="55"/>
        <source>Set up PyTorch for your graphics card</source>
        <translation>为您的显卡安装 PyTorch</translation>
    </message>
    <message>
        <location filename="../qt/pages/welcome.py" line="56"/>
        <source>This wizard finds the PyTorch build that fits this computer, installs it and proves that it works.</source>
        <translation>本向导会找到适合这台电脑的 PyTorch 版本，完成安装，并验证它能正常工作。</translation>
    </message>
    <message>
        <location filename="../qt/pages/welcome.py" line="59"/>
        <source>&lt;p&gt;&lt;b&gt;What will happen&lt;/b&gt;&lt;/p&gt;&lt;ol&gt;&lt;li&gt;The wizard looks at your graphics cards, driver and Python.&lt;/li&gt;&lt;li&gt;It recommends a PyTorch build and explains why.&lt;/li&gt;&lt;li&gt;It downloads PyTorch into a new, separate Python environment.&lt;/li&gt;&lt;li&gt;It runs a short training demo to prove that the GPU is used.&lt;/li&gt;&lt;/ol&gt;&lt;p&gt;&lt;b&gt;How long:&lt;/b&gt; about 5 to 30 minutes, mostly the download (0.2 to 4 GB).&lt;/p&gt;&lt;p&gt;&lt;b&gt;What it touches:&lt;/b&gt; only the environment folder you choose and a download cache. &lt;b&gt;What it does not touch:&lt;/b&gt; your system Python, your other environments, and your driver (unless you ask for a driver update and confirm it).&lt;/p&gt;&lt;p&gt;You can cancel at any time; a cancelled installation is undone.&lt;/p&gt;</source>
        <translation>&lt;p&gt;&lt;b&gt;将要进行的步骤&lt;/b&gt;&lt;/p&gt;&lt;ol&gt;&lt;li&gt;向导检查您的显卡、驱动和 Python。&lt;/li&gt;&lt;li&gt;推荐一个 PyTorch 版本，并说明理由。&lt;/li&gt;&lt;li&gt;把 PyTorch 下载并安装到一个新的、独立的 Python 环境中。&lt;/li&gt;&lt;li&gt;运行一个简短的训练演示，证明确实用上了 GPU。&lt;/li&gt;&lt;/ol&gt;&lt;p&gt;&lt;b&gt;需要多久：&lt;/b&gt;大约 5 到 30 分钟，主要花在下载上（0.2 到 4 GB）。&lt;/p&gt;&lt;p&gt;&lt;b&gt;会改动的内容：&lt;/b&gt;只有您选择的环境文件夹和一个下载缓存。&lt;b&gt;不会改动的内容：&lt;/b&gt;系统自带的 Python、您的其他环境，以及您的驱动（除非您要求更新驱动并确认）。&lt;/p&gt;&lt;p&gt;您可以随时取消；取消的安装会被完全撤销。&lt;/p&gt;</translation>
    </message>
    <message>
        <location filename="../qt/pages/welcome.py" line="69"/>
        <source>&amp;Language:</source>
        <translation>语言(&amp;L)：</translation>
    </message>
    <message>
        <location filename="../qt/pages/welcome.py" line="70"/>
        <source>&amp;Set up PyTorch in a new environment</source>
        <translation>在新环境中安装 PyTorch(&amp;S)</translation>
    </message>
    <message>
        <location filename="../qt/pages/welcome.py" line="71"/>
        <source>&amp;Check an existing environment (PyTorch does not use the GPU, import torch fails …)</source>
        <translation>检查现有环境（PyTorch 不使用 GPU、import torch 失败……）(&amp;C)</translation>
    </message>
</context>
<context>
    <name>core</name>
    <message>
        <source>{text}.</source>
        <translation>{text}。</translation>
    </message>
    <message>
        <source>, </source>
        <translation>、</translation>
    </message>
    <message>
        <source>; </source>
        <translation>；</translation>
    </message>
    <message>
        <source>{first} {second}</source>
        <translation>{first}{second}</translation>
    </message>
    <message>
        <source>{first} and {second}</source>
        <translation>{first} 和 {second}</translation>
    </message>
    <message>
        <source>{count} x {name}</source>
        <translation>{count} × {name}</translation>
    </message>
    <message>
        <source>this machine</source>
        <translation>本机</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>未知</translation>
    </message>
    <message>
        <source>an unknown version</source>
        <translation>未知版本</translation>
    </message>
    <message>
        <source>installing Python</source>
        <translation>安装 Python</translation>
    </message>
    <message>
        <source>installing the driver</source>
        <translation>安装驱动</translation>
    </message>
    <message>
        <source>a driver update</source>
        <translation>更新驱动</translation>
    </message>
    <message>
        <source>a restart</source>
        <translation>重启</translation>
    </message>
    <message>
        <source>freeing disk space</source>
        <translation>释放磁盘空间</translation>
    </message>
    <message>
        <source>the CUDA toolkit</source>
        <translation>CUDA 工具包</translation>
    </message>
    <message>
        <source>enabling long paths</source>
        <translation>启用长路径</translation>
    </message>
    <message>
        <source>its architecture could not be told from its name or PCI id (install the NVIDIA driver so it can report it)</source>
        <translation>无法从名称或 PCI ID 判断其架构（请安装 NVIDIA 驱动，以便由驱动报告）</translation>
    </message>
    <message>
        <source>PyTorch publishes ROCm builds for Linux only; on {os} an AMD GPU cannot run PyTorch&apos;s GPU builds</source>
        <translation>PyTorch 只为 Linux 发布 ROCm 版本；在 {os} 上，AMD 显卡无法运行 PyTorch 的 GPU 版本</translation>
    </message>
    <message>
        <source>its gfx architecture could not be told (install ROCm so rocm_agent_enumerator can report it)</source>
        <translation>无法判断其 gfx 架构（请安装 ROCm，以便 rocm_agent_enumerator 报告）</translation>
    </message>
    <message>
        <source>XPU builds exist for Linux and Windows only</source>
        <translation>XPU 版本只有 Linux 和 Windows 版</translation>
    </message>
    <message>
        <source>Apple GPUs are used only on macOS</source>
        <translation>Apple GPU 只在 macOS 上使用</translation>
    </message>
    <message>
        <source>unknown vendor</source>
        <translation>未知厂商</translation>
    </message>
    <message>
        <source>not usable by PyTorch</source>
        <translation>PyTorch 无法使用</translation>
    </message>
    <message>
        <source>PyTorch&apos;s XPU build supports Intel Arc GPUs, Core Ultra processors with Arc graphics and Data Center GPU Max, not these graphics</source>
        <translation>PyTorch 的 XPU 版本支持 Intel Arc 显卡、带 Arc 显卡的 Core Ultra 处理器和数据中心 GPU Max，不支持这款显卡</translation>
    </message>
    <message>
        <source>no ROCm build lists {gfx}</source>
        <translation>没有任何 ROCm 版本包含 {gfx}</translation>
    </message>
    <message>
        <source>no PyTorch build that fits this machine carries code for it</source>
        <translation>适合这台机器的 PyTorch 版本都不含适用于它的代码</translation>
    </message>
    <message>
        <source>one PyTorch build cannot drive two GPU vendors, and this one serves the {device} GPUs</source>
        <translation>一个 PyTorch 版本无法同时驱动两家厂商的显卡，这个版本服务的是 {device} 显卡</translation>
    </message>
    <message>
        <source>a Jetson&apos;s integrated GPU needs NVIDIA&apos;s PyTorch for JetPack: PyTorch&apos;s own aarch64 CUDA builds are made for server Arm and do not run on L4T</source>
        <translation>Jetson 的集成 GPU 需要 NVIDIA 为 JetPack 提供的 PyTorch：PyTorch 自己的 aarch64 CUDA 版本是为服务器 Arm 构建的，无法在 L4T 上运行</translation>
    </message>
    <message>
        <source>no Python interpreter was found</source>
        <translation>没有找到 Python 解释器</translation>
    </message>
    <message>
        <source>PyTorch publishes wheels for CPython only, not {implementation}</source>
        <translation>PyTorch 只为 CPython 发布 wheel，不支持 {implementation}</translation>
    </message>
    <message>
        <source>the Python is 32-bit; PyTorch publishes 64-bit wheels only</source>
        <translation>这个 Python 是 32 位的；PyTorch 只发布 64 位 wheel</translation>
    </message>
    <message>
        <source>the operating system is 32-bit</source>
        <translation>操作系统是 32 位的</translation>
    </message>
    <message>
        <source>Python {version} has no wheels for torch {torch}.</source>
        <translation>Python {version} 没有 torch {torch} 的 wheel。</translation>
    </message>
    <message>
        <source>Python {version} has no wheels for torch {torch} with its companions.</source>
        <translation>Python {version} 没有 torch {torch} 及其配套包的 wheel。</translation>
    </message>
    <message>
        <source>PyTorch publishes no wheels for {os} on {arch}</source>
        <translation>PyTorch 没有为 {arch} 上的 {os} 发布 wheel</translation>
    </message>
    <message>
        <source>PyTorch publishes no wheels for {os} on {arch} (Windows on Arm has nightly builds only)</source>
        <translation>PyTorch 没有为 {arch} 上的 {os} 发布 wheel（Windows on Arm 只有每日构建版）</translation>
    </message>
    <message>
        <source>Install 64-bit Python {python} (python.org or your package manager); the wizard then creates a new environment with it. Now: {problem}</source>
        <translation>请安装 64 位 Python {python}（来自 python.org 或系统的包管理器）；向导随后会用它创建新环境。目前：{problem}</translation>
    </message>
    <message>
        <source>Update the NVIDIA driver on the Windows side (from NVIDIA or Windows Update); never install a Linux driver inside WSL.</source>
        <translation>请在 Windows 端更新 NVIDIA 驱动（从 NVIDIA 官网或 Windows 更新）；切勿在 WSL 内安装 Linux 驱动。</translation>
    </message>
    <message>
        <source>Install it from NVIDIA&apos;s driver download page or the NVIDIA app.</source>
        <translation>请从 NVIDIA 驱动下载页面或 NVIDIA App 安装。</translation>
    </message>
    <message>
        <source>Install it with your distribution&apos;s package manager (e.g. &apos;sudo ubuntu-drivers install&apos;).</source>
        <translation>请用发行版的包管理器安装（例如 &apos;sudo ubuntu-drivers install&apos;）。</translation>
    </message>
    <message>
        <source>No NVIDIA driver is installed. {build} needs driver {min_driver} or newer (CUDA {cuda}). {where}</source>
        <translation>尚未安装 NVIDIA 驱动。{build} 需要 {min_driver} 或更新的驱动（CUDA {cuda}）。{where}</translation>
    </message>
    <message>
        <source>No NVIDIA driver is visible in WSL. {build} needs driver {min_driver} or newer (CUDA {cuda}). {where}</source>
        <translation>WSL 中看不到 NVIDIA 驱动。{build} 需要 {min_driver} 或更新的驱动（CUDA {cuda}）。{where}</translation>
    </message>
    <message>
        <source>Driver {version} supports CUDA up to {driver_cuda}; torch {build} needs driver {min_driver} or newer (CUDA {cuda}). {where}</source>
        <translation>驱动 {version} 最高支持 CUDA {driver_cuda}；torch {build} 需要 {min_driver} 或更新的驱动（CUDA {cuda}）。{where}</translation>
    </message>
    <message>
        <source>Restart the computer after the driver install so the new kernel module loads.</source>
        <translation>安装驱动后请重启电脑，以加载新的内核模块。</translation>
    </message>
    <message>
        <source>Secure Boot is on: the driver&apos;s kernel module must be signed; enroll the key (MOK) when the blue screen asks at the next boot.</source>
        <translation>安全启动（Secure Boot）已开启：驱动的内核模块必须签名；下次启动时出现蓝色界面提示时，请注册密钥（MOK）。</translation>
    </message>
    <message>
        <source>Restart the computer so the NVIDIA driver loads.</source>
        <translation>请重启电脑以加载 NVIDIA 驱动。</translation>
    </message>
    <message>
        <source>{build} needs about {need} GiB (downloads and the installed environment); only {free} GiB are free. Free some space or choose another folder for the environment.</source>
        <translation>{build} 大约需要 {need} GiB（下载文件和安装后的环境）；目前只有 {free} GiB 可用。请释放一些空间，或为环境选择其他文件夹。</translation>
    </message>
    <message>
        <source>{path} is in use by another program and could not be changed</source>
        <translation>{path} 正被其他程序使用，无法更改</translation>
    </message>
    <message>
        <source>close any Python or program that uses this environment (a terminal, an editor, Jupyter); if an antivirus is scanning it, wait a moment; then try again</source>
        <translation>请关闭正在使用此环境的 Python 或其他程序（终端、编辑器、Jupyter）；如果杀毒软件正在扫描它，请稍等片刻；然后重试</translation>
    </message>
    <message>
        <source>no Python interpreter was found to create the environment with</source>
        <translation>找不到可用来创建环境的 Python 解释器</translation>
    </message>
    <message>
        <source>install Python 3.12 (on Windows: winget install -e --id Python.Python.3.12), then start again, or pass --python PATH</source>
        <translation>请安装 Python 3.12（Windows 上：winget install -e --id Python.Python.3.12），然后重新开始，或使用 --python PATH 指定</translation>
    </message>
    <message>
        <source>the wizard&apos;s own folder for environments: nothing else on this computer changes</source>
        <translation>向导专用的环境文件夹：这台电脑上的其他内容都不会改变</translation>
    </message>
    <message>
        <source>Microsoft Store Python cannot write to its usual AppData folder (Windows redirects it), so the environment goes below your user folder</source>
        <translation>Microsoft Store 版 Python 无法写入通常的 AppData 文件夹（Windows 会重定向它），因此环境放在您的用户文件夹下</translation>
    </message>
    <message>
        <source>the user folder is not known, so a short folder at the root of drive C: is used</source>
        <translation>用户文件夹未知，因此使用 C 盘根目录下的一个短文件夹</translation>
    </message>
    <message>
        <source>{usual} contains characters other than plain letters, which some Python tools on Windows mishandle, so a short folder with plain letters is used</source>
        <translation>{usual} 含有非英文字母的字符，Windows 上的一些 Python 工具处理不好这种路径，因此改用一个只含英文字母的短文件夹</translation>
    </message>
    <message>
        <source>Windows limits paths to 260 characters and long paths are off here: {usual} ({length} characters) leaves too little room for torch&apos;s files (at most {room}), so a shorter folder is used. Enabling long paths lets the usual folder work</source>
        <translation>Windows 限制路径不超过 260 个字符，而这台电脑未启用长路径：{usual}（{length} 个字符）给 torch 文件留的空间不够（最多 {room} 个字符），因此改用一个更短的文件夹。启用长路径后即可使用通常的文件夹</translation>
    </message>
    <message>
        <source>this folder&apos;s path is {length} characters long: torch&apos;s files would reach {longest} of the {limit} characters Windows allows while long paths are off. Choose a folder of at most {room} characters (e.g. C:\torch-envs\cu126), or enable long paths</source>
        <translation>这个文件夹的路径长 {length} 个字符：在未启用长路径时，torch 的文件路径会达到 {longest} 个字符，超过 Windows 允许的 {limit} 个字符。请选择不超过 {room} 个字符的文件夹（例如 C:\torch-envs\cu126），或启用长路径</translation>
    </message>
    <message>
        <source>{blocking} is a file, so the environment {prefix} cannot be made there</source>
        <translation>{blocking} 是一个文件，因此无法在那里创建环境 {prefix}</translation>
    </message>
    <message>
        <source>choose a folder that does not exist yet (or an empty one) for the new environment</source>
        <translation>请为新环境选择一个尚不存在的文件夹（或一个空文件夹）</translation>
    </message>
    <message>
        <source>choose a folder of at most {room} characters, or enable long paths as administrator: {command}</source>
        <translation>请选择不超过 {room} 个字符的文件夹，或以管理员身份启用长路径：{command}</translation>
    </message>
    <message>
        <source>Optional: enable Windows long paths (administrator rights) so environments may live in longer folders: {command}</source>
        <translation>可选：启用 Windows 长路径（需要管理员权限），这样环境就可以放在路径更长的文件夹中：{command}</translation>
    </message>
    <message>
        <source>works as the machine is now, but {build} is newer; it needs: {actions}</source>
        <translation>在本机当前状态下即可使用，但 {build} 更新；后者需要先：{actions}</translation>
    </message>
    <message>
        <source>the same PyTorch release with CUDA {cuda}; needs driver {min_driver} or newer, and the current driver already runs {build}</source>
        <translation>同一 PyTorch 版本的 CUDA {cuda} 构建；需要 {min_driver} 或更新的驱动，而当前驱动已经可以运行 {build}</translation>
    </message>
    <message>
        <source>newer, but no {names} has been published for torch {torch} yet</source>
        <translation>更新，但 torch {torch} 尚未发布 {names}</translation>
    </message>
    <message>
        <source>runs on {gpus} but not on {chosen}; use it in a separate environment for those GPUs</source>
        <translation>可在 {gpus} 上运行，但不能在 {chosen} 上运行；请为这些显卡单独建一个环境使用</translation>
    </message>
    <message>
        <source>runs on the CPU only: training is many times slower</source>
        <translation>只在 CPU 上运行：训练会慢很多倍</translation>
    </message>
    <message>
        <source>{name}: not used: {reason}.</source>
        <translation>{name}：不使用：{reason}。</translation>
    </message>
    <message>
        <source>{name}: {architecture}, compute capability {cc}.</source>
        <translation>{name}：{architecture}，计算能力 {cc}。</translation>
    </message>
    <message>
        <source>{name}: {architecture}, compute capability {cc} (inferred from its name; no driver reported it).</source>
        <translation>{name}：{architecture}，计算能力 {cc}（由名称推断；没有驱动报告）。</translation>
    </message>
    <message>
        <source>NVIDIA driver {version} supports CUDA up to {cuda}.</source>
        <translation>NVIDIA 驱动 {version} 最高支持 CUDA {cuda}。</translation>
    </message>
    <message>
        <source>No NVIDIA driver is installed, so the GPU cannot be used until one is.</source>
        <translation>尚未安装 NVIDIA 驱动，装好驱动之前无法使用 GPU。</translation>
    </message>
    <message>
        <source>torch {torch}+{variant} carries GPU code for {archs}.</source>
        <translation>torch {torch}+{variant} 包含以下架构的 GPU 代码：{archs}。</translation>
    </message>
    <message>
        <source>CUDA {cuda} runs on this driver through NVIDIA&apos;s minor-version compatibility (same CUDA major).</source>
        <translation>借助 NVIDIA 的次版本兼容性（CUDA 主版本相同），CUDA {cuda} 可以在此驱动上运行。</translation>
    </message>
    <message>
        <source>{name}: AMD {gfx}; ROCm builds are chosen by gfx architecture.</source>
        <translation>{name}：AMD {gfx}；ROCm 版本按 gfx 架构选择。</translation>
    </message>
    <message>
        <source>{names}: a discrete Intel GPU gets the XPU build.</source>
        <translation>{names}：Intel 独立显卡使用 XPU 版本。</translation>
    </message>
    <message>
        <source>{name}: Intel {family}; PyTorch&apos;s XPU build supports it.</source>
        <translation>{name}：Intel {family}；PyTorch 的 XPU 版本支持它。</translation>
    </message>
    <message>
        <source>{name}: {architecture}, compute capability {cc} (inferred from its PCI id; no driver reported it).</source>
        <translation>{name}：{architecture}，计算能力 {cc}（由 PCI ID 推断；没有驱动报告）。</translation>
    </message>
    <message>
        <source>{name}: Jetson Thor runs JetPack 7&apos;s server-Arm (SBSA) CUDA stack, so PyTorch&apos;s own aarch64 CUDA 13 builds, which carry sm_110, run on it.</source>
        <translation>{name}：Jetson Thor 运行 JetPack 7 的服务器 Arm（SBSA）CUDA 软件栈，因此 PyTorch 自己的、包含 sm_110 的 aarch64 CUDA 13 版本可以在它上面运行。</translation>
    </message>
    <message>
        <source>Apple silicon: the default macOS build uses the GPU through Metal (MPS).</source>
        <translation>Apple 芯片：默认的 macOS 版本通过 Metal（MPS）使用 GPU。</translation>
    </message>
    <message>
        <source>No usable GPU: the CPU build from PyTorch&apos;s CPU index (PyPI&apos;s Linux wheel would pull gigabytes of CUDA libraries for nothing).</source>
        <translation>没有可用的 GPU：使用 PyTorch CPU 索引中的 CPU 版本（PyPI 的 Linux wheel 会白白下载数 GB 的 CUDA 库）。</translation>
    </message>
    <message>
        <source>No usable GPU: the CPU build.</source>
        <translation>没有可用的 GPU：使用 CPU 版本。</translation>
    </message>
    <message>
        <source>Windows: PyPI&apos;s torch wheel is CPU-only, so the CUDA build comes from PyTorch&apos;s own index.</source>
        <translation>Windows：PyPI 上的 torch wheel 只支持 CPU，因此 CUDA 版本来自 PyTorch 自己的索引。</translation>
    </message>
    <message>
        <source>Intel Macs: PyTorch published its last macOS x86_64 wheels with 2.2.</source>
        <translation>Intel Mac：PyTorch 最后一次发布 macOS x86_64 wheel 是 2.2 版。</translation>
    </message>
    <message>
        <source>torch {torch} is the newest release that fits; {reasons}.</source>
        <translation>torch {torch} 是适用的最新版本；{reasons}。</translation>
    </message>
    <message>
        <source>torch {torch} is the newest release that fits; newer releases do not fit.</source>
        <translation>torch {torch} 是适用的最新版本；更新的版本都不适用。</translation>
    </message>
    <message>
        <source>{torch} has no wheels for Python {python}</source>
        <translation>{torch} 没有 Python {python} 的 wheel</translation>
    </message>
    <message>
        <source>{torch} has no published {names} yet</source>
        <translation>{torch} 尚未发布 {names}</translation>
    </message>
    <message>
        <source>{torch} needs glibc {need} (this system has {have})</source>
        <translation>{torch} 需要 glibc {need}（本系统为 {have}）</translation>
    </message>
    <message>
        <source>{torch} has no build with this GPU&apos;s architecture</source>
        <translation>{torch} 没有支持此显卡架构的版本</translation>
    </message>
    <message>
        <source>{torch} has no {device} build here</source>
        <translation>{torch} 在这里没有 {device} 版本</translation>
    </message>
    <message>
        <source>No single build runs on both {chosen} and {dropped}; the plan serves {chosen}.</source>
        <translation>没有一个版本能同时在 {chosen} 和 {dropped} 上运行；方案以 {chosen} 为准。</translation>
    </message>
    <message>
        <source>Python: {problem}; a 64-bit CPython {python} is needed.</source>
        <translation>Python：{problem}；需要 64 位 CPython {python}。</translation>
    </message>
    <message>
        <source>No {device} build runs on {gpus}; falling back to the CPU build.</source>
        <translation>没有能在 {gpus} 上运行的 {device} 版本；改用 CPU 版本。</translation>
    </message>
    <message>
        <source>You asked for the CPU build.</source>
        <translation>您选择了 CPU 版本。</translation>
    </message>
    <message>
        <source>NVIDIA driver: {message}</source>
        <translation>NVIDIA 驱动：{message}</translation>
    </message>
    <message>
        <source>Disk: {free} GiB free, about {need} GiB needed.</source>
        <translation>磁盘：可用 {free} GiB，大约需要 {need} GiB。</translation>
    </message>
    <message>
        <source>torch {version} is already installed in the target environment.</source>
        <translation>目标环境中已经安装了 torch {version}。</translation>
    </message>
    <message>
        <source>Recommended: {build}.</source>
        <translation>推荐：{build}。</translation>
    </message>
    <message>
        <source>Recommended: {build}, after: {actions}.</source>
        <translation>推荐：{build}，但需先：{actions}。</translation>
    </message>
    <message>
        <source>No PyTorch build fits: {problem}.</source>
        <translation>没有适用的 PyTorch 版本：{problem}。</translation>
    </message>
    <message>
        <source>No PyTorch build fits: glibc {glibc} is older than any release needs (2.17).</source>
        <translation>没有适用的 PyTorch 版本：glibc {glibc} 比任何版本所需的都旧（2.17）。</translation>
    </message>
    <message>
        <source>No PyTorch build fits this machine ({platform}, Python {python}).</source>
        <translation>没有适合本机的 PyTorch 版本（{platform}，Python {python}）。</translation>
    </message>
    <message>
        <source>NVIDIA driver: {words}</source>
        <translation>NVIDIA 驱动：{words}</translation>
    </message>
    <message>
        <source>The GPU&apos;s architecture was inferred from its name because no driver reported it; the plan is confirmed once the driver is installed.</source>
        <translation>由于没有驱动报告，显卡架构是由名称推断的；安装驱动后方案即可确认。</translation>
    </message>
    <message>
        <source>Part of what the plan relies on for {build} is inferred, not verified; the index is checked for every wheel before anything is downloaded.</source>
        <translation>方案中关于 {build} 的部分依据是推断的，尚未验证；下载任何文件之前都会在索引中核对每个 wheel。</translation>
    </message>
    <message>
        <source>The driver supports CUDA {driver_cuda} and the build uses CUDA {cuda}: it runs through minor-version compatibility, but code that JIT-compiles PTX may fail until the driver is updated.</source>
        <translation>驱动支持 CUDA {driver_cuda}，而该版本使用 CUDA {cuda}：借助次版本兼容性可以运行，但在更新驱动之前，需要即时编译 PTX 的代码可能会失败。</translation>
    </message>
    <message>
        <source>WSL: the GPU driver is the Windows one; never install a Linux NVIDIA driver inside WSL.</source>
        <translation>WSL：GPU 驱动就是 Windows 上的驱动；切勿在 WSL 内安装 Linux 版 NVIDIA 驱动。</translation>
    </message>
    <message>
        <source>Python {version} is managed by the operating system (PEP 668): the wizard installs into a new virtual environment and leaves the system Python untouched.</source>
        <translation>Python {version} 由操作系统管理（PEP 668）：向导会安装到新的虚拟环境中，不改动系统 Python。</translation>
    </message>
    <message>
        <source>Python from the Microsoft Store runs in a sandbox with redirected folders; a python.org Python avoids path problems.</source>
        <translation>Microsoft Store 版 Python 运行在文件夹被重定向的沙盒中；使用 python.org 的 Python 可避免路径问题。</translation>
    </message>
    <message>
        <source>A torch {version} in your user site-packages would shadow the environment&apos;s; the wizard runs Python with user site disabled.</source>
        <translation>用户 site-packages 中的 torch {version} 会遮盖环境中的 torch；向导运行 Python 时会禁用用户 site。</translation>
    </message>
    <message>
        <source>The target environment already has torch {installed}: it will be replaced by {target} (you are asked first).</source>
        <translation>目标环境中已有 torch {installed}：它将被替换为 {target}（会先征求您的同意）。</translation>
    </message>
    <message>
        <source>The target environment already has a CPU-only torch {installed}: it will be replaced by {target} (you are asked first).</source>
        <translation>目标环境中已有仅支持 CPU 的 torch {installed}：它将被替换为 {target}（会先征求您的同意）。</translation>
    </message>
    <message>
        <source>Secure Boot is on: the NVIDIA kernel module must be signed. Distribution packages do this; you will be asked to enroll a key (MOK) at the next boot.</source>
        <translation>安全启动（Secure Boot）已开启：NVIDIA 内核模块必须签名。发行版的软件包会完成签名；下次启动时会要求您注册密钥（MOK）。</translation>
    </message>
    <message>
        <source>{names} ({architectures}): torch {torch} with CUDA {cuda} is the last PyTorch build for this GPU generation; torch {next} and later carry no code for it.</source>
        <translation>{names}（{architectures}）：带 CUDA {cuda} 的 torch {torch} 是这一代显卡的最后一个 PyTorch 版本；torch {next} 及以后的版本不再包含它的代码。</translation>
    </message>
    <message>
        <source>NVIDIA&apos;s {branch} is its last driver branch.</source>
        <translation>NVIDIA 的 {branch} 是它的最后一个驱动分支。</translation>
    </message>
    <message>
        <source>torch {torch} supports Python {python} only experimentally (PyTorch&apos;s release notes); an older Python is the safer choice for this release.</source>
        <translation>torch {torch} 对 Python {python} 的支持仅为实验性的（见 PyTorch 发布说明）；对这个版本来说，较旧的 Python 更稳妥。</translation>
    </message>
    <message>
        <source>Choose the {branch} branch: it is the last one that supports {architectures} GPUs.</source>
        <translation>请选择 {branch} 分支：它是支持 {architectures} 显卡的最后一个分支。</translation>
    </message>
    <message>
        <source>The GPU&apos;s architecture was inferred from its PCI id because no driver reported it; the plan is confirmed once the driver is installed.</source>
        <translation>由于没有驱动报告，显卡架构是由 PCI ID 推断的；安装驱动后方案即可确认。</translation>
    </message>
    <message>
        <source>{name} ({architecture}) is not used: {build} has no code for it.</source>
        <translation>不使用 {name}（{architecture}）：{build} 不含适用于它的代码。</translation>
    </message>
    <message>
        <source>To use it, install {other} (listed under the alternatives) in a separate environment and run programs there with CUDA_DEVICE_ORDER=PCI_BUS_ID and CUDA_VISIBLE_DEVICES={other_devices}; in this environment, the same order with CUDA_VISIBLE_DEVICES={served_devices} keeps PyTorch on the GPUs its build serves.</source>
        <translation>要使用它，请在单独的环境中安装 {other}（见其他可选版本），并在那里以 CUDA_DEVICE_ORDER=PCI_BUS_ID 和 CUDA_VISIBLE_DEVICES={other_devices} 运行程序；在本环境中，用同样的顺序加上 CUDA_VISIBLE_DEVICES={served_devices}，可让 PyTorch 只使用其版本支持的显卡。</translation>
    </message>
    <message>
        <source>{name} is not used: {reason}.</source>
        <translation>不使用 {name}：{reason}。</translation>
    </message>
    <message>
        <source>{name}: the wizard&apos;s GPU catalog does not know the architecture of PCI id {pci_id}, and the name does not tell it; install the driver so it reports it, or choose a build with --variant.</source>
        <translation>{name}：向导的显卡目录不知道 PCI ID {pci_id} 的架构，名称也无法说明；请安装驱动让它报告架构，或用 --variant 选择版本。</translation>
    </message>
    <message>
        <source>{name}: the wizard&apos;s GPU catalog does not know the architecture of PCI id {pci_id}; it was taken from the name and is confirmed once the driver reports it.</source>
        <translation>{name}：向导的显卡目录不知道 PCI ID {pci_id} 的架构；架构是由名称得出的，驱动报告后即可确认。</translation>
    </message>
    <message>
        <source>{names}: the XPU build needs Intel&apos;s GPU driver first: on Windows the Intel Arc &amp; Iris Xe graphics driver, on Linux the client GPU packages that Intel&apos;s &apos;PyTorch Prerequisites for Intel GPUs&apos; page lists.</source>
        <translation>{names}：XPU 版本需要先安装 Intel 的显卡驱动：Windows 上是 Intel Arc 和 Iris Xe 显卡驱动，Linux 上是 Intel“PyTorch Prerequisites for Intel GPUs”页面列出的客户端 GPU 软件包。</translation>
    </message>
    <message>
        <source>{name}: PyTorch&apos;s Intel GPU guide validates it on Linux from {distro} on; an older distribution&apos;s kernel may not drive it yet.</source>
        <translation>{name}：PyTorch 的 Intel GPU 指南在 Linux 上从 {distro} 起验证过它；较旧发行版的内核可能还无法驱动它。</translation>
    </message>
    <message>
        <source>{name}: the wizard does not install GPU PyTorch on this Jetson. PyTorch&apos;s own aarch64 CUDA builds are made for server Arm (Grace) and do not run on Jetson Linux (L4T). Install NVIDIA&apos;s PyTorch for your JetPack version instead: NVIDIA&apos;s guide &apos;Installing PyTorch for Jetson Platform&apos; (https://docs.nvidia.com/deeplearning/frameworks/install-pytorch-jetson-platform/) or the l4t-pytorch container; the CPU build planned here runs meanwhile.</source>
        <translation>{name}：向导不在这台 Jetson 上安装 GPU 版 PyTorch。PyTorch 自己的 aarch64 CUDA 版本是为服务器 Arm（Grace）构建的，无法在 Jetson Linux（L4T）上运行。请改为安装 NVIDIA 为您的 JetPack 版本提供的 PyTorch：参见 NVIDIA 指南“Installing PyTorch for Jetson Platform”（https://docs.nvidia.com/deeplearning/frameworks/install-pytorch-jetson-platform/）或使用 l4t-pytorch 容器；在此期间可先使用这里规划的 CPU 版本。</translation>
    </message>
    <message>
        <source>{name} ({family}): PyTorch&apos;s own ROCm builds are for Linux only. Two routes the wizard does not install: AMD publishes its own PyTorch wheels with ROCm for Windows for RDNA3 and RDNA4 GPUs (see AMD&apos;s ROCm documentation; still a preview), and Microsoft&apos;s torch-directml runs an older PyTorch on any DirectX 12 GPU, slower and with fewer operators.</source>
        <translation>{name}（{family}）：PyTorch 自己的 ROCm 版本只适用于 Linux。有两条向导不负责安装的途径：AMD 为 RDNA3 和 RDNA4 显卡发布了自己的 Windows 版 ROCm PyTorch wheel（见 AMD 的 ROCm 文档；仍是预览版）；微软的 torch-directml 可在任何 DirectX 12 显卡上运行较旧的 PyTorch，但速度更慢、支持的算子更少。</translation>
    </message>
    <message>
        <source>{name}: PyTorch&apos;s own ROCm builds are for Linux only, and AMD&apos;s PyTorch wheels for Windows support RDNA3 and RDNA4 GPUs only. Microsoft&apos;s torch-directml runs an older PyTorch on any DirectX 12 GPU, slower and with fewer operators; the wizard does not install it.</source>
        <translation>{name}：PyTorch 自己的 ROCm 版本只适用于 Linux，AMD 的 Windows 版 PyTorch wheel 也只支持 RDNA3 和 RDNA4 显卡。微软的 torch-directml 可在任何 DirectX 12 显卡上运行较旧的 PyTorch，但速度更慢、支持的算子更少；向导不会安装它。</translation>
    </message>
    <message>
        <source>{name} ({gfx}) is in no ROCm build&apos;s list. Unsupported by AMD and at your own risk: with HSA_OVERRIDE_GFX_VERSION={version} set before Python starts, ROCm treats it as {target}, and torch {torch}+{variant} may then run on it. The wizard plans without it and does not set it.</source>
        <translation>{name}（{gfx}）不在任何 ROCm 版本的列表中。AMD 不支持此做法，风险自负：在启动 Python 之前设置 HSA_OVERRIDE_GFX_VERSION={version}，ROCm 会把它当作 {target}，torch {torch}+{variant} 之后可能可以在它上面运行。向导的方案不依赖此设置，也不会替您设置。</translation>
    </message>
    <message>
        <source>You chose the CPU build.</source>
        <translation>您选择了 CPU 版本。</translation>
    </message>
    <message>
        <source>{build} has no GPU code for it ({architecture}); see the alternatives.</source>
        <translation>{build} 不含适用于它的 GPU 代码（{architecture}）；请查看其他可选版本。</translation>
    </message>
    <message>
        <source>The build serves the {device} GPUs on this machine; one PyTorch build cannot drive two GPU vendors.</source>
        <translation>该版本服务于本机的 {device} 显卡；一个 PyTorch 版本无法同时驱动两家厂商的显卡。</translation>
    </message>
    <message>
        <source>{build} has no code for compute capability {cc}.</source>
        <translation>{build} 不含计算能力 {cc} 的代码。</translation>
    </message>
    <message>
        <source>{architecture} ({code}): runs {build} {how}.</source>
        <translation>{architecture}（{code}）：{how}运行 {build}。</translation>
    </message>
    <message>
        <source>{architecture} ({code}) (architecture inferred from the name): runs {build} {how}.</source>
        <translation>{architecture}（{code}）（架构由名称推断）：{how}运行 {build}。</translation>
    </message>
    <message>
        <source>natively</source>
        <translation>原生</translation>
    </message>
    <message>
        <source>through PTX just-in-time compilation</source>
        <translation>通过 PTX 即时编译</translation>
    </message>
    <message>
        <source>natively once the driver is installed</source>
        <translation>安装驱动后即可原生</translation>
    </message>
    <message>
        <source>through PTX just-in-time compilation once the driver is installed</source>
        <translation>安装驱动后即可通过 PTX 即时编译</translation>
    </message>
    <message>
        <source>{gfx} is in the {variant} build&apos;s architecture list.</source>
        <translation>{gfx} 在 {variant} 版本的架构列表中。</translation>
    </message>
    <message>
        <source>discrete Intel GPU: runs the XPU build.</source>
        <translation>Intel 独立显卡：运行 XPU 版本。</translation>
    </message>
    <message>
        <source>Intel {family}: runs the XPU build.</source>
        <translation>Intel {family}：运行 XPU 版本。</translation>
    </message>
    <message>
        <source>Apple GPU: used through Metal (MPS).</source>
        <translation>Apple GPU：通过 Metal（MPS）使用。</translation>
    </message>
    <message>
        <source>not used by the chosen build.</source>
        <translation>所选版本不使用它。</translation>
    </message>
    <message>
        <source>torch {torch} is not a release the wizard knows</source>
        <translation>向导不认识 torch {torch} 这个版本</translation>
    </message>
    <message>
        <source>known releases: {known}; &apos;torch-gpu-setup data refresh&apos; reads newer ones</source>
        <translation>已知版本：{known}；&apos;torch-gpu-setup data refresh&apos; 可读取更新的版本</translation>
    </message>
    <message>
        <source>variant &apos;{variant}&apos; has no builds for {platform}</source>
        <translation>变体 &apos;{variant}&apos; 没有 {platform} 的版本</translation>
    </message>
    <message>
        <source>choose one of: {known}</source>
        <translation>请从以下选择：{known}</translation>
    </message>
    <message>
        <source>{new} needs the open kernel modules, which do not support {old} (pre-Turing): that GPU will not be usable with this driver.</source>
        <translation>{new} 需要开源内核模块，而开源模块不支持 {old}（Turing 之前的架构）：使用此驱动时那块显卡将无法使用。</translation>
    </message>
    <message>
        <source>{old} is older than Turing: it needs the proprietary kernel modules and the R{branch} branch, the last one that supports it.</source>
        <translation>{old} 早于 Turing 架构：它需要专有内核模块和 R{branch} 分支（支持它的最后一个分支）。</translation>
    </message>
    <message>
        <source>The open kernel modules are NVIDIA&apos;s default since R560 and required for Blackwell GPUs.</source>
        <translation>开源内核模块自 R560 起是 NVIDIA 的默认选项，Blackwell 显卡必须使用。</translation>
    </message>
    <message>
        <source>nouveau (the open-source driver) is replaced: the NVIDIA packages blacklist it themselves; the switch happens at the next restart.</source>
        <translation>nouveau（开源驱动）将被替换：NVIDIA 软件包会自行将其列入黑名单；切换在下次重启时生效。</translation>
    </message>
    <message>
        <source>Secure Boot is on: the NVIDIA kernel module must be signed by a key the firmware trusts. The wizard cannot enroll a key itself: after the install you will be asked at the next boot (a blue MokManager screen) to enroll it with the one-time password you chose.</source>
        <translation>安全启动（Secure Boot）已开启：NVIDIA 内核模块必须由固件信任的密钥签名。向导无法自行注册密钥：安装后下次启动时（蓝色的 MokManager 界面）会要求您用自己设定的一次性密码注册它。</translation>
    </message>
    <message>
        <source>Install the NVIDIA driver</source>
        <translation>安装 NVIDIA 驱动</translation>
    </message>
    <message>
        <source>Install Python {version} (64-bit)</source>
        <translation>安装 Python {version}（64 位）</translation>
    </message>
    <message>
        <source>Enable long paths in Windows (optional, administrator rights)</source>
        <translation>在 Windows 中启用长路径（可选，需要管理员权限）</translation>
    </message>
    <message>
        <source>Or the python.org installer for this user only, silently: python-{version}.x-amd64.exe /quiet InstallAllUsers=0 PrependPath=1</source>
        <translation>或者使用 python.org 的安装程序，仅为当前用户静默安装：python-{version}.x-amd64.exe /quiet InstallAllUsers=0 PrependPath=1</translation>
    </message>
    <message>
        <source>Or the Python install manager: py install {version}</source>
        <translation>或者使用 Python 安装管理器：py install {version}</translation>
    </message>
    <message>
        <source>Install it with your distribution&apos;s package manager (e.g. sudo apt install python{version} python{version}-venv), or per user with uv: uv python install {version}</source>
        <translation>用发行版的包管理器安装（例如 sudo apt install python{version} python{version}-venv），或用 uv 为当前用户安装：uv python install {version}</translation>
    </message>
    <message>
        <source>Install it from python.org, or with Homebrew: brew install python@{version}</source>
        <translation>从 python.org 安装，或用 Homebrew 安装：brew install python@{version}</translation>
    </message>
    <message>
        <source>{distro} is not one the wizard has commands for: install the NVIDIA driver with your distribution&apos;s package manager, or NVIDIA&apos;s CUDA repository (&apos;nvidia-open&apos; / &apos;cuda-drivers&apos;). The NVIDIA .run installer is an expert fallback: it bypasses the package manager and breaks on kernel updates.</source>
        <translation>向导没有适用于 {distro} 的命令：请用发行版的包管理器或 NVIDIA 的 CUDA 软件源（&apos;nvidia-open&apos; / &apos;cuda-drivers&apos;）安装 NVIDIA 驱动。NVIDIA 的 .run 安装程序只适合专家作为后备：它绕过包管理器，内核更新后会失效。</translation>
    </message>
    <message>
        <source>This distribution</source>
        <translation>此发行版</translation>
    </message>
    <message>
        <source>No packaged driver for this GPU here.</source>
        <translation>这里没有适用于此显卡的驱动软件包。</translation>
    </message>
    <message>
        <source>These commands have not yet been tried on a real {distro} system by this project: compare them with your distribution&apos;s NVIDIA guide before running them.</source>
        <translation>本项目尚未在真实的 {distro} 系统上试过这些命令：运行前请与您的发行版的 NVIDIA 安装指南核对。</translation>
    </message>
    <message>
        <source>Install the NVIDIA driver (open kernel modules) on {distro}</source>
        <translation>在 {distro} 上安装 NVIDIA 驱动（开源内核模块）</translation>
    </message>
    <message>
        <source>Install the NVIDIA driver (proprietary kernel modules) on {distro}</source>
        <translation>在 {distro} 上安装 NVIDIA 驱动（专有内核模块）</translation>
    </message>
    <message>
        <source>The wizard does not know NVIDIA&apos;s product id for {gpus}: pass --pfid (see ZenitH-AT/nvidia-data gpu-data.json) or download the driver from {page}.</source>
        <translation>向导不知道 {gpus} 的 NVIDIA 产品 ID：请传入 --pfid（参见 ZenitH-AT/nvidia-data 的 gpu-data.json），或从 {page} 下载驱动。</translation>
    </message>
    <message>
        <source>this GPU</source>
        <translation>此显卡</translation>
    </message>
    <message>
        <source>The installer runs silently with administrator rights after you confirm (a UAC prompt); restart afterwards. NVIDIA publishes no checksum for it: the download is checked for completeness and comes only from NVIDIA&apos;s servers over HTTPS.</source>
        <translation>经您确认（UAC 提示）后，安装程序以管理员权限静默运行；完成后请重启。NVIDIA 没有为它发布校验和：下载会检查完整性，并且只通过 HTTPS 从 NVIDIA 的服务器获取。</translation>
    </message>
    <message>
        <source>Install the newest NVIDIA driver for Windows</source>
        <translation>安装最新的 Windows 版 NVIDIA 驱动</translation>
    </message>
    <message>
        <source>Update the NVIDIA driver on the Windows side</source>
        <translation>在 Windows 端更新 NVIDIA 驱动</translation>
    </message>
    <message>
        <source>WSL uses the Windows NVIDIA driver, mapped into Linux under /usr/lib/wsl/lib. Do not install a Linux NVIDIA driver inside WSL: it would break GPU access.</source>
        <translation>WSL 使用 Windows 上的 NVIDIA 驱动，它被映射到 Linux 的 /usr/lib/wsl/lib 下。不要在 WSL 内安装 Linux 版 NVIDIA 驱动：那会破坏 GPU 访问。</translation>
    </message>
    <message>
        <source>On Windows: open {page} (or the NVIDIA app), install the newest driver for your GPU, then run &apos;wsl --shutdown&apos; and start WSL again.</source>
        <translation>在 Windows 上：打开 {page}（或 NVIDIA App），为您的显卡安装最新驱动，然后运行 &apos;wsl --shutdown&apos; 并重新启动 WSL。</translation>
    </message>
    <message>
        <source>Only for compiling CUDA extensions against torch +{variant}: the toolkit must match its CUDA {cuda}. Running PyTorch does not need it.</source>
        <translation>仅在针对 torch +{variant} 编译 CUDA 扩展时需要：工具包必须与其 CUDA {cuda} 匹配。运行 PyTorch 不需要它。</translation>
    </message>
    <message>
        <source>CUDA toolkit {version}</source>
        <translation>CUDA 工具包 {version}</translation>
    </message>
    <message>
        <source>The wizard&apos;s data has no installer for CUDA {cuda}; pick it in NVIDIA&apos;s archive.</source>
        <translation>向导的数据中没有 CUDA {cuda} 的安装程序；请在 NVIDIA 的归档页面中选择。</translation>
    </message>
    <message>
        <source>CUDA toolkit {version} (optional)</source>
        <translation>CUDA 工具包 {version}（可选）</translation>
    </message>
    <message>
        <source>Preferred: the redistributable archives (sha256-verified, no administrator rights, no driver): &apos;installers --toolkit --fetch DIR&apos; downloads them.</source>
        <translation>推荐：可再分发压缩包（经 sha256 校验，无需管理员权限，不含驱动）：&apos;installers --toolkit --fetch DIR&apos; 会下载它们。</translation>
    </message>
    <message>
        <source>Full installer: {installer} (run with {args}; toolkit only, never its bundled driver).</source>
        <translation>完整安装程序：{installer}（使用 {args} 运行；只装工具包，绝不安装其捆绑的驱动）。</translation>
    </message>
    <message>
        <source>cuDNN {version} for CUDA {major} (optional)</source>
        <translation>适用于 CUDA {major} 的 cuDNN {version}（可选）</translation>
    </message>
    <message>
        <source>Only for extensions that call cuDNN directly; the PyTorch wheels bring their own cuDNN.</source>
        <translation>仅供直接调用 cuDNN 的扩展使用；PyTorch 的 wheel 自带 cuDNN。</translation>
    </message>
    <message>
        <source>cuDNN for CUDA {major} (optional)</source>
        <translation>适用于 CUDA {major} 的 cuDNN（可选）</translation>
    </message>
    <message>
        <source>Only for extensions that call cuDNN directly.</source>
        <translation>仅供直接调用 cuDNN 的扩展使用。</translation>
    </message>
    <message>
        <source>The wizard&apos;s data names no cuDNN release for CUDA {major}; the listing at {url} has the manifests.</source>
        <translation>向导的数据中没有适用于 CUDA {major} 的 cuDNN 版本；{url} 的列表中有相应清单。</translation>
    </message>
    <message>
        <source>The plan has no build (status: {status}); nothing to install.</source>
        <translation>方案中没有可安装的版本（状态：{status}）；无需安装任何东西。</translation>
    </message>
    <message>
        <source>Restart the computer</source>
        <translation>重启电脑</translation>
    </message>
    <message>
        <source>Secure Boot: if a blue &apos;Perform MOK management&apos; screen appears, choose &apos;Enroll MOK&apos;, then &apos;Continue&apos;, and type the one-time password you set.</source>
        <translation>安全启动：如果出现蓝色的 &apos;Perform MOK management&apos; 界面，请选择 &apos;Enroll MOK&apos;，然后选 &apos;Continue&apos;，并输入您设定的一次性密码。</translation>
    </message>
    <message>
        <source>You do not need the CUDA toolkit or cuDNN: torch +{variant} brings its own CUDA runtime and cuDNN. Only to compile CUDA extensions: add --toolkit.</source>
        <translation>您不需要 CUDA 工具包或 cuDNN：torch +{variant} 自带 CUDA 运行时和 cuDNN。只有编译 CUDA 扩展时才需要：加上 --toolkit。</translation>
    </message>
    <message>
        <source>The NVIDIA driver already fits this build: no driver install is needed.</source>
        <translation>当前 NVIDIA 驱动已适用于此版本：无需安装驱动。</translation>
    </message>
    <message>
        <source>The recommended build uses the {device}: nothing from NVIDIA is needed.</source>
        <translation>推荐的版本使用 {device}：不需要 NVIDIA 的任何组件。</translation>
    </message>
    <message>
        <source>cancelled: {command}</source>
        <translation>已取消：{command}</translation>
    </message>
    <message>
        <source>run the remaining commands yourself</source>
        <translation>请自行运行剩余的命令</translation>
    </message>
    <message>
        <source>&apos;{command}&apos; failed (exit code {code})</source>
        <translation>&apos;{command}&apos; 失败（退出码 {code}）</translation>
    </message>
    <message>
        <source>the administrator password was not given</source>
        <translation>没有提供管理员密码</translation>
    </message>
    <message>
        <source>{tool} was not found in a folder on PATH that can be trusted: one in the current folder, or reached through an empty or relative PATH entry, is never run</source>
        <translation>在 PATH 中可信任的文件夹里找不到 {tool}：位于当前文件夹、或经由空的或相对的 PATH 条目找到的 {tool} 一律不会运行</translation>
    </message>
    <message>
        <source>install {tool}, or run the listed commands yourself as administrator</source>
        <translation>请安装 {tool}，或以管理员身份自行运行列出的命令</translation>
    </message>
    <message>
        <source>read the output above; nothing after this command was run</source>
        <translation>请阅读上面的输出；此命令之后的命令都没有运行</translation>
    </message>
    <message>
        <source>Windows asked for administrator permission and it was declined, so the installer did not run and nothing was changed.</source>
        <translation>Windows 请求管理员权限，但被拒绝了，因此安装程序没有运行，也没有做任何更改。</translation>
    </message>
    <message>
        <source>run it again and choose Yes when Windows asks, or ask someone with an administrator account on this computer to run it</source>
        <translation>请重新运行，并在 Windows 询问时选择“是”；或者请这台电脑上有管理员账户的人来运行</translation>
    </message>
    <message>
        <source>Restart the computer after the driver install so Windows uses the new driver (the silent install does not restart by itself).</source>
        <translation>驱动安装完成后请重启电脑，以便 Windows 使用新驱动（静默安装不会自动重启）。</translation>
    </message>
    <message>
        <source>the download broke off after {received}: the connection was closed early</source>
        <translation>下载在 {received} 后中断：连接被提前关闭</translation>
    </message>
    <message>
        <source>{done} of {total} bytes</source>
        <translation>{done} / {total} 字节</translation>
    </message>
    <message>
        <source>check the internet connection (and proxy settings) and try again</source>
        <translation>请检查网络连接（和代理设置）后重试</translation>
    </message>
    <message>
        <source>this Python is managed by the operating system (PEP 668); pip may not change it</source>
        <translation>此 Python 由操作系统管理（PEP 668）；pip 不能修改它</translation>
    </message>
    <message>
        <source>install into a virtual environment instead: torch-gpu-setup install --new-venv DIR</source>
        <translation>请改为安装到虚拟环境中：torch-gpu-setup install --new-venv DIR</translation>
    </message>
    <message>
        <source>a downloaded file does not match its published sha256 hash</source>
        <translation>下载的文件与其公布的 sha256 哈希不符</translation>
    </message>
    <message>
        <source>the file was damaged or altered on the way (proxy, mirror, antivirus): delete the wheelhouse copy and try again, or use another network</source>
        <translation>文件在传输途中被损坏或篡改（代理、镜像、杀毒软件）：请删除 wheelhouse 中的副本后重试，或换一个网络</translation>
    </message>
    <message>
        <source>the disk is full</source>
        <translation>磁盘已满</translation>
    </message>
    <message>
        <source>pip needs room to unpack torch and its libraries: free disk space or choose an environment on another drive, then try again</source>
        <translation>pip 需要空间来解压 torch 及其依赖库：请释放磁盘空间，或在另一个磁盘上选择环境，然后重试</translation>
    </message>
    <message>
        <source>the secure connection to the package index failed (TLS certificate not trusted)</source>
        <translation>与软件包索引的安全连接失败（TLS 证书不受信任）</translation>
    </message>
    <message>
        <source>a company proxy may inspect TLS: set pip&apos;s &apos;cert&apos; (PIP_CERT or pip.conf) to your organisation&apos;s CA bundle, or ask IT for it</source>
        <translation>公司代理可能在检查 TLS：请把 pip 的 &apos;cert&apos;（PIP_CERT 或 pip.conf）设为贵单位的 CA 证书包，或向 IT 部门索取</translation>
    </message>
    <message>
        <source>the proxy refused or could not forward the connection</source>
        <translation>代理拒绝或无法转发连接</translation>
    </message>
    <message>
        <source>check the proxy address and credentials (HTTPS_PROXY, or &apos;proxy&apos; in pip.conf)</source>
        <translation>请检查代理地址和凭据（HTTPS_PROXY，或 pip.conf 中的 &apos;proxy&apos;）</translation>
    </message>
    <message>
        <source>the package index could not be reached, or the connection broke during a download</source>
        <translation>无法连接软件包索引，或下载过程中连接中断</translation>
    </message>
    <message>
        <source>check the internet connection (and proxy settings) and try again; a download that broke off is retried from the start</source>
        <translation>请检查网络连接（和代理设置）后重试；中断的下载会从头重试</translation>
    </message>
    <message>
        <source>pip may not write to this environment (permission denied)</source>
        <translation>pip 无权写入此环境（权限被拒绝）</translation>
    </message>
    <message>
        <source>choose an environment you own (torch-gpu-setup install --new-venv DIR), or close programs that use it (on Windows a running Python keeps torch&apos;s DLLs locked)</source>
        <translation>请选择您自己拥有的环境（torch-gpu-setup install --new-venv DIR），或关闭正在使用它的程序（在 Windows 上，运行中的 Python 会锁住 torch 的 DLL）</translation>
    </message>
    <message>
        <source>the requested packages conflict with each other or with a constraint</source>
        <translation>请求的软件包之间或与某个约束相互冲突</translation>
    </message>
    <message>
        <source>a constraints file (PIP_CONSTRAINT, &apos;constraint&apos; in pip.conf, or torch-gpu-setup-constraints.txt in the environment) may pin another torch: remove it or choose a matching version</source>
        <translation>某个约束文件（PIP_CONSTRAINT、pip.conf 中的 &apos;constraint&apos;，或环境中的 torch-gpu-setup-constraints.txt）可能固定了另一个 torch 版本：请删除它或选择相符的版本</translation>
    </message>
    <message>
        <source>no wheel of the requested version exists for this Python and platform on the index</source>
        <translation>索引中没有适用于此 Python 和平台的所请求版本的 wheel</translation>
    </message>
    <message>
        <source>no wheel for {requirement} on the index for this Python and platform</source>
        <translation>索引中没有适用于此 Python 和平台的 {requirement} 的 wheel</translation>
    </message>
    <message>
        <source>check the torch version, the variant and the Python version (torch has no wheels for very new or very old Pythons); run `torch-gpu-setup plan` to see what is available</source>
        <translation>请检查 torch 版本、变体和 Python 版本（torch 没有适用于很新或很旧 Python 的 wheel）；运行 `torch-gpu-setup plan` 查看可用的版本</translation>
    </message>
    <message>
        <source>pip failed (exit code {code})</source>
        <translation>pip 失败（退出码 {code}）</translation>
    </message>
    <message>
        <source>pip stopped with this error: {error}</source>
        <translation>pip 因以下错误而停止：{error}</translation>
    </message>
    <message>
        <source>a downloaded package file is damaged (it is not a valid wheel)</source>
        <translation>下载的软件包文件已损坏（不是有效的 wheel 文件）</translation>
    </message>
    <message>
        <source>the server or a proxy sent a broken file (it was deleted): try again, or choose another mirror</source>
        <translation>服务器或代理发送了损坏的文件（已删除）：请重试，或选择其他镜像</translation>
    </message>
    <message>
        <source>see the details below, or run pip yourself with -v</source>
        <translation>请查看下面的详细信息，或自行用 -v 运行 pip</translation>
    </message>
    <message>
        <source>NVIDIA driver {version} is working.</source>
        <translation>NVIDIA 驱动 {version} 工作正常。</translation>
    </message>
    <message>
        <source>NVIDIA driver {version} is working (supports CUDA up to {cuda}).</source>
        <translation>NVIDIA 驱动 {version} 工作正常（最高支持 CUDA {cuda}）。</translation>
    </message>
    <message>
        <source>Restart the computer.</source>
        <translation>请重启电脑。</translation>
    </message>
    <message>
        <source>Restart the computer; if the error stays, reinstall the NVIDIA driver.</source>
        <translation>请重启电脑；如果错误仍然存在，请重新安装 NVIDIA 驱动。</translation>
    </message>
    <message>
        <source>The NVIDIA driver was updated but the old version is still running.</source>
        <translation>NVIDIA 驱动已更新，但运行的仍是旧版本。</translation>
    </message>
    <message>
        <source>Restart the computer to finish the driver update.</source>
        <translation>请重启电脑以完成驱动更新。</translation>
    </message>
    <message>
        <source>The NVIDIA driver is installed but not loaded.</source>
        <translation>NVIDIA 驱动已安装，但没有加载。</translation>
    </message>
    <message>
        <source>Restart the computer; if that does not help, Secure Boot may have rejected the driver or the open-source nouveau driver may be using the card.</source>
        <translation>请重启电脑；如果仍然不行，可能是安全启动（Secure Boot）拒绝了该驱动，或者开源的 nouveau 驱动正在占用显卡。</translation>
    </message>
    <message>
        <source>The NVIDIA driver is installed but not loaded: the open-source nouveau driver is using the card.</source>
        <translation>NVIDIA 驱动已安装，但没有加载：开源的 nouveau 驱动正在占用显卡。</translation>
    </message>
    <message>
        <source>Disable nouveau (blacklist it and rebuild the initramfs), then restart the computer.</source>
        <translation>请禁用 nouveau（将其加入黑名单并重新生成 initramfs），然后重启电脑。</translation>
    </message>
    <message>
        <source>The NVIDIA driver is installed but not loaded: Secure Boot is on and probably refused the driver&apos;s unsigned kernel module.</source>
        <translation>NVIDIA 驱动已安装，但没有加载：安全启动（Secure Boot）已开启，很可能拒绝了驱动未签名的内核模块。</translation>
    </message>
    <message>
        <source>Enroll the driver&apos;s signing key (mokutil --import, then &apos;Enroll MOK&apos; at the next boot) or use your distribution&apos;s signed driver packages, then restart.</source>
        <translation>请登记驱动的签名密钥（运行 mokutil --import，下次启动时选择“Enroll MOK”），或改用发行版提供的已签名驱动包，然后重启。</translation>
    </message>
    <message>
        <source>The NVIDIA driver is installed but not loaded: a restart is probably pending after the install.</source>
        <translation>NVIDIA 驱动已安装，但没有加载：安装后很可能还需要重启电脑。</translation>
    </message>
    <message>
        <source>This program is not allowed to talk to the NVIDIA driver.</source>
        <translation>本程序没有访问 NVIDIA 驱动的权限。</translation>
    </message>
    <message>
        <source>Run it as a user with access to the GPU devices.</source>
        <translation>请以有权访问 GPU 设备的用户身份运行。</translation>
    </message>
    <message>
        <source>Run it as a user with access to the GPU (on Linux: the video/render group, or outside the container or sandbox).</source>
        <translation>请以有权访问 GPU 的用户身份运行（在 Linux 上：属于 video/render 用户组，或在容器、沙盒之外运行）。</translation>
    </message>
    <message>
        <source>The operating system blocked access to the GPU (container or sandbox limits).</source>
        <translation>操作系统阻止了对 GPU 的访问（容器或沙盒的限制）。</translation>
    </message>
    <message>
        <source>Run the wizard outside the container or sandbox, or give it access to the GPU devices.</source>
        <translation>请在容器或沙盒之外运行本向导，或允许它访问 GPU 设备。</translation>
    </message>
    <message>
        <source>A GPU stopped responding (it has fallen off the bus).</source>
        <translation>有一块 GPU 停止响应（已从总线上掉线）。</translation>
    </message>
    <message>
        <source>Shut the computer down, check the card&apos;s seating and power cables, then start it again.</source>
        <translation>请关机，检查显卡是否插牢以及供电线，然后重新开机。</translation>
    </message>
    <message>
        <source>A GPU reports that its external power cables are not properly attached.</source>
        <translation>有一块 GPU 报告其外接供电线没有接好。</translation>
    </message>
    <message>
        <source>Shut down and connect the PCIe power cables to the card.</source>
        <translation>请关机，并把 PCIe 供电线接到显卡上。</translation>
    </message>
    <message>
        <source>A GPU needs a reset before it can be used.</source>
        <translation>有一块 GPU 需要重置后才能使用。</translation>
    </message>
    <message>
        <source>No NVIDIA driver is installed (the NVML library was not found).</source>
        <translation>没有安装 NVIDIA 驱动（找不到 NVML 库）。</translation>
    </message>
    <message>
        <source>Install the NVIDIA driver for your graphics card.</source>
        <translation>请为您的显卡安装 NVIDIA 驱动。</translation>
    </message>
    <message>
        <source>The NVIDIA driver answered with an error: {error}.</source>
        <translation>NVIDIA 驱动返回了错误：{error}。</translation>
    </message>
    <message>
        <source>The NVML Python binding (nvidia-ml-py) could not be imported: {error}.</source>
        <translation>无法导入 NVML 的 Python 绑定（nvidia-ml-py）：{error}。</translation>
    </message>
    <message>
        <source>Reinstall torch-gpu-setup.</source>
        <translation>请重新安装 torch-gpu-setup。</translation>
    </message>
    <message>
        <source>The NVIDIA driver did not answer within {seconds} seconds.</source>
        <translation>NVIDIA 驱动在 {seconds} 秒内没有响应。</translation>
    </message>
    <message>
        <source>A GPU may be hung or lost: restart the computer.</source>
        <translation>可能有 GPU 卡死或掉线：请重启电脑。</translation>
    </message>
    <message>
        <source>nvidia-smi failed: {reason}.</source>
        <translation>nvidia-smi 运行失败：{reason}。</translation>
    </message>
    <message>
        <source>nvidia-smi ran but its output could not be understood.</source>
        <translation>nvidia-smi 运行了，但无法理解它的输出。</translation>
    </message>
    <message>
        <source>Restart the computer; if this stays, reinstall the NVIDIA driver.</source>
        <translation>请重启电脑；如果问题仍然存在，请重新安装 NVIDIA 驱动。</translation>
    </message>
    <message>
        <source>The NVIDIA driver check did not finish.</source>
        <translation>NVIDIA 驱动检查没有完成。</translation>
    </message>
    <message>
        <source>macOS has no NVIDIA driver; PyTorch uses Apple&apos;s GPU (MPS).</source>
        <translation>macOS 上没有 NVIDIA 驱动；PyTorch 使用 Apple 的 GPU（MPS）。</translation>
    </message>
    <message>
        <source>WSL sees no NVIDIA driver.</source>
        <translation>WSL 中看不到 NVIDIA 驱动。</translation>
    </message>
    <message>
        <source>Install or update the NVIDIA driver on Windows (never a Linux driver inside WSL), then restart WSL with &apos;wsl --shutdown&apos;.</source>
        <translation>请在 Windows 上安装或更新 NVIDIA 驱动（切勿在 WSL 内安装 Linux 驱动），然后用“wsl --shutdown”重启 WSL。</translation>
    </message>
    <message>
        <source>No NVIDIA driver is installed, and no NVIDIA GPU was found.</source>
        <translation>没有安装 NVIDIA 驱动，也没有找到 NVIDIA 显卡。</translation>
    </message>
    <message>
        <source>No NVIDIA driver is needed on this machine.</source>
        <translation>这台电脑不需要 NVIDIA 驱动。</translation>
    </message>
    <message>
        <source>An NVIDIA GPU is present but no NVIDIA driver is installed.</source>
        <translation>电脑中有 NVIDIA 显卡，但没有安装 NVIDIA 驱动。</translation>
    </message>
    <message>
        <source>Install the NVIDIA driver for this card.</source>
        <translation>请为这块显卡安装 NVIDIA 驱动。</translation>
    </message>
    <message>
        <source>Gave up waiting for {what}.</source>
        <translation>等待 {what} 超时，已放弃。</translation>
    </message>
    <message>
        <source>Could not detect {what}: {error}.</source>
        <translation>无法检测 {what}：{error}。</translation>
    </message>
    <message>
        <source>the Python interpreters</source>
        <translation>Python 解释器</translation>
    </message>
    <message>
        <source>the NVIDIA driver</source>
        <translation>NVIDIA 驱动</translation>
    </message>
    <message>
        <source>the PCI devices</source>
        <translation>PCI 设备</translation>
    </message>
    <message>
        <source>the display adapters</source>
        <translation>显示适配器</translation>
    </message>
    <message>
        <source>free disk space</source>
        <translation>可用磁盘空间</translation>
    </message>
    <message>
        <source>NVML failed ({message}); the facts come from nvidia-smi.</source>
        <translation>NVML 查询失败（{message}）；以上信息来自 nvidia-smi。</translation>
    </message>
    <message>
        <source>The loaded NVIDIA kernel module is version {version}.</source>
        <translation>已加载的 NVIDIA 内核模块版本为 {version}。</translation>
    </message>
    <message>
        <source>{name}: no driver reports its compute capability; from {basis} it is probably {architecture} (compute capability {cc}).</source>
        <translation>{name}：没有驱动报告它的计算能力；根据{basis}判断，它很可能是 {architecture} 架构（计算能力 {cc}）。</translation>
    </message>
    <message>
        <source>its name</source>
        <translation>其名称</translation>
    </message>
    <message>
        <source>its chip code</source>
        <translation>其芯片代号</translation>
    </message>
    <message>
        <source>its PCI device id</source>
        <translation>其 PCI 设备 ID</translation>
    </message>
    <message>
        <source>Could not read the chip name: {reason}.</source>
        <translation>无法读取芯片名称：{reason}。</translation>
    </message>
    <message>
        <source>{model}: a Jetson module, Jetson Linux (L4T) release {l4t}.</source>
        <translation>{model}：Jetson 模块，Jetson Linux（L4T）版本 {l4t}。</translation>
    </message>
    <message>
        <source>Windows lists NVIDIA driver {version} for {adapter}.</source>
        <translation>Windows 显示 {adapter} 使用的 NVIDIA 驱动版本为 {version}。</translation>
    </message>
    <message>
        <source>Free space for the {label} folder ({path}) is unknown: {error}.</source>
        <translation>无法得知 {label} 文件夹（{path}）的可用空间：{error}。</translation>
    </message>
    <message>
        <source>NVML could not say which CUDA version the driver supports ({error}).</source>
        <translation>NVML 无法给出驱动支持的 CUDA 版本（{error}）。</translation>
    </message>
    <message>
        <source>GPU {index} could not be read through NVML ({error}).</source>
        <translation>无法通过 NVML 读取 GPU {index}（{error}）。</translation>
    </message>
    <message>
        <source>nvidia-smi output: {problem}</source>
        <translation>nvidia-smi 输出：{problem}</translation>
    </message>
    <message>
        <source>Python at {path} is not usable: {reason}.</source>
        <translation>位于 {path} 的 Python 不可用：{reason}。</translation>
    </message>
    <message>
        <source>Skipped the wizard&apos;s own environment ({path}).</source>
        <translation>已跳过本向导自身的环境（{path}）。</translation>
    </message>
    <message>
        <source>No usable 64-bit CPython was found; a Python must be installed first.</source>
        <translation>没有找到可用的 64 位 CPython；需要先安装 Python。</translation>
    </message>
    <message>
        <source>Unrecognised operating system &apos;{system}&apos;; treated as Linux.</source>
        <translation>无法识别的操作系统“{system}”；按 Linux 处理。</translation>
    </message>
    <message>
        <source>No /etc/os-release: the Linux distribution is unknown.</source>
        <translation>没有 /etc/os-release：无法得知 Linux 发行版。</translation>
    </message>
    <message>
        <source>Could not list display adapters: {reason}.</source>
        <translation>无法列出显示适配器：{reason}。</translation>
    </message>
    <message>
        <source>Could not read the display adapter list from PowerShell ({error}).</source>
        <translation>无法从 PowerShell 读取显示适配器列表（{error}）。</translation>
    </message>
    <message>
        <source>Checking the environment</source>
        <translation>正在检查环境</translation>
    </message>
    <message>
        <source>Downloading the packages</source>
        <translation>正在下载软件包</translation>
    </message>
    <message>
        <source>Checking the wheels in {folder}</source>
        <translation>正在检查 {folder} 中的 wheel 文件</translation>
    </message>
    <message>
        <source>Looking up {requirements} at {source}</source>
        <translation>正在 {source} 查找 {requirements}</translation>
    </message>
    <message>
        <source>Downloading {count} file(s), {size}</source>
        <translation>正在下载 {count} 个文件，共 {size}</translation>
    </message>
    <message>
        <source>Creating the environment {prefix}</source>
        <translation>正在创建环境 {prefix}</translation>
    </message>
    <message>
        <source>Putting pip {version} into the new environment</source>
        <translation>正在把 pip {version} 放入新环境</translation>
    </message>
    <message>
        <source>pip chooses the other packages while the big ones are unpacked</source>
        <translation>在解压大文件的同时，由 pip 选择其余的软件包</translation>
    </message>
    <message>
        <source>Unpacking {count} packages ({size}) with {workers} threads</source>
        <translation>正在用 {workers} 个线程解压 {count} 个软件包（{size}）</translation>
    </message>
    <message>
        <source>Compiling bytecode with {workers} processes</source>
        <translation>正在用 {workers} 个进程编译字节码</translation>
    </message>
    <message>
        <source>The fast installer cannot install these files ({why}); pip installs them</source>
        <translation>快速安装器无法安装这些文件（{why}）；改由 pip 安装</translation>
    </message>
    <message>
        <source>Recording a snapshot of the environment</source>
        <translation>正在记录环境快照</translation>
    </message>
    <message>
        <source>Installing {requirements} with pip</source>
        <translation>正在用 pip 安装 {requirements}</translation>
    </message>
    <message>
        <source>Pinning the installed build</source>
        <translation>正在锁定已安装的版本</translation>
    </message>
    <message>
        <source>Verifying: running the demo in the new environment</source>
        <translation>正在验证：在新环境中运行演示</translation>
    </message>
    <message>
        <source>PyTorch is installed in {prefix}.</source>
        <translation>PyTorch 已安装到 {prefix}。</translation>
    </message>
    <message>
        <source>Rolling back the last install of {python}</source>
        <translation>正在撤销 {python} 的上一次安装</translation>
    </message>
    <message>
        <source>Putting the environment back as it was</source>
        <translation>正在把环境恢复原状</translation>
    </message>
    <message>
        <source>The new environment {prefix} was removed.</source>
        <translation>新环境 {prefix} 已删除。</translation>
    </message>
    <message>
        <source>The new environment {prefix} was removed; {count} files you had added to it were moved to {kept}.</source>
        <translation>新环境 {prefix} 已删除；您在其中添加的 {count} 个文件已移到 {kept}。</translation>
    </message>
    <message>
        <source>pip could not be put into the new environment {prefix} ({error})</source>
        <translation>无法把 pip 放入新环境 {prefix}（{error}）</translation>
    </message>
    <message>
        <source>on Debian/Ubuntu install the venv module (sudo apt install python3-venv); elsewhere check that this Python includes ensurepip, then try again</source>
        <translation>在 Debian/Ubuntu 上请安装 venv 模块（sudo apt install python3-venv）；在其他系统上请确认这个 Python 带有 ensurepip，然后重试</translation>
    </message>
    <message>
        <source>{prefix} was left half-made by an earlier install that was stopped; it is made again from scratch</source>
        <translation>{prefix} 是上一次被中断的安装留下的半成品；现在重新从头创建</translation>
    </message>
    <message>
        <source>{prefix} was left half-made by an earlier install that was stopped; it is made again from scratch, and {count} files you had added to it were moved to {kept}</source>
        <translation>{prefix} 是上一次被中断的安装留下的半成品；现在重新从头创建，您在其中添加的 {count} 个文件已移到 {kept}</translation>
    </message>
    <message>
        <source>{prefix} was created by an earlier install that did not finish: if this one fails too, or is rolled back, the environment is removed</source>
        <translation>{prefix} 是由上一次未完成的安装创建的：如果这次也失败或被回滚，该环境将被删除</translation>
    </message>
    <message>
        <source>The environment was put back: {what}.</source>
        <translation>环境已恢复：{what}。</translation>
    </message>
    <message>
        <source>Nothing was changed.</source>
        <translation>没有做任何更改。</translation>
    </message>
    <message>
        <source>Putting the environment back failed: {error}. Run torch-gpu-setup rollback --python {python}.</source>
        <translation>恢复环境失败：{error}。请运行 torch-gpu-setup rollback --python {python}。</translation>
    </message>
    <message>
        <source>The installation was cancelled.</source>
        <translation>安装已取消。</translation>
    </message>
    <message>
        <source>{hint}. {undone}</source>
        <translation>{hint}。{undone}</translation>
    </message>
    <message>
        <source>Nothing was changed; what was downloaded is kept, and the next try resumes where this one stopped.</source>
        <translation>没有做任何更改；已下载的内容会保留，下次会从中断处继续。</translation>
    </message>
    <message>
        <source>The installation did not finish in time.</source>
        <translation>安装未能在限定时间内完成。</translation>
    </message>
    <message>
        <source>{prefix} already has {what}</source>
        <translation>{prefix} 中已有 {what}</translation>
    </message>
    <message>
        <source>Replacing them needs your consent (--yes, or the box on the Environment page); the environment is snapshotted first and can be rolled back.</source>
        <translation>替换它们需要您同意（--yes，或勾选“环境”页上的选项）；替换前会先记录环境快照，可以撤销。</translation>
    </message>
    <message>
        <source>The folder for the new environment {prefix} cannot be made: {parent} is not a folder you may write to.</source>
        <translation>无法创建新环境的文件夹 {prefix}：{parent} 不是您有写入权限的文件夹。</translation>
    </message>
    <message>
        <source>Choose a folder in your home directory, or one you may write to.</source>
        <translation>请选择主目录中的文件夹，或您有写入权限的文件夹。</translation>
    </message>
    <message>
        <source>{folder} has no wheel of {requirement} for Python {python}.</source>
        <translation>{folder} 中没有适用于 Python {python} 的 {requirement} wheel 文件。</translation>
    </message>
    <message>
        <source>Put the wheel for this Python there (torch-gpu-setup fetch can download it), or choose another source.</source>
        <translation>请把适用于此 Python 的 wheel 文件放到那里（可用 torch-gpu-setup fetch 下载），或选择其他来源。</translation>
    </message>
    <message>
        <source>pip: collecting {name}</source>
        <translation>pip：正在收集 {name}</translation>
    </message>
    <message>
        <source>pip: downloading {name}</source>
        <translation>pip：正在下载 {name}</translation>
    </message>
    <message>
        <source>pip: installing {name}</source>
        <translation>pip：正在安装 {name}</translation>
    </message>
    <message>
        <source>torch {torch} (CUDA {cuda}, cuDNN {cudnn}) imported in {seconds} s</source>
        <translation>torch {torch}（CUDA {cuda}，cuDNN {cudnn}），导入耗时 {seconds} 秒</translation>
    </message>
    <message>
        <source>{name}: compute capability {cc}, {memory} of memory</source>
        <translation>{name}：计算能力 {cc}，显存 {memory}</translation>
    </message>
    <message>
        <source>learned w = {w}, b = {b} (the true line: w = {true_w}, b = {true_b}); loss {first} → {final}, on {device}</source>
        <translation>学到 w = {w}，b = {b}（真实直线：w = {true_w}，b = {true_b}）；损失 {first} → {final}，设备 {device}</translation>
    </message>
    <message>
        <source>loss {first} → {final} in {steps} steps, {rate} steps/s on {device}</source>
        <translation>{steps} 步内损失 {first} → {final}，在 {device} 上每秒 {rate} 步</translation>
    </message>
    <message>
        <source>{rate}x the speed of the processor</source>
        <translation>速度是处理器的 {rate} 倍</translation>
    </message>
    <message>
        <source>matrix multiply {fp32} TFLOP/s (fp32), {tf32} (tf32), {bf16} (bf16); memory copy {copy} GB/s</source>
        <translation>矩阵乘法 {fp32} TFLOP/s（fp32）、{tf32}（tf32）、{bf16}（bf16）；显存复制 {copy} GB/s</translation>
    </message>
    <message>
        <source>{value}% of the datasheet peak ({what})</source>
        <translation>达到规格峰值的 {value}%（{what}）</translation>
    </message>
    <message>
        <source>{total} GiB in all, {free} GiB free; the largest block in one piece: {largest} GiB; empty_cache() gave back {freed} GiB</source>
        <translation>共 {total} GiB，可用 {free} GiB；可一次分配的最大块：{largest} GiB；empty_cache() 释放了 {freed} GiB</translation>
    </message>
    <message>
        <source>Enough for a model of about {inference} billion parameters in bf16, or to fine-tune one of about {lora} billion with LoRA (estimates).</source>
        <translation>足以运行约 {inference}B（十亿）参数的 bf16 模型，或用 LoRA 微调约 {lora}B 参数的模型（估算）。</translation>
    </message>
    <message>
        <source>{count} GPU(s) compute correctly; all_reduce: {all_reduce}</source>
        <translation>{count} 块 GPU 计算正确；all_reduce：{all_reduce}</translation>
    </message>
    <message>
        <source>n/a</source>
        <translation>无</translation>
    </message>
    <message>
        <source>TLS interception: the certificate presented for {host}{who} is not trusted by this computer</source>
        <translation>TLS 拦截：{host} 出示的证书{who}不受这台电脑信任</translation>
    </message>
    <message>
        <source> issued by &apos;{issuer}&apos;</source>
        <translation>（由“{issuer}”签发）</translation>
    </message>
    <message>
        <source>a firewall or proxy is probably inspecting HTTPS; ask IT for its root certificate and install it in the system store, or point PIP_CERT at it (verification stays on)</source>
        <translation>很可能有防火墙或代理在检查 HTTPS；请向 IT 部门索取其根证书并安装到系统证书库，或让 PIP_CERT 指向它（证书验证保持开启）</translation>
    </message>
    <message>
        <source>the proxy {proxy} could not be used to reach {host}</source>
        <translation>无法通过代理 {proxy} 连接 {host}</translation>
    </message>
    <message>
        <source>the proxy {proxy} could not be used to reach {host}: connection refused</source>
        <translation>无法通过代理 {proxy} 连接 {host}：连接被拒绝</translation>
    </message>
    <message>
        <source>(from the environment)</source>
        <translation>（来自环境变量）</translation>
    </message>
    <message>
        <source>check the proxy address and port (HTTPS_PROXY / HTTP_PROXY or the wizard&apos;s proxy setting)</source>
        <translation>请检查代理地址和端口（HTTPS_PROXY / HTTP_PROXY 或本向导的代理设置）</translation>
    </message>
    <message>
        <source>DNS failure: the name {host} could not be resolved</source>
        <translation>DNS 解析失败：无法解析域名 {host}</translation>
    </message>
    <message>
        <source>check the internet connection, the spelling of the index URL, or the DNS / proxy settings</source>
        <translation>请检查网络连接、索引地址的拼写，或 DNS / 代理设置</translation>
    </message>
    <message>
        <source>connection refused by {host}: nothing is listening at {url}</source>
        <translation>{host} 拒绝连接：{url} 上没有服务在监听</translation>
    </message>
    <message>
        <source>check the host and port of the index URL; a firewall may be rejecting the connection</source>
        <translation>请检查索引地址的主机和端口；可能有防火墙拒绝了连接</translation>
    </message>
    <message>
        <source>timeout: {host} did not answer in time</source>
        <translation>超时：{host} 未能及时响应</translation>
    </message>
    <message>
        <source>the link may be slow or stalled; try again, or choose a mirror closer to you</source>
        <translation>网络可能很慢或已停滞；请重试，或选择离您更近的镜像</translation>
    </message>
    <message>
        <source>the secure connection to {host} failed</source>
        <translation>与 {host} 的安全连接失败</translation>
    </message>
    <message>
        <source>try again later</source>
        <translation>请稍后重试</translation>
    </message>
    <message>
        <source>the connection to {host} was lost ({error})</source>
        <translation>与 {host} 的连接中断（{error}）</translation>
    </message>
    <message>
        <source>check the internet connection and try again; downloads resume where they stopped</source>
        <translation>请检查网络连接后重试；下载会从中断处继续</translation>
    </message>
    <message>
        <source>proxy authentication required (407): {proxy} refused the request</source>
        <translation>代理需要身份验证（407）：{proxy} 拒绝了请求</translation>
    </message>
    <message>
        <source>the proxy</source>
        <translation>代理</translation>
    </message>
    <message>
        <source>put the user name and password in the proxy URL (http://user:password@host:port) or ask IT; they are never written to logs</source>
        <translation>请把用户名和密码写进代理地址（http://用户名:密码@主机:端口），或询问 IT 部门；它们不会被写入日志</translation>
    </message>
    <message>
        <source>{what}not found at the index (404): {url}</source>
        <translation>在索引中找不到{what}（404）：{url}</translation>
    </message>
    <message>
        <source>check the index URL and the variant; the release may not exist for this variant</source>
        <translation>请检查索引地址和变体；该版本可能没有这个变体</translation>
    </message>
    <message>
        <source>{what}access denied ({status}) at {url}</source>
        <translation>{what}访问被拒绝（{status}）：{url}</translation>
    </message>
    <message>
        <source>the index or mirror refuses this request; try the official index or another mirror</source>
        <translation>索引或镜像拒绝了此请求；请尝试官方索引或其他镜像</translation>
    </message>
    <message>
        <source>server error ({status} {reason}) at {url}</source>
        <translation>服务器错误（{status} {reason}）：{url}</translation>
    </message>
    <message>
        <source>the index is having trouble; try again in a few minutes or use a mirror</source>
        <translation>索引服务器出现问题；请几分钟后重试，或使用镜像</translation>
    </message>
    <message>
        <source>{what}HTTP {status} {reason} at {url}</source>
        <translation>{what}HTTP {status} {reason}：{url}</translation>
    </message>
    <message>
        <source>{what}came too slowly from {host}: {received} in {seconds} s, and it is not finished</source>
        <translation>{what}从 {host} 传输过慢：{seconds} 秒内只收到 {received}，且尚未完成</translation>
    </message>
    <message>
        <source>the server or a proxy is trickling data; try again later, or choose a mirror closer to you</source>
        <translation>服务器或代理发送数据极慢；请稍后重试，或选择离您更近的镜像</translation>
    </message>
    <message>
        <source>{what}from {host} is larger than {limit}; it was not read</source>
        <translation>来自 {host} 的{what}超过 {limit}，未予读取</translation>
    </message>
    <message>
        <source>this is not a package index page; check the index URL</source>
        <translation>这不是软件包索引页面；请检查索引 URL</translation>
    </message>
    <message>
        <source>index page </source>
        <translation>索引页面</translation>
    </message>
    <message>
        <source>the package index </source>
        <translation>软件包索引</translation>
    </message>
    <message>
        <source>metadata of {file} </source>
        <translation>{file} 的元数据</translation>
    </message>
    <message>
        <source>wheel </source>
        <translation>wheel 文件</translation>
    </message>
    <message>
        <source>the NVIDIA driver lookup </source>
        <translation>NVIDIA 驱动查询服务</translation>
    </message>
    <message>
        <source>torch is imported from {file}, outside this environment ({prefix}): another torch shadows it</source>
        <translation>torch 是从 {file} 导入的，不在此环境（{prefix}）中：另一个 torch 遮蔽了它</translation>
    </message>
    <message>
        <source>uninstall the other torch (often in the user site: python -m pip uninstall torch outside the environment) or unset PYTHONPATH</source>
        <translation>请卸载另一个 torch（通常在用户目录：在环境之外运行 python -m pip uninstall torch），或取消设置 PYTHONPATH</translation>
    </message>
    <message>
        <source>this is a CPU-only build of torch ({torch})</source>
        <translation>这是仅支持 CPU 的 torch 版本（{torch}）</translation>
    </message>
    <message>
        <source>install a CUDA build: torch-gpu-setup plan shows the right one</source>
        <translation>请安装 CUDA 版本：torch-gpu-setup plan 会给出合适的版本</translation>
    </message>
    <message>
        <source>torch (built for {built_for}) sees no GPU</source>
        <translation>torch（为 {built_for} 构建）看不到 GPU</translation>
    </message>
    <message>
        <source>check the GPU driver (nvidia-smi) and CUDA_VISIBLE_DEVICES</source>
        <translation>请检查 GPU 驱动（nvidia-smi）和 CUDA_VISIBLE_DEVICES</translation>
    </message>
    <message>
        <source>no GPU: {reason}</source>
        <translation>没有 GPU：{reason}</translation>
    </message>
    <message>
        <source>no GPU</source>
        <translation>没有 GPU</translation>
    </message>
    <message>
        <source>this torch build ({torch}) has no kernels for {gpus}; it lists {arch_list}</source>
        <translation>此 torch 版本（{torch}）没有适用于 {gpus} 的内核；它包含的是 {arch_list}</translation>
    </message>
    <message>
        <source>install a build whose arch list includes {needed} (for new GPUs a newer CUDA variant, e.g. cu128 or later for Blackwell): torch-gpu-setup plan names it</source>
        <translation>请安装架构列表中包含 {needed} 的版本（新显卡需要更新的 CUDA 变体，例如 Blackwell 需要 cu128 或更高）：torch-gpu-setup plan 会给出它</translation>
    </message>
    <message>
        <source>wrong results on the GPU: {checks}</source>
        <translation>GPU 上的计算结果错误：{checks}</translation>
    </message>
    <message>
        <source>the build may not match the GPU or the driver is faulty: update the driver, then reinstall</source>
        <translation>该版本可能与 GPU 不匹配，或驱动有问题：请更新驱动后重新安装</translation>
    </message>
    <message>
        <source>autocast gave wrong results</source>
        <translation>autocast 给出了错误的结果</translation>
    </message>
    <message>
        <source>update the GPU driver</source>
        <translation>请更新 GPU 驱动</translation>
    </message>
    <message>
        <source>the model did not learn y = 3x + 2 (w={w}, b={b})</source>
        <translation>模型没有学会 y = 3x + 2（w={w}，b={b}）</translation>
    </message>
    <message>
        <source>the device computes wrong results: update the driver, reinstall torch</source>
        <translation>设备计算结果错误：请更新驱动并重新安装 torch</translation>
    </message>
    <message>
        <source>the loss did not fall ({first} -&gt; {last})</source>
        <translation>损失没有下降（{first} -&gt; {last}）</translation>
    </message>
    <message>
        <source>no GPU: there is no GPU memory to measure</source>
        <translation>没有 GPU：没有可测量的显存</translation>
    </message>
    <message>
        <source>no block of GPU memory could be allocated</source>
        <translation>无法分配任何显存块</translation>
    </message>
    <message>
        <source>close programs that use the GPU</source>
        <translation>请关闭正在使用 GPU 的程序</translation>
    </message>
    <message>
        <source>wrong results on GPU {gpus}</source>
        <translation>GPU {gpus} 上的计算结果错误</translation>
    </message>
    <message>
        <source>check that GPU (nvidia-smi -q) and its driver</source>
        <translation>请检查该 GPU（nvidia-smi -q）及其驱动</translation>
    </message>
    <message>
        <source>see the details; update the GPU driver and reinstall torch if it persists</source>
        <translation>请查看详细信息；如果问题持续，请更新 GPU 驱动并重新安装 torch</translation>
    </message>
    <message>
        <source>import torch failed: {error}</source>
        <translation>导入 torch 失败：{error}</translation>
    </message>
    <message>
        <source>reinstall torch in this environment (torch-gpu-setup install); on Windows install the Microsoft Visual C++ Redistributable if a DLL failed to load</source>
        <translation>请在此环境中重新安装 torch（torch-gpu-setup install）；在 Windows 上，如果有 DLL 加载失败，请安装 Microsoft Visual C++ 可再发行组件</translation>
    </message>
    <message>
        <source>torch did not import</source>
        <translation>torch 导入失败</translation>
    </message>
    <message>
        <source>see the import stage</source>
        <translation>请查看导入阶段</translation>
    </message>
    <message>
        <source>close other programs that use the GPU and run verify again</source>
        <translation>请关闭其他正在使用 GPU 的程序，然后重新运行验证</translation>
    </message>
    <message>
        <source>PyTorch is not installed in this environment.</source>
        <translation>此环境中未安装 PyTorch。</translation>
    </message>
    <message>
        <source>Install {build} into this environment.</source>
        <translation>将 {build} 安装到此环境中。</translation>
    </message>
    <message>
        <source>import torch fails because {cause}.</source>
        <translation>import torch 失败，原因是{cause}。</translation>
    </message>
    <message>
        <source>import torch fails: {error}</source>
        <translation>import torch 失败：{error}</translation>
    </message>
    <message>
        <source>the cuDNN library of this CUDA build is missing ({library})</source>
        <translation>此 CUDA 版本所需的 cuDNN 库缺失（{library}）</translation>
    </message>
    <message>
        <source>a CUDA library of this build is missing ({library})</source>
        <translation>此版本所需的一个 CUDA 库缺失（{library}）</translation>
    </message>
    <message>
        <source>a DLL failed to load (usually the Microsoft Visual C++ Redistributable is missing)</source>
        <translation>某个 DLL 加载失败（通常是缺少 Microsoft Visual C++ 可再发行组件）</translation>
    </message>
    <message>
        <source>NumPy is of another ABI than the one this torch was built for</source>
        <translation>NumPy 的 ABI 与此 torch 构建时所用的不一致</translation>
    </message>
    <message>
        <source>torch&apos;s libraries do not match each other (a mixed or half-finished install)</source>
        <translation>torch 的各个库彼此不匹配（混装或未装完）</translation>
    </message>
    <message>
        <source>torch imports, but NumPy is of another ABI than the one this torch was built for.</source>
        <translation>torch 可以导入，但 NumPy 的 ABI 与此 torch 构建时所用的不一致。</translation>
    </message>
    <message>
        <source>Reinstall the build planned for this machine, {build}, into this environment.</source>
        <translation>将为本机规划的版本 {build} 重新安装到此环境中。</translation>
    </message>
    <message>
        <source>Install the Microsoft Visual C++ Redistributable (x64), then reinstall {build} if import torch still fails.</source>
        <translation>安装 Microsoft Visual C++ 可再发行组件（x64）；若 import torch 仍失败，再重新安装 {build}。</translation>
    </message>
    <message>
        <source>Install a NumPy this torch was built for (pip install &quot;numpy&lt;2&quot;), or reinstall {build}.</source>
        <translation>安装与此 torch 匹配的 NumPy（pip install &quot;numpy&lt;2&quot;），或重新安装 {build}。</translation>
    </message>
    <message>
        <source>torch {version} is a CPU-only build, but this machine has {gpus}: torch.cuda.is_available() is False.</source>
        <translation>torch {version} 是仅限 CPU 的版本，但本机有 {gpus}：torch.cuda.is_available() 为 False。</translation>
    </message>
    <message>
        <source>Install {build}, which uses the GPU.</source>
        <translation>安装会使用 GPU 的 {build}。</translation>
    </message>
    <message>
        <source>torch {version} has no code for {gpu} ({code}): it stops with &quot;no kernel image is available for execution on the device&quot;.</source>
        <translation>torch {version} 不含 {gpu}（{code}）的代码：运行时会报错“no kernel image is available for execution on the device”。</translation>
    </message>
    <message>
        <source>torch {version} has no code for {gpu} ({code}): it stops with &quot;HIP error: invalid device function&quot; or &quot;Unable to find code object for all current devices&quot;.</source>
        <translation>torch {version} 不含 {gpu}（{code}）的代码：运行时会报错“HIP error: invalid device function”或“Unable to find code object for all current devices”。</translation>
    </message>
    <message>
        <source>Install {build}, which has code for {code}.</source>
        <translation>安装包含 {code} 代码的 {build}。</translation>
    </message>
    <message>
        <source>No current PyTorch build has code for {code}: install {build}, which runs on the processor.</source>
        <translation>当前没有任何 PyTorch 版本包含 {code} 的代码：请安装在处理器上运行的 {build}。</translation>
    </message>
    <message>
        <source>torch {version} is built with CUDA {cuda}, which needs NVIDIA driver {min_driver} or newer; this driver is {driver}.</source>
        <translation>torch {version} 基于 CUDA {cuda} 构建，需要 NVIDIA 驱动 {min_driver} 或更新版本；当前驱动为 {driver}。</translation>
    </message>
    <message>
        <source>Install {build}, which runs with this driver.</source>
        <translation>安装可在当前驱动下运行的 {build}。</translation>
    </message>
    <message>
        <source>torch {version} is a CUDA build, but no NVIDIA driver works on this machine: {status}</source>
        <translation>torch {version} 是 CUDA 版本，但本机没有可用的 NVIDIA 驱动：{status}</translation>
    </message>
    <message>
        <source>no driver was found</source>
        <translation>未找到驱动</translation>
    </message>
    <message>
        <source>torch {version} is a {kind} build, but this machine&apos;s GPU is {gpus}.</source>
        <translation>torch {version} 是 {kind} 版本，但本机的 GPU 是 {gpus}。</translation>
    </message>
    <message>
        <source>Install {build}, the build for this GPU.</source>
        <translation>安装适用于此 GPU 的 {build}。</translation>
    </message>
    <message>
        <source>{name} {have} was built for torch {wanted}, but torch {torch} is installed.</source>
        <translation>{name} {have} 是为 torch {wanted} 构建的，但已安装的是 torch {torch}。</translation>
    </message>
    <message>
        <source>{name} does not load with this torch: {error}</source>
        <translation>{name} 无法与此 torch 一起加载：{error}</translation>
    </message>
    <message>
        <source>Reinstall torch and its companions together: {requirements}.</source>
        <translation>将 torch 及其配套库一起重新安装：{requirements}。</translation>
    </message>
    <message>
        <source>Python imports torch from {origin}, not from the environment&apos;s package.</source>
        <translation>Python 从 {origin} 导入 torch，而不是从环境中安装的包导入。</translation>
    </message>
    <message>
        <source>Rename or remove {origin}: it hides the installed torch. Then run the doctor again.</source>
        <translation>重命名或删除 {origin}：它遮住了已安装的 torch。然后再次运行检查。</translation>
    </message>
    <message>
        <source>No PyTorch release publishes wheels for Python {version}.</source>
        <translation>没有任何 PyTorch 版本为 Python {version} 发布 wheel。</translation>
    </message>
    <message>
        <source>Python {version} gets no current PyTorch: the newest release with wheels for it is torch {torch}.</source>
        <translation>Python {version} 无法使用当前的 PyTorch：为它提供 wheel 的最新版本是 torch {torch}。</translation>
    </message>
    <message>
        <source>PyTorch publishes wheels for 64-bit CPython only; this Python is {what}.</source>
        <translation>PyTorch 只为 64 位 CPython 发布 wheel；此 Python 是 {what}。</translation>
    </message>
    <message>
        <source>Install Python {python} and create the environment with it.</source>
        <translation>安装 Python {python}，并用它创建环境。</translation>
    </message>
    <message>
        <source>torch-gpu-setup pinned this environment&apos;s build: {pins}.</source>
        <translation>torch-gpu-setup 已锁定此环境的版本：{pins}。</translation>
    </message>
    <message>
        <source>A plain pip install cannot replace it; torch-gpu-setup install or doctor --fix releases the pins while it works.</source>
        <translation>普通的 pip install 无法替换它；torch-gpu-setup install 或 doctor --fix 在运行期间会解除锁定。</translation>
    </message>
    <message>
        <source>torch.cuda.is_available() is False although the build is for CUDA {cuda}: {why}</source>
        <translation>虽然这是 CUDA {cuda} 版本，torch.cuda.is_available() 仍为 False：{why}</translation>
    </message>
    <message>
        <source>no reason was given</source>
        <translation>未给出原因</translation>
    </message>
    <message>
        <source>Check the driver with nvidia-smi, restart the computer, then run the doctor again.</source>
        <translation>用 nvidia-smi 检查驱动，重启计算机，然后再次运行检查。</translation>
    </message>
    <message>
        <source>A small operation on the GPU failed: {error}</source>
        <translation>在 GPU 上执行的一个小运算失败：{error}</translation>
    </message>
    <message>
        <source>No problem found: torch {version} fits this machine.</source>
        <translation>未发现问题：torch {version} 适合本机。</translation>
    </message>
    <message>
        <source>The GPU was not tried: the machine is described by a profile, not present; the diagnosis rests on the build&apos;s facts.</source>
        <translation>未实际测试 GPU：本机由配置文件描述，并不在场；诊断依据的是该版本的已知信息。</translation>
    </message>
    <message>
        <source>No reinstall is needed.</source>
        <translation>无需重新安装。</translation>
    </message>
    <message>
        <source>Fix: install {build} into this environment.</source>
        <translation>修复：将 {build} 安装到此环境中。</translation>
    </message>
    <message>
        <source>Fix: {actions} first, then install {build} into this environment.</source>
        <translation>修复：先完成{actions}，再将 {build} 安装到此环境中。</translation>
    </message>
    <message>
        <source>Fix: {actions}; the installed {build} then runs as it is.</source>
        <translation>修复：完成{actions}；之后已安装的 {build} 即可直接运行。</translation>
    </message>
    <message>
        <source>The fix needs {actions} first; do that, then run torch-gpu-setup doctor --fix again.</source>
        <translation>此修复需要先完成{actions}；完成后再次运行 torch-gpu-setup doctor --fix。</translation>
    </message>
    <message>
        <source>Looking at the PyTorch of {python}</source>
        <translation>正在检查 {python} 的 PyTorch</translation>
    </message>
    <message>
        <source>Not available in this torch: {what}.</source>
        <translation>此 torch 不提供：{what}。</translation>
    </message>
    <message>
        <source>{path} is a folder but not a virtual or conda environment</source>
        <translation>{path} 是一个文件夹，但不是虚拟环境或 conda 环境</translation>
    </message>
    <message>
        <source>give the environment&apos;s folder (it holds pyvenv.cfg) or its python</source>
        <translation>请给出环境的文件夹（其中有 pyvenv.cfg）或其中的 python</translation>
    </message>
    <message>
        <source>the check was cancelled</source>
        <translation>检查已取消</translation>
    </message>
    <message>
        <source>nothing was changed</source>
        <translation>未做任何更改</translation>
    </message>
    <message>
        <source>the check did not finish within {seconds} s</source>
        <translation>检查未在 {seconds} 秒内完成</translation>
    </message>
    <message>
        <source>import torch hangs in this environment: a GPU that hangs often needs a driver update or a restart</source>
        <translation>此环境中 import torch 卡住了：GPU 卡住通常需要更新驱动或重启</translation>
    </message>
    <message>
        <source>there is nothing to install: no finding calls for a reinstall</source>
        <translation>无需安装：没有任何发现需要重新安装</translation>
    </message>
    <message>
        <source>did not answer within {seconds} seconds</source>
        <translation>在 {seconds} 秒内没有响应</translation>
    </message>
    <message>
        <source>is not Python 3 (it rejects the -I option)</source>
        <translation>不是 Python 3（它不接受 -I 选项）</translation>
    </message>
    <message>
        <source>failed to run: {why}</source>
        <translation>无法运行：{why}</translation>
    </message>
    <message>
        <source>printed nothing</source>
        <translation>没有任何输出</translation>
    </message>
    <message>
        <source>gave an answer that could not be understood ({error})</source>
        <translation>给出了无法理解的回答（{error}）</translation>
    </message>
    <message>
        <source>could not inspect the Python interpreter {python}: it {why}</source>
        <translation>无法检查 Python 解释器 {python}：它{why}</translation>
    </message>
    <message>
        <source>check that the path names a working Python 3 interpreter (python --version)</source>
        <translation>请确认该路径指向可用的 Python 3 解释器（python --version）</translation>
    </message>
    <message>
        <source>no Python interpreter named {python} on PATH</source>
        <translation>PATH 中没有名为 {python} 的 Python 解释器</translation>
    </message>
    <message>
        <source>give the full path with --python</source>
        <translation>请用 --python 给出完整路径</translation>
    </message>
    <message>
        <source>no Python interpreter at {python}</source>
        <translation>{python} 处没有 Python 解释器</translation>
    </message>
    <message>
        <source>check the path given with --python</source>
        <translation>请检查用 --python 给出的路径</translation>
    </message>
    <message>
        <source>deleted {prefix} (the wizard created it)</source>
        <translation>已删除 {prefix}（由本向导创建）</translation>
    </message>
    <message>
        <source>{prefix} was already gone</source>
        <translation>{prefix} 已经不存在</translation>
    </message>
    <message>
        <source>{prefix} already matches the snapshot of {taken_at}</source>
        <translation>{prefix} 已与 {taken_at} 的快照一致</translation>
    </message>
    <message>
        <source>restored {prefix} to the snapshot of {taken_at}: removed {removed}, reinstalled {reinstalled}</source>
        <translation>已将 {prefix} 恢复到 {taken_at} 的快照：移除 {removed} 个，重新安装 {reinstalled} 个</translation>
    </message>
    <message>
        <source>deleted {prefix} (the wizard created it); {count} files you had added to it were moved to {kept}</source>
        <translation>已删除 {prefix}（由向导创建）；您在其中添加的 {count} 个文件已移到 {kept}</translation>
    </message>
    <message>
        <source>could not move your files out of {prefix} ({error}); nothing was deleted ({moved} already moved to {kept})</source>
        <translation>无法把您的文件移出 {prefix}（{error}）；没有删除任何内容（已有 {moved} 个移到 {kept}）</translation>
    </message>
    <message>
        <source>allow writing next to the environment&apos;s folder or make room there, then run torch-gpu-setup rollback again</source>
        <translation>请允许在环境文件夹旁写入或腾出空间，然后再次运行 torch-gpu-setup rollback</translation>
    </message>
    <message>
        <source>could not delete {prefix} completely: {error}</source>
        <translation>无法完全删除 {prefix}：{error}</translation>
    </message>
    <message>
        <source>close programs that use files in it (a terminal or an editor opened there), then run torch-gpu-setup rollback again</source>
        <translation>请关闭正在使用其中文件的程序（在那里打开的终端或编辑器），然后再次运行 torch-gpu-setup rollback</translation>
    </message>
    <message>
        <source>{prefix} is being changed by {who}; nothing was done</source>
        <translation>{prefix} 正在被{who}修改；本次未做任何操作</translation>
    </message>
    <message>
        <source>another torch-gpu-setup run ({purpose}, process {pid}, since {since})</source>
        <translation>另一个 torch-gpu-setup 运行（{purpose}，进程 {pid}，开始于 {since}）</translation>
    </message>
    <message>
        <source>another torch-gpu-setup run</source>
        <translation>另一个 torch-gpu-setup 运行</translation>
    </message>
    <message>
        <source>wait until it has finished, then try again</source>
        <translation>请等它完成后再试</translation>
    </message>
    <message>
        <source>that run has ended, but programs it started are still stopping; try again in a few seconds</source>
        <translation>那次运行已经结束，但它启动的程序仍在停止中；请过几秒再试</translation>
    </message>
</context>
</TS>
