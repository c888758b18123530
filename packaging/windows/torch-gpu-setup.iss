; Inno Setup 6 script: the Windows installer of torch-gpu-setup (Start-menu entry, optional
; desktop icon, uninstaller). It packs the PyInstaller folder dist\torch-gpu-setup made by
; `python packaging\build.py`, which also runs this script when Inno Setup's iscc is on PATH:
;   iscc /DAppVersion=0.1.0 /DBundleDir=..\..\dist\torch-gpu-setup /O..\..\dist torch-gpu-setup.iss
; It cannot be built on Linux; tests/packaging/test_windows_packaging.py reads its sections, the
; rest is kept correct by review (see the README).
;
; Written for Inno Setup 6.3 or later: the "x64compatible" architecture below is new in 6.3.0
; (Inno Setup revision history, https://jrsoftware.org/files/is6-whatsnew.htm); older compilers
; stop here with a message instead of a confusing error further down.
#if VER < EncodeVer(6,3,0)
  #error This script needs Inno Setup 6.3 or later (https://jrsoftware.org/isdl.php)
#endif

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef BundleDir
  ; relative to this script's folder
  #define BundleDir "..\..\dist\torch-gpu-setup"
#endif
#define AppName "PyTorch GPU Setup"
#define AppExe "torch-gpu-setup.exe"
; The wizard's download cache (wheels, installers: several GB): platformdirs' user_cache_dir for
; appname torch-gpu-setup without an author, as wizard/core/paths.py asks for it. Its data folder
; one level up holds the person's PyTorch environments and is never touched here.
#define CacheDir "{localappdata}\torch-gpu-setup\Cache"
; The Visual C++ 2015-2022 x64 runtime records itself here with Installed = 1 and its version
; (Microsoft Learn, "Latest supported Visual C++ Redistributable downloads",
; https://learn.microsoft.com/cpp/windows/latest-supported-vc-redist).
#define VCRuntimeKey "SOFTWARE\Microsoft\VisualStudio\14.0\VC\Runtimes\x64"
#define VCRedistUrl "https://aka.ms/vs/17/release/vc_redist.x64.exe"

[Setup]
; A fixed AppId makes upgrades replace the installed version; never change it.
AppId={{6B0F3C52-7E0A-4C1D-9B57-2F1E8D4A9C31}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=torch-gpu-setup developers
DefaultDirName={autopf}\torch-gpu-setup
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; Per-user install by default (no administrator rights needed); the dialog offers all users.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
; The bundle is 64-bit (PyInstaller with a 64-bit Python).
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
; PySide6 6.x supports Windows 10 1809 and later (Qt 6 "Supported Platforms").
MinVersion=10.0.17763
OutputBaseFilename=torch-gpu-setup-{#AppVersion}-setup
SetupIconFile=..\..\resources\torch-gpu-setup.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; An upgrade replaces the whole bundle: files an older version had in _internal and this one has
; not (a Qt plugin dropped, a renamed .pyd) would otherwise stay and could be loaded by mistake.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"; Parameters: "gui"; WorkingDir: "{userdocs}"
Name: "{group}\{cm:UninstallProgram,{#AppName}}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Parameters: "gui"; WorkingDir: "{userdocs}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Parameters: "gui"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[CustomMessages]
english.VCRedistMissing=PyTorch needs the Microsoft Visual C++ 2015-2022 Redistributable (x64), version 14.20 or newer, and it is not installed on this computer. Without it "import torch" fails with "WinError 126 ... fbgemm.dll".%n%nInstall it from Microsoft (administrator rights needed):%n{#VCRedistUrl}%n%nThe wizard itself works without it. Continue installing the wizard?
english.RemoveCache=Also delete the wizard's downloads (PyTorch wheels and installers, often several GB)?%n%n%1%n%nYour PyTorch environments are kept either way.

[Code]
// Why a check and not the runtime's DLLs in the bundle: torch is imported by the person's own
// Python in its own environment, never by this app, so DLLs next to torch-gpu-setup.exe would not
// be found by it; torch's DLLs need the runtime installed system-wide (pytorch/pytorch#131662,
// Nerogar/OneTrainer#487: "fbgemm.dll or one of its dependencies" until the redistributable is
// installed). 14.20 (Visual Studio 2019) is the first that ships vcruntime140_1.dll, which x64
// code built by newer compilers imports; a 2015 or 2017 runtime also says Installed = 1 (inferred).
function VCRuntimeInstalled: Boolean;
var
  Installed, Major, Minor: Cardinal;
begin
  Result := RegQueryDWordValue(HKLM64, '{#VCRuntimeKey}', 'Installed', Installed) and (Installed = 1)
    and RegQueryDWordValue(HKLM64, '{#VCRuntimeKey}', 'Major', Major)
    and RegQueryDWordValue(HKLM64, '{#VCRuntimeKey}', 'Minor', Minor)
    and ((Major > 14) or ((Major = 14) and (Minor >= 20)));
end;

function InitializeSetup: Boolean;
begin
  Result := True;
  if not VCRuntimeInstalled then
  begin
    Log('Visual C++ 2015-2022 x64 runtime (14.20+) not found under HKLM\{#VCRuntimeKey}');
    // Silent installs continue (IDYES): the wizard itself does not need the runtime.
    Result := SuppressibleMsgBox(CustomMessage('VCRedistMissing'), mbConfirmation, MB_YESNO, IDYES) = IDYES;
  end;
end;

// The download cache is the person's: asked for, and deleted only on Yes. A silent uninstall
// keeps it (the default answer is No).
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  Cache: String;
begin
  if CurUninstallStep = usPostUninstall then
  begin
    Cache := ExpandConstant('{#CacheDir}');
    if DirExists(Cache) then
    begin
      if SuppressibleMsgBox(FmtMessage(CustomMessage('RemoveCache'), [Cache]), mbConfirmation,
                            MB_YESNO or MB_DEFBUTTON2, IDNO) = IDYES then
      begin
        if not DelTree(Cache, True, True, True) then
          Log('Could not delete all of ' + Cache);
      end;
    end;
  end;
end;
