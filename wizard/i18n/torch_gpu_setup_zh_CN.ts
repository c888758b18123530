<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>BuildPage</name>
    <message>
        <location filename="../qt/pages/build.py" line="128"/>
        <source>The PyTorch build</source>
        <translation>PyTorch 版本</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="129"/>
        <source>The recommended build is chosen for your cards, driver and Python.</source>
        <translation>推荐的版本是根据您的显卡、驱动和 Python 选出的。</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="130"/>
        <source>&amp;Advanced choices</source>
        <translation>高级选项(&amp;A)</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="131"/>
        <source>&amp;Torch version:</source>
        <translation>Torch 版本(&amp;T)：</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="131"/>
        <source>&amp;Variant:</source>
        <translation>变体(&amp;V)：</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="131"/>
        <source>Download &amp;from:</source>
        <translation>下载来源(&amp;F)：</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="132"/>
        <source>Custom &amp;index URL:</source>
        <translation>自定义索引地址(&amp;I)：</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="132"/>
        <source>&amp;Proxy:</source>
        <translation>代理(&amp;P)：</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="135"/>
        <source>Automatic (newest that fits)</source>
        <translation>自动（选择适用的最新版本）</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="136"/>
        <source>Automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="137"/>
        <source>Custom index URL (below)</source>
        <translation>自定义索引地址（见下方）</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="138"/>
        <source>Also install torch&amp;vision (images)</source>
        <translation>同时安装 torchvision（图像）(&amp;V)</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="139"/>
        <source>Also install torch&amp;audio (sound)</source>
        <translation>同时安装 torchaudio（音频）(&amp;A)</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="169"/>
        <source>Ready: this build runs on your computer as it is.</source>
        <translation>就绪：此版本可以直接在您的电脑上运行。</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="170"/>
        <source>Something must be done first (see below): usually a driver update.</source>
        <translation>需要先完成一项操作（见下方）：通常是更新驱动。</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="171"/>
        <source>No PyTorch build fits this computer.</source>
        <translation>没有适合这台电脑的 PyTorch 版本。</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="181"/>
        <source>Planning…</source>
        <translation>正在规划…</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="189"/>
        <source>Why</source>
        <translation>原因</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="200"/>
        <source>uses your NVIDIA card (CUDA)</source>
        <translation>使用您的 NVIDIA 显卡（CUDA）</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="201"/>
        <source>uses your AMD card (ROCm)</source>
        <translation>使用您的 AMD 显卡（ROCm）</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="202"/>
        <source>uses your Intel card (XPU)</source>
        <translation>使用您的 Intel 显卡（XPU）</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="203"/>
        <source>uses the Apple GPU (MPS)</source>
        <translation>使用 Apple GPU（MPS）</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="204"/>
        <source>runs on the processor only (no GPU)</source>
        <translation>仅在处理器上运行（不使用 GPU）</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="210"/>
        <source>Recommended: {0}</source>
        <translation>推荐：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="215"/>
        <source>Packages: {0}</source>
        <translation>软件包：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="216"/>
        <source>From: {0}</source>
        <translation>来源：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="218"/>
        <source>Why not first: {0}</source>
        <translation>为何不作首选：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/build.py" line="220"/>
        <source>Needs first: {0}</source>
        <translation>需要先：{0}</translation>
    </message>
