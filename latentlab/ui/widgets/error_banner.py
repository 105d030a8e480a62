"""A dismissible message strip at the top of the window: errors are shown here, never as crashes."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget


class ErrorBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet("ErrorBanner { background: #fde8e8; border: 1px solid #e0a0a0; border-radius: 4px; }")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setStyleSheet("color: #8a1f1f;")
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str) -> None:
        self.label.setText(text)
        self.show()

    @property
    def message(self) -> str:
        return self.label.text() if self.isVisible() else ""
