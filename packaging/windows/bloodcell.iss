; Inno Setup script for both products: packages a onedir build into one installer (with its
; uninstaller, which Inno Setup writes and registers under Apps & features).
;   set BLOODCELL_EDITION=full    dist\BloodCell        -> dist\BloodCell-VERSION-setup.exe
;   set BLOODCELL_EDITION=review  dist\BloodCellReview  -> dist\BloodCellReview-VERSION-setup.exe
; Build on Windows, see packaging/windows/README.md.
#define AppVersion GetEnv("BLOODCELL_VERSION")
#if AppVersion == ""
  #define AppVersion "0.1.0"
#endif
#define Edition GetEnv("BLOODCELL_EDITION")
#if Edition == "review"
  #define AppName "BloodCell Review"
  #define Folder "BloodCellReview"
  #define Exe "BloodCellReview.exe"
  #define AppGuid "{{0E5A2B71-6C1D-4F7A-A7C3-2D9B8E41F5C6}"
#else
  #define AppName "BloodCell"
  #define Folder "BloodCell"
  #define Exe "BloodCell.exe"
  #define AppGuid "{{6C0D3C8E-4F0B-4B1E-9C1E-5B1D0C8A7E21}"
#endif

[Setup]
; The two products have their own ids: a lab PC can have both, and each uninstalls alone.
AppId={#AppGuid}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=BloodCell
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
OutputDir=..\..\dist
OutputBaseFilename={#Folder}-{#AppVersion}-setup
Compression=lzma2/fast
SolidCompression=no
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
DisableProgramGroupPage=yes
UninstallDisplayIcon={app}\{#Exe}
UninstallDisplayName={#AppName}

[Files]
Source: "..\..\dist\{#Folder}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#Exe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#Exe}"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked

[Run]
Filename: "{app}\{#Exe}"; Description: "Start {#AppName}"; Flags: nowait postinstall skipifsilent