</context>
<context>
    <name>DriversPage</name>
    <message>
        <location filename="../qt/pages/drivers.py" line="133"/>
        <source>Driver and tools</source>
        <translation>驱动和工具</translation>
    </message>
    <message>
        <location filename="../qt/pages/drivers.py" line="134"/>
        <source>The recommended build needs something first. Choose one of the two ways.</source>
        <translation>推荐的版本需要先完成一项操作。请从下面两种方式中选择一种。</translation>
    </message>
    <message>
        <location filename="../qt/pages/drivers.py" line="135"/>
        <location filename="../qt/pages/drivers.py" line="174"/>
        <source>Update the driver</source>
        <translation>更新驱动</translation>
    </message>
    <message>
        <location filename="../qt/pages/drivers.py" line="136"/>
        <source>Keep the driver as it is</source>
        <translation>保持现有驱动</translation>
    </message>
    <message>
        <location filename="../qt/pages/drivers.py" line="137"/>
        <source>&amp;Update the driver, then use the recommended build</source>
        <translation>更新驱动，然后使用推荐的版本(&amp;U)</translation>
    </message>
    <message>
        <location filename="../qt/pages/drivers.py" line="138"/>
        <source>Use the newest build that &amp;works without it</source>
        <translation>使用无需更新即可运行的最新版本(&amp;W)</translation>
    </message>
    <message>
        <location filename="../qt/pages/drivers.py" line="139"/>
        <source>&amp;Copy command</source>
        <translation>复制命令(&amp;C)</translation>
    </message>
    <message>
        <location filename="../qt/pages/drivers.py" line="140"/>
        <source>&amp;Run it now…</source>
        <translation>立即运行(&amp;R)…</translation>
    </message>
    <message>
        <location filename="../qt/pages/drivers.py" line="141"/>
        <source>Show how to get the CUDA &amp;toolkit (only to compile CUDA extensions)</source>
        <translation>显示如何获取 CUDA 工具包（仅编译 CUDA 扩展时需要）(&amp;T)</translation>
    </message>
    <message>
        <location filename="../qt/pages/drivers.py" line="142"/>
        <source>PyTorch brings its own CUDA libraries; the toolkit is only needed to compile extensions. Download it from {0}.</source>
        <translation>PyTorch 自带所需的 CUDA 库；只有编译扩展时才需要工具包。下载地址：{0}。</translation>
    </message>
    <message>
        <location filename="../qt/pages/drivers.py" line="144"/>
        <source>After a driver update: restart the computer, then start this wizard again. It remembers your choices and checks the driver again.</source>
        <translation>更新驱动后：请重启电脑，然后再次打开本向导。向导会记住您的选择，并重新检查驱动。</translation>
    </message>
    <message>
        <location filename="../qt/pages/drivers.py" line="159"/>
        <source>Not available for a simulated machine.</source>
        <translation>模拟的机器无法使用此功能。</translation>
    </message>
    <message>
        <location filename="../qt/pages/drivers.py" line="162"/>
        <source>{0} works with the driver you have now.</source>
        <translation>{0} 可以在您现有的驱动上运行。</translation>
    </message>
    <message>
        <location filename="../qt/pages/drivers.py" line="163"/>
        <source>No build works without the update.</source>
        <translation>不更新驱动就没有可用的版本。</translation>
    </message>
    <message>
        <location filename="../qt/pages/drivers.py" line="175"/>
        <source>Run this command with administrator rights?</source>
        <translation>要以管理员权限运行此命令吗？</translation>
    </message>
    <message>
        <location filename="../qt/pages/drivers.py" line="179"/>
        <source>The command cannot be run from here.</source>
        <translation>无法在这里运行此命令。</translation>
    </message>
    <message>
        <location filename="../qt/pages/drivers.py" line="180"/>
        <source>Run it in a terminal: {0}</source>
        <translation>请在终端中运行：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/drivers.py" line="190"/>
        <source>Done. Restart the computer so the new driver loads.</source>
        <translation>完成。请重启电脑以加载新驱动。</translation>
    </message>
    <message>
        <location filename="../qt/pages/drivers.py" line="192"/>
        <source>The driver command failed (exit code {0}).</source>
        <translation>驱动命令执行失败（退出码 {0}）。</translation>
    </message>
