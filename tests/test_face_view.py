"""The large face view keeps the decoded image at its own resolution and scales it as it paints."""

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from latentlab.ui.widgets.face_panel import ScalingImage  # noqa: E402
from latentlab.ui.widgets.imaging import pixel_buffer  # noqa: E402


def test_an_image_is_painted_scaled_to_the_view_and_none_shows_the_text(qtbot):
    view = ScalingImage(120, 200, "no model loaded")
    qtbot.addWidget(view)
    view.resize(200, 200)
    view.show()
    image = np.zeros((3, 8, 8), np.uint8)
    image[0] = 255  # red
    view.set_image(image)  # converted here
    assert view.shown.width() == 8
    grabbed = view.grab().toImage()
    centre = grabbed.pixelColor(grabbed.width() // 2, grabbed.height() // 2)
    assert (centre.red(), centre.green(), centre.blue()) == (255, 0, 0)
    qimage, pixels = pixel_buffer(8, 8, 3)  # as the decode worker makes it
    pixels[:] = (0, 0, 255)
    view.set_image(pixels.transpose(2, 0, 1), qimage)
    assert view.shown is qimage
    grabbed = view.grab().toImage()
    assert grabbed.pixelColor(100, 100).blue() == 255 and grabbed.pixelColor(100, 100).red() == 0
    view.set_image(None)
    assert view.shown is None
