#!/usr/bin/env bash
# Headless Chromium and chromedriver from Debian's packages, for the playground's browser
# tests (tests/test_playground_browser.py); nothing when both are installed.
exec bash "$(dirname "${BASH_SOURCE[0]}")/install-tools.sh" "chromium chromedriver" \
    chromium chromium-driver