</context>
<context>
    <name>EnvironmentPage</name>
    <message>
        <location filename="../qt/pages/environment.py" line="91"/>
        <source>Python {0} (simulated machine)</source>
        <translation>Python {0}（模拟的机器）</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="121"/>
        <source>Where should PyTorch go?</source>
        <translation>PyTorch 安装到哪里？</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="122"/>
        <source>A new, separate environment is safest: nothing else on this computer changes.</source>
        <translation>新建一个独立的环境最安全：电脑上的其他内容都不会改变。</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="123"/>
        <source>Create a &amp;new environment (recommended)</source>
        <translation>新建环境（推荐）(&amp;N)</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="124"/>
        <source>Use an &amp;existing virtual or conda environment</source>
        <translation>使用现有的虚拟环境或 conda 环境(&amp;E)</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="125"/>
        <source>Use a Python &amp;interpreter directly</source>
        <translation>直接使用某个 Python 解释器(&amp;I)</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="127"/>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="128"/>
        <source>Folder for the new environment</source>
        <translation>新环境所在的文件夹</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="129"/>
        <source>Folder of the environment</source>
        <translation>环境所在的文件夹</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="130"/>
        <source>Path of python or python.exe</source>
        <translation>python 或 python.exe 的路径</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="131"/>
        <source>&amp;Python used to create it:</source>
        <translation>用于创建环境的 Python(&amp;P)：</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="132"/>
        <source>&amp;Replace them (a snapshot is taken first; you can roll back)</source>
        <translation>替换它们（会先保存快照，可以回滚）(&amp;R)</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="162"/>
        <source>Choose a Python interpreter</source>
        <translation>选择 Python 解释器</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="164"/>
        <source>Choose a folder</source>
        <translation>选择文件夹</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="210"/>
        <source>This environment could not be read: {0}</source>
        <translation>无法读取此环境：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="223"/>
        <source>A new environment is created at the path above; if the install fails or is cancelled, it is removed again.</source>
        <translation>将在上面的路径新建环境；如果安装失败或被取消，它会被删除。</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="226"/>
        <source>Reading the environment…</source>
        <translation>正在读取环境…</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="228"/>
        <source>This environment already has: {0}. They will be replaced by {1}.</source>
        <translation>此环境中已有：{0}。它们将被替换为 {1}。</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="231"/>
        <source>This environment already has torch {0}; it is kept.</source>
        <translation>此环境中已有 torch {0}，将予以保留。</translation>
    </message>
    <message>
        <location filename="../qt/pages/environment.py" line="234"/>
        <source>No torch in this environment yet; other packages are left as they are.</source>
        <translation>此环境中还没有 torch；其他软件包保持不变。</translation>
    </message>
</context>
<context>
    <name>ErrorPanel</name>
    <message>
        <location filename="../qt/pages/base.py" line="87"/>
        <source>Show &amp;details</source>
        <translation>显示详细信息(&amp;D)</translation>
    </message>
</context>
<context>
    <name>Errors</name>
    <message>
        <location filename="../qt/errors.py" line="43"/>
        <source>The computer ran out of memory.</source>
        <translation>电脑内存不足。</translation>
    </message>
    <message>
        <location filename="../qt/errors.py" line="44"/>
        <source>Close other programs and try again.</source>
        <translation>请关闭其他程序后重试。</translation>
    </message>
    <message>
        <location filename="../qt/errors.py" line="46"/>
        <source>A file or folder could not be used: {0}</source>
        <translation>无法使用某个文件或文件夹：{0}</translation>
    </message>
    <message>
        <location filename="../qt/errors.py" line="48"/>
        <source>Check the path and that you may write there, then try again.</source>
        <translation>请检查路径以及您是否有写入权限，然后重试。</translation>
    </message>
    <message>
        <location filename="../qt/errors.py" line="52"/>
        <source>Something unexpected went wrong inside the wizard.</source>
        <translation>向导内部出现了意外错误。</translation>
    </message>
    <message>
        <location filename="../qt/errors.py" line="53"/>
        <source>Please save a diagnostics report on the last page and send it to your helpdesk.</source>
        <translation>请在最后一页保存诊断报告，并发送给技术支持。</translation>
    </message>
    <message>
        <location filename="../qt/errors.py" line="61"/>
        <source>Problem</source>
        <translation>问题</translation>
    </message>
