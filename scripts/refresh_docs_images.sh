#!/usr/bin/env bash
# Refresh docs/images from the screenshots the GUI tests take (a test run itself never
# writes into the tracked tree: its screenshots go to build/screenshots/).
#
#   bash scripts/refresh_docs_images.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
rm -rf build/screenshots
bash scripts/bootstrap.sh test tests/test_widget_screenshot.py tests/test_viewer_layers.py \
    "tests/test_widget_populate.py::test_screenshot_of_the_window_with_the_dock" \
    "tests/test_widget_curate.py::test_screenshots_of_the_dock_and_a_merge"
cp -v build/screenshots/*.png docs/images/
