"""Windows sized to the screen they open on: a lab PC's 1366x768 or 1024x700 screen, less its
task bar, must show the whole window, its buttons and its status bar."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

# Room left for the window manager's title bar and borders, which the available geometry
# (the screen less its panels) does not include.
FRAME_WIDTH = 16
FRAME_HEIGHT = 40


def fit_to_screen(window: QWidget, width: int, height: int) -> None:
    """Resize `window` to `width` x `height`, or to what its screen has room for, and keep it on
    that screen."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        window.resize(width, height)
        return
    room = screen.availableGeometry()
    window.resize(min(width, room.width() - FRAME_WIDTH), min(height, room.height() - FRAME_HEIGHT))
    frame = window.frameGeometry()
    frame.moveCenter(room.center())
    window.move(max(frame.left(), room.left()), max(frame.top(), room.top()))


def shrink_to_screen(window: QWidget) -> None:
    """A size restored from another screen, made to fit this one (a window that fits stays
    where the user left it)."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return
    room = screen.availableGeometry()
    if window.width() > room.width() - FRAME_WIDTH or window.height() > room.height() - FRAME_HEIGHT:
        fit_to_screen(window, window.width(), window.height())