</context>
<context>
    <name>FinishPage</name>
    <message>
        <location filename="../qt/pages/finish.py" line="66"/>
        <source>Finished</source>
        <translation>完成</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="67"/>
        <source>What happened, and how to start.</source>
        <translation>结果如何，以及如何开始使用。</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="68"/>
        <source>&amp;Save diagnostics report…</source>
        <translation>保存诊断报告(&amp;S)…</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="69"/>
        <source>&amp;Copy for helpdesk</source>
        <translation>复制给技术支持(&amp;C)</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="70"/>
        <source>&amp;Roll back…</source>
        <translation>回滚(&amp;R)…</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="76"/>
        <source>This was a simulation of “{0}”: nothing was installed.</source>
        <translation>这是对“{0}”的模拟：没有安装任何内容。</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="80"/>
        <source>PyTorch was not installed.</source>
        <translation>PyTorch 没有安装。</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="82"/>
        <source>PyTorch is installed, but the demo did not finish.</source>
        <translation>PyTorch 已安装，但演示没有运行完。</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="84"/>
        <source>PyTorch works on your GPU.</source>
        <translation>PyTorch 已经可以在您的 GPU 上运行。</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="85"/>
        <source>PyTorch works, on the processor (CPU) only.</source>
        <translation>PyTorch 可以运行，但只使用处理器（CPU）。</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="86"/>
        <source>PyTorch is installed, but the demo found a problem (see the Verify page).</source>
        <translation>PyTorch 已安装，但演示发现了问题（请查看验证页面）。</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="95"/>
        <source>&lt;b&gt;To use it&lt;/b&gt;, open a terminal and activate the environment:&lt;br&gt;&lt;code&gt;{0}&lt;/code&gt;&lt;br&gt;then run this first program:</source>
        <translation>&lt;b&gt;使用方法&lt;/b&gt;：打开终端并激活环境：&lt;br&gt;&lt;code&gt;{0}&lt;/code&gt;&lt;br&gt;然后运行这个入门程序：</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="99"/>
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
        <location filename="../qt/pages/finish.py" line="157"/>
        <source>Copied. Paste it into your message to the helpdesk.</source>
        <translation>已复制。请把它粘贴到发给技术支持的消息中。</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="161"/>
        <source>Roll back</source>
        <translation>回滚</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="162"/>
        <source>Undo this installation?</source>
        <translation>要撤销这次安装吗？</translation>
    </message>
    <message>
        <location filename="../qt/pages/finish.py" line="163"/>
        <source>A new environment is deleted; an existing one returns to its snapshot.</source>
        <translation>新建的环境会被删除；已有的环境会恢复到快照时的状态。</translation>
    </message>
</context>
<context>
    <name>InstallJob</name>
    <message>
        <location filename="../qt/install_job.py" line="123"/>
        <source>Checking the environment…</source>
        <translation>正在检查环境…</translation>
    </message>
    <message>
        <location filename="../qt/install_job.py" line="131"/>
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
    <message>
        <location filename="../qt/install_job.py" line="181"/>
        <source>A program could not be started: {0}</source>
        <translation>无法启动程序：{0}</translation>
    </message>
    <message>
        <location filename="../qt/install_job.py" line="183"/>
        <source>Check that the Python interpreter exists and works.</source>
        <translation>请检查 Python 解释器是否存在且能正常运行。</translation>
    </message>
    <message>
        <location filename="../qt/install_job.py" line="223"/>
        <source>This environment already has {0}</source>
        <translation>此环境中已有 {0}</translation>
    </message>
    <message>
        <location filename="../qt/install_job.py" line="225"/>
        <source>Go back to the Environment page and agree to replace them.</source>
        <translation>请返回“环境”页面，同意替换它们。</translation>
    </message>
    <message>
        <location filename="../qt/install_job.py" line="227"/>
        <source>Recording a snapshot of the environment</source>
        <translation>正在保存环境快照</translation>
    </message>
    <message>
        <location filename="../qt/install_job.py" line="240"/>
        <source>Creating the environment {0}</source>
        <translation>正在创建环境 {0}</translation>
    </message>
    <message>
        <location filename="../qt/install_job.py" line="252"/>
        <source>The virtual environment could not be created.</source>
        <translation>无法创建虚拟环境。</translation>
    </message>
    <message>
        <location filename="../qt/install_job.py" line="253"/>
        <source>On Debian or Ubuntu install the venv module (sudo apt install python3-venv).</source>
        <translation>在 Debian 或 Ubuntu 上请安装 venv 模块（sudo apt install python3-venv）。</translation>
    </message>
    <message>
        <location filename="../qt/install_job.py" line="272"/>
        <source>Upgrading pip in the new environment</source>
        <translation>正在升级新环境中的 pip</translation>
    </message>
    <message>
        <location filename="../qt/install_job.py" line="277"/>
        <source>pip could not be upgraded; continuing without a progress bar</source>
        <translation>无法升级 pip；将在没有进度条的情况下继续</translation>
    </message>
    <message>
        <location filename="../qt/install_job.py" line="290"/>
        <source>Downloading the packages</source>
        <translation>正在下载软件包</translation>
    </message>
    <message>
        <location filename="../qt/install_job.py" line="311"/>
        <source>Installing with pip</source>
        <translation>正在用 pip 安装</translation>
    </message>
    <message>
        <location filename="../qt/install_job.py" line="325"/>
        <source>Pinning the installed build</source>
        <translation>正在锁定已安装的版本</translation>
    </message>
    <message>
        <location filename="../qt/install_job.py" line="356"/>
        <location filename="../qt/install_job.py" line="363"/>
        <source>Nothing was changed.</source>
        <translation>没有做任何改动。</translation>
    </message>
    <message>
        <location filename="../qt/install_job.py" line="360"/>
        <source>The new environment {0} was removed.</source>
        <translation>新环境 {0} 已被删除。</translation>
    </message>
    <message>
        <location filename="../qt/install_job.py" line="369"/>
        <source>Putting the environment back as it was…</source>
        <translation>正在把环境恢复原样…</translation>
    </message>
    <message>
        <location filename="../qt/install_job.py" line="382"/>
        <source>The installation was cancelled.</source>
        <translation>安装已取消。</translation>
    </message>
    <message>
        <location filename="../qt/install_job.py" line="384"/>
        <source>Undoing it failed too: {0}</source>
        <translation>撤销也失败了：{0}</translation>
    </message>
