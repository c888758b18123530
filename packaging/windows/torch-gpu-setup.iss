; Inno Setup 6 script: the Windows installer of torch-gpu-setup (Start-menu entry, optional
; desktop icon, uninstaller). It packs the PyInstaller folder dist\torch-gpu-setup made by
; `python packaging\build.py`, which also runs this script when Inno Setup's iscc is on PATH:
;   iscc /DAppVersion=0.1.0 /DBundleDir=..\..\dist\torch-gpu-setup /O..\..\dist torch-gpu-setup.iss
; It cannot be built on Linux; it is kept correct by review (see the README).

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef BundleDir
  ; relative to this script's folder
  #define BundleDir "..\..\dist\torch-gpu-setup"
#endif
#define AppName "PyTorch GPU Setup"
#define AppExe "torch-gpu-setup.exe"

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

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"; Parameters: "gui"; WorkingDir: "{userdocs}"
Name: "{group}\{cm:UninstallProgram,{#AppName}}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Parameters: "gui"; WorkingDir: "{userdocs}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Parameters: "gui"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
