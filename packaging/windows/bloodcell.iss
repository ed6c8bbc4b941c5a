; Inno Setup script: packages the onedir build (dist\BloodCell) into one installer.
; Build on Windows, see packaging/windows/README.md.
#define AppVersion GetEnv("BLOODCELL_VERSION")
#if AppVersion == ""
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{6C0D3C8E-4F0B-4B1E-9C1E-5B1D0C8A7E21}
AppName=BloodCell
AppVersion={#AppVersion}
AppPublisher=BloodCell
DefaultDirName={autopf}\BloodCell
DefaultGroupName=BloodCell
OutputDir=..\..\dist
OutputBaseFilename=BloodCell-{#AppVersion}-setup
Compression=lzma2/fast
SolidCompression=no
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
DisableProgramGroupPage=yes
UninstallDisplayIcon={app}\BloodCell.exe

[Files]
Source: "..\..\dist\BloodCell\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\BloodCell"; Filename: "{app}\BloodCell.exe"
Name: "{autodesktop}\BloodCell"; Filename: "{app}\BloodCell.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked

[Run]
Filename: "{app}\BloodCell.exe"; Description: "Start BloodCell"; Flags: nowait postinstall skipifsilent