</context>
<context>
    <name>InstallPage</name>
    <message>
        <location filename="../qt/pages/install.py" line="98"/>
        <source>Installing</source>
        <translation>正在安装</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="99"/>
        <source>Downloading and installing PyTorch. You can cancel; everything is then undone.</source>
        <translation>正在下载并安装 PyTorch。您可以随时取消，所有改动都会被撤销。</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="100"/>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="100"/>
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="100"/>
        <source>Progress</source>
        <translation>进度</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="101"/>
        <source>Speed / time left</source>
        <translation>速度 / 剩余时间</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="102"/>
        <source>Show &amp;log</source>
        <translation>显示日志(&amp;L)</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="103"/>
        <source>Try &amp;again</source>
        <translation>重试(&amp;A)</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="104"/>
        <source>pip: %p%</source>
        <translation>pip：%p%</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="108"/>
        <source>Check the environment</source>
        <translation>检查环境</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="108"/>
        <source>Create the environment</source>
        <translation>创建环境</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="109"/>
        <source>Download</source>
        <translation>下载</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="109"/>
        <source>Install with pip</source>
        <translation>用 pip 安装</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="110"/>
        <source>Pin the build</source>
        <translation>锁定版本</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="184"/>
        <source>done</source>
        <translation>完成</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="204"/>
        <source>PyTorch is installed. Next: prove that it works.</source>
        <translation>PyTorch 已安装。下一步：验证它能正常工作。</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="212"/>
        <source>The installation did not finish.</source>
        <translation>安装没有完成。</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="220"/>
        <source>Cancelled. {0}</source>
        <translation>已取消。{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="226"/>
        <source>Simulated machine: nothing is installed. These commands would run:</source>
        <translation>模拟的机器：不会安装任何内容。实际会运行以下命令：</translation>
    </message>
    <message>
        <location filename="../qt/pages/install.py" line="239"/>
        <source>simulated</source>
        <translation>模拟</translation>
    </message>
</context>
<context>
    <name>SetupWizard</name>
    <message>
        <location filename="../qt/wizard.py" line="56"/>
        <source>PyTorch GPU setup</source>
        <translation>PyTorch GPU 安装向导</translation>
    </message>
    <message>
        <location filename="../qt/wizard.py" line="57"/>
        <source>&amp;Next &gt;</source>
        <translation>下一步(&amp;N) &gt;</translation>
    </message>
    <message>
        <location filename="../qt/wizard.py" line="58"/>
        <source>&lt; &amp;Back</source>
        <translation>&lt; 上一步(&amp;B)</translation>
    </message>
    <message>
        <location filename="../qt/wizard.py" line="59"/>
        <location filename="../qt/wizard.py" line="91"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../qt/wizard.py" line="60"/>
        <source>&amp;Finish</source>
        <translation>完成(&amp;F)</translation>
    </message>
    <message>
        <location filename="../qt/wizard.py" line="85"/>
        <source>Stop the installation?</source>
        <translation>要停止安装吗？</translation>
    </message>
    <message>
        <location filename="../qt/wizard.py" line="86"/>
        <source>Everything done so far is undone: a new environment is deleted, an existing one is put back as it was.</source>
        <translation>到目前为止的所有改动都会被撤销：新建的环境会被删除，已有的环境会恢复原样。</translation>
    </message>
    <message>
        <location filename="../qt/wizard.py" line="89"/>
        <source>Stop the demo?</source>
        <translation>要停止演示吗？</translation>
    </message>
    <message>
        <location filename="../qt/wizard.py" line="90"/>
        <source>PyTorch stays installed.</source>
        <translation>PyTorch 会保持已安装状态。</translation>
    </message>
</context>
<context>
    <name>SummaryPage</name>
    <message>
        <location filename="../qt/pages/summary.py" line="35"/>
        <source>Ready to install</source>
        <translation>准备安装</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="36"/>
        <source>Check what will happen, then press Install.</source>
        <translation>请确认将要进行的操作，然后点击“安装”。</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="37"/>
        <source>&amp;Install</source>
        <translation>安装(&amp;I)</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="43"/>
        <source>No build is selected.</source>
        <translation>没有选择任何版本。</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="48"/>
        <source>a new environment at {0}</source>
        <translation>位于 {0} 的新环境</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="49"/>
        <source>the existing environment {0}</source>
        <translation>现有环境 {0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="50"/>
        <source>the Python interpreter {0}</source>
        <translation>Python 解释器 {0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="53"/>
        <source>Install &lt;b&gt;{0}&lt;/b&gt; into {1}.</source>
        <translation>将 &lt;b&gt;{0}&lt;/b&gt; 安装到{1}。</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="54"/>
        <source>Packages: {0}</source>
        <translation>软件包：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="55"/>
        <source>Download from: {0}</source>
        <translation>下载来源：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="56"/>
        <source>Download about {0:.1f} GB; about {1:.0f} GB of disk needed in all.</source>
        <translation>需下载约 {0:.1f} GB；总共约需 {1:.0f} GB 磁盘空间。</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="57"/>
        <source>Then run a short training demo to prove that it works.</source>
        <translation>然后运行一个简短的训练演示，验证它能正常工作。</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="60"/>
        <source>Replace: {0} (a snapshot is taken first).</source>
        <translation>替换：{0}（会先保存快照）。</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="63"/>
        <source>Use the proxy you entered.</source>
        <translation>使用您填写的代理。</translation>
    </message>
    <message>
        <location filename="../qt/pages/summary.py" line="65"/>
        <source>&lt;b&gt;Simulated machine:&lt;/b&gt; nothing will be installed; the next pages show what would happen.</source>
        <translation>&lt;b&gt;模拟的机器：&lt;/b&gt;不会安装任何内容；后面的页面会展示实际会发生什么。</translation>
    </message>
</context>
<context>
    <name>SystemPage</name>
    <message>
        <location filename="../qt/pages/system.py" line="55"/>
        <source>System check</source>
        <translation>系统检查</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="56"/>
        <source>What this computer has, and whether PyTorch can use it.</source>
        <translation>这台电脑有哪些硬件，以及 PyTorch 能否使用它们。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="60"/>
        <source>Checking this computer: graphics cards, driver, Python…</source>
        <translation>正在检查这台电脑：显卡、驱动、Python…</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="62"/>
        <source>Choosing the right PyTorch build…</source>
        <translation>正在选择合适的 PyTorch 版本…</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="64"/>
        <source>Checking that the download server can be reached…</source>
        <translation>正在检查能否连接下载服务器…</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="80"/>
        <source>Simulated machine: {0}</source>
        <translation>模拟的机器：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="83"/>
        <source>No graphics card was found. PyTorch will use the processor (CPU).</source>
        <translation>没有找到显卡。PyTorch 将使用处理器（CPU）。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="97"/>
        <source>✔ PyTorch can use this card.</source>
        <translation>✔ PyTorch 可以使用这块显卡。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="98"/>
        <source>✘ PyTorch will not use this card.</source>
        <translation>✘ PyTorch 不会使用这块显卡。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="105"/>
        <source>Architecture: {0}</source>
        <translation>架构：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="107"/>
        <source>Compute capability: {0}</source>
        <translation>计算能力：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="109"/>
        <source>GPU target: {0}</source>
        <translation>GPU 目标：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="111"/>
        <source>Memory: {0:.1f} GB</source>
        <translation>显存：{0:.1f} GB</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="113"/>
        <source>Integrated graphics</source>
        <translation>集成显卡</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="121"/>
        <source>Driver</source>
        <translation>驱动</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="125"/>
        <source>NVIDIA driver {0}</source>
        <translation>NVIDIA 驱动 {0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="127"/>
        <source>(supports CUDA up to {0})</source>
        <translation>（最高支持 CUDA {0}）</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="131"/>
        <source>The driver is working.</source>
        <translation>驱动工作正常。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="132"/>
        <source>No NVIDIA driver is installed.</source>
        <translation>没有安装 NVIDIA 驱动。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="133"/>
        <source>The driver is installed but not running.</source>
        <translation>驱动已安装，但没有运行。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="134"/>
        <source>The driver and its libraries do not match (usually after an update without a restart).</source>
        <translation>驱动与其库文件版本不一致（通常是更新后没有重启）。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="136"/>
        <source>The driver refused access to the card.</source>
        <translation>驱动拒绝访问显卡。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="137"/>
        <source>The card stopped answering the driver.</source>
        <translation>显卡不再响应驱动。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="138"/>
        <source>The driver reported an error.</source>
        <translation>驱动报告了一个错误。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="139"/>
        <source>No NVIDIA driver is needed here.</source>
        <translation>这里不需要 NVIDIA 驱动。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="146"/>
        <location filename="../qt/pages/system.py" line="196"/>
        <source>What to do: {0}</source>
        <translation>处理方法：{0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="155"/>
        <source>Python</source>
        <translation>Python</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="159"/>
        <source>No Python was found. Install Python 3.12 from python.org first.</source>
        <translation>没有找到 Python。请先从 python.org 安装 Python 3.12。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="163"/>
        <source>used for the new environment</source>
        <translation>用于创建新环境</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="165"/>
        <source>has torch {0}</source>
        <translation>已装有 torch {0}</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="167"/>
        <source>managed by the operating system: it will not be changed</source>
        <translation>由操作系统管理：不会被改动</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="175"/>
        <source>Ready to install?</source>
        <translation>可以安装了吗？</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="180"/>
        <source>Disk: {0:.0f} GB free, about {1:.0f} GB needed.</source>
        <translation>磁盘：可用 {0:.0f} GB，约需 {1:.0f} GB。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="182"/>
        <source>Free some space or choose an environment folder on another drive.</source>
        <translation>请释放一些空间，或把环境放到其他磁盘上。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="185"/>
        <source>ℹ Your Python is managed by the operating system; the wizard installs into a new environment instead and leaves it alone.</source>
        <translation>ℹ 您的 Python 由操作系统管理；向导会改为安装到新环境中，不会改动它。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="189"/>
        <source>Network: not checked for a simulated machine.</source>
        <translation>网络：模拟的机器不检查网络。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="192"/>
        <source>✔ Network: the download server {0} answers.</source>
        <translation>✔ 网络：下载服务器 {0} 可以访问。</translation>
    </message>
    <message>
        <location filename="../qt/pages/system.py" line="194"/>
        <source>✘ Network: {0}</source>
        <translation>✘ 网络：{0}</translation>
    </message>
</context>
<context>
    <name>VerifyPage</name>
    <message>
        <location filename="../qt/pages/verify.py" line="91"/>
        <source>PyTorch imports</source>
        <translation>PyTorch 能够导入</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="91"/>
        <source>The GPU is visible</source>
        <translation>GPU 可见</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="92"/>
        <source>The build supports this GPU</source>
        <translation>此版本支持这块 GPU</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="92"/>
        <source>Computations are correct</source>
        <translation>计算结果正确</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="93"/>
        <source>Half and bfloat16 precision</source>
        <translation>半精度和 bfloat16 精度</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="93"/>
        <source>A first model learns</source>
        <translation>第一个模型能够学习</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="94"/>
        <source>A small network trains</source>
        <translation>小型网络能够训练</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="94"/>
        <source>Speed against the datasheet</source>
        <translation>速度与规格参数对比</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="95"/>
        <source>Several GPUs work together</source>
        <translation>多块 GPU 协同工作</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="100"/>
        <source>Proving that it works</source>
        <translation>验证能否正常工作</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="101"/>
        <source>A short demo runs in the new environment: it trains a small network on the GPU.</source>
        <translation>将在新环境中运行一个简短的演示：在 GPU 上训练一个小型网络。</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="102"/>
        <source>training loss</source>
        <translation>训练损失</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="127"/>
        <source>Simulated machine: nothing was installed, so nothing is verified.</source>
        <translation>模拟的机器：没有安装任何内容，因此不做验证。</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="184"/>
        <source>The demo was stopped.</source>
        <translation>演示已停止。</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="185"/>
        <source>PyTorch stays installed; run torch-gpu-setup verify later.</source>
        <translation>PyTorch 仍保持安装；稍后可运行 torch-gpu-setup verify。</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="201"/>
        <source>{0}: {1} TFLOPS (fp32 matrix multiply)</source>
        <translation>{0}：{1} TFLOPS（fp32 矩阵乘法）</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="204"/>
        <source>{0:.0f}% of the datasheet peak</source>
        <translation>达到规格峰值的 {0:.0f}%</translation>
    </message>
    <message>
        <location filename="../qt/pages/verify.py" line="206"/>
        <source>Ran on the processor: no GPU speed to measure.</source>
        <translation>在处理器上运行：没有 GPU 速度可测。</translation>
    </message>
</context>
<context>
    <name>WelcomePage</name>
    <message>
        <location filename="../qt/pages/welcome.py" line="36"/>
        <source>Set up PyTorch for your graphics card</source>
        <translation>为您的显卡安装 PyTorch</translation>
    </message>
    <message>
        <location filename="../qt/pages/welcome.py" line="37"/>
        <source>This wizard finds the PyTorch build that fits this computer, installs it and proves that it works.</source>
        <translation>本向导会找到适合这台电脑的 PyTorch 版本，完成安装，并验证它能正常工作。</translation>
    </message>
    <message>
        <location filename="../qt/pages/welcome.py" line="40"/>
        <source>&lt;p&gt;&lt;b&gt;What will happen&lt;/b&gt;&lt;/p&gt;&lt;ol&gt;&lt;li&gt;The wizard looks at your graphics cards, driver and Python.&lt;/li&gt;&lt;li&gt;It recommends a PyTorch build and explains why.&lt;/li&gt;&lt;li&gt;It downloads PyTorch into a new, separate Python environment.&lt;/li&gt;&lt;li&gt;It runs a short training demo to prove that the GPU is used.&lt;/li&gt;&lt;/ol&gt;&lt;p&gt;&lt;b&gt;How long:&lt;/b&gt; about 5 to 30 minutes, mostly the download (0.2 to 4 GB).&lt;/p&gt;&lt;p&gt;&lt;b&gt;What it touches:&lt;/b&gt; only the environment folder you choose and a download cache. &lt;b&gt;What it does not touch:&lt;/b&gt; your system Python, your other environments, and your driver (unless you ask for a driver update and confirm it).&lt;/p&gt;&lt;p&gt;You can cancel at any time; a cancelled installation is undone.&lt;/p&gt;</source>
        <translation>&lt;p&gt;&lt;b&gt;将要进行的步骤&lt;/b&gt;&lt;/p&gt;&lt;ol&gt;&lt;li&gt;向导检查您的显卡、驱动和 Python。&lt;/li&gt;&lt;li&gt;推荐一个 PyTorch 版本，并说明理由。&lt;/li&gt;&lt;li&gt;把 PyTorch 下载并安装到一个新的、独立的 Python 环境中。&lt;/li&gt;&lt;li&gt;运行一个简短的训练演示，证明确实用上了 GPU。&lt;/li&gt;&lt;/ol&gt;&lt;p&gt;&lt;b&gt;需要多久：&lt;/b&gt;大约 5 到 30 分钟，主要花在下载上（0.2 到 4 GB）。&lt;/p&gt;&lt;p&gt;&lt;b&gt;会改动的内容：&lt;/b&gt;只有您选择的环境文件夹和一个下载缓存。&lt;b&gt;不会改动的内容：&lt;/b&gt;系统自带的 Python、您的其他环境，以及您的驱动（除非您要求更新驱动并确认）。&lt;/p&gt;&lt;p&gt;您可以随时取消；取消的安装会被完全撤销。&lt;/p&gt;</translation>
    </message>
    <message>
        <location filename="../qt/pages/welcome.py" line="50"/>
        <source>&amp;Language:</source>
        <translation>语言(&amp;L)：</translation>
    </message>
</context>
</TS>
